"""Benign posts that a naive keyword match would flag: anti-fraud publicity that quotes the scam,
news of a fire already put out, kitchen knives, game guns, fiction, warnings to neighbours.

All carry label "none" and near_miss=True.
"""

from __future__ import annotations

from demo.template import TextTemplate

FORUM_NEAR_MISSES: tuple[TextTemplate, ...] = (
    TextTemplate(
        "nm.cooking_knife",
        "锅包肉做法分享：里脊肉用菜刀切成一厘米厚的片，再用刀背拍松，淀粉提前泡好，炸两遍才脆。"
        "切肉的时候刀要快，不然肉片厚薄不匀。",
        "正宗老式锅包肉做法，一看就会",
        near_miss=True,
        boards=("food",),
    ),
    TextTemplate(
        "nm.pig_feast",
        "杀猪菜还得是农村大锅炖的香，酸菜、血肠、五花肉一锅出，周末去{district}一家农家院吃的，推荐！",
        "周末吃了顿正宗杀猪菜",
        near_miss=True,
        boards=("food",),
    ),
    TextTemplate(
        "nm.game_akm",
        "吃鸡里的AKM压枪怎么练？后坐力太大了，M416配补偿器好压多了。今晚开黑，一起去P城刚枪，缺个突击手。",
        "和平精英AKM压枪技巧求教",
        near_miss=True,
        boards=("games",),
    ),
    TextTemplate(
        "nm.game_sniper",
        "新出的98K皮肤太帅了，一枪爆头的音效绝了，昨晚一把十二杀吃鸡，爽翻。",
        "昨晚十二杀吃鸡，晒一下",
        near_miss=True,
        boards=("games",),
    ),
    TextTemplate(
        "nm.novel",
        "【连载】《冰城夜雨》第十二章：他握紧了那把刀，低声说：“今晚就让你从这个世界上消失。”"
        "雨水顺着刀锋滴落，远处传来{landmark}的钟声……（未完待续，喜欢的朋友留言催更）",
        "【原创小说】冰城夜雨 第十二章",
        near_miss=True,
        boards=("nangang",),
    ),
    TextTemplate(
        "nm.scam_warning",
        "提醒大家！我妈今天接到电话，对方说“公检法通知你涉嫌洗钱，请把资金转入安全账户”，还不让告诉家里人。"
        "幸好我在家拦住了，这就是诈骗，家里有老人的一定要说一声！",
        "家里有老人的注意了，差点被骗",
        near_miss=True,
        boards=("notices", "xiangfang"),
    ),
    TextTemplate(
        "nm.fire_news",
        "转自本地新闻：昨晚{night}，{community}一居民楼发生火灾，消防救援人员迅速到场，火灾已扑灭，无人员伤亡，起火原因正在调查。",
        "昨晚{community}着火了，还好没人受伤",
        near_miss=True,
        boards=("xiangfang", "notices"),
    ),
    TextTemplate(
        "nm.skating",
        "{landmark}旁边的露天溜冰场开了，周末带孩子去溜冰，冰面挺好，租冰鞋二十块一次，推荐！",
        "溜冰场开了，周末带娃去溜冰",
        near_miss=True,
        boards=("xiangfang", "notices"),
    ),
    TextTemplate(
        "nm.mahjong",
        "社区老年活动室周末下午有人打麻将，就是娱乐，不带彩的，老人们凑一起热闹热闹，挺好。",
        "社区活动室热闹起来了",
        near_miss=True,
        boards=("xiangfang",),
    ),
    TextTemplate(
        "nm.knife_set",
        "出一套菜刀，德国双立人的，砍骨刀切片刀都有，用了不到半年，{price}元，{community}自提，别杀价。",
        "出一套双立人菜刀",
        near_miss=True,
        boards=("market",),
    ),
    TextTemplate(
        "nm.anti_cyberbully",
        "网暴可耻！那个被人肉的小姑娘太可怜了，大家别再转她的信息了，有问题走法律途径。",
        "别再转那个小姑娘的信息了",
        near_miss=True,
        boards=("nangang",),
    ),
    TextTemplate(
        "nm.tired",
        "今天加班到十点，累死了，明天还得七点起，打工人太难了，还好楼下{food}还开着。",
        "加班到十点，累死了",
        near_miss=True,
        boards=("nangang", "xiangfang"),
    ),
    TextTemplate(
        "nm.bbq_slang",
        "{street}这家烧烤简直炸裂，羊肉串好吃到爆，老板还送了两瓶格瓦斯，强烈推荐！",
        "这家烧烤炸裂，必须安利",
        near_miss=True,
        boards=("food",),
    ),
)

#: Benign replies to a risky post, by its category: (text, near_miss). Near-miss ones repeat the
#: words a filter trips on (安全账户, 想不开, 人肉) while warning or helping.
REACTIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "violence_threat": (
        ("楼主冷静，犯法的事千万别干", False),
        ("有矛盾找派出所调解，别冲动", False),
        ("截图报警了", False),
        ("这种话别乱说，已经举报了", False),
    ),
    "weapons": (
        ("这是违法的吧，已举报", False),
        ("版主快删了吧", False),
        ("这种也敢发，坐等警察上门", False),
    ),
    "fraud": (
        ("骗子，大家别信", False),
        ("这是诈骗，已举报", False),
        ("大家注意，这是诈骗！公检法不会让你往安全账户转钱，看到这种的直接举报", True),
        ("刷单的都是骗子，先垫钱的一律别信", True),
    ),
    "drugs": (("举报了，这种人就该抓", False), ("版主删帖啊", False), ("已经报警了", False)),
    "gambling": (
        ("又是赌博广告，举报了", False),
        ("版主能不能管管这些广告", False),
        ("十赌九输，别碰", True),
    ),
    "public_hazard": (
        ("赶紧打电话啊，物业不管就打119", False),
        ("已经打了电话，说马上来人", False),
        ("附近的注意安全，先开窗通风，别开关电器", True),
        ("楼主拍个照片发给社区", False),
    ),
    "self_harm": (
        ("别想不开！有什么难处跟大家说说，心理援助热线12356，二十四小时有人接", True),
        ("兄弟你在哪？我们去找你，千万别做傻事", True),
        ("已经报警了，警察会去找你的，坚持住", False),
        ("抱抱你，都会过去的", False),
    ),
    "cyber_violence": (
        ("别网暴了，有问题走法律途径", True),
        ("人肉是违法的，楼主冷静", True),
        ("已举报", False),
        ("事情还没搞清楚就挂人不合适吧", False),
    ),
}

#: The police account's sticky thread on the notices board.
STICKY_POLICE = TextTemplate(
    "nm.sticky_police",
    "各位居民朋友：近期辖区冒充公检法诈骗高发。骗子常说“公检法通知你涉嫌洗钱”，要求把钱转到“安全账户”。\n"
    "请记住：公检法不会要求转账到安全账户，也不会电话办案、网上发通缉令！\n"
    "接到这类电话请立即挂断，拨打96110或110核实。转给家里的老人看看。\n平安香坊 香坊公安分局",
    "【置顶】警惕冒充公检法诈骗，这些话术一定要记住",
    near_miss=True,
    boards=("notices",),
)
