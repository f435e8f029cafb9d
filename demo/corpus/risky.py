"""Risky posts, several kinds per category, written the way they show up on local sites.

Contact details are made up by the `{wx}`/`{qq}` slots; no real person, number or account.
Keys ending in `.obf` are obfuscated the way spammers dodge keyword filters (枪 支, 加薇, V信).
"""

from __future__ import annotations

from demo.template import TextTemplate

RISKY: tuple[TextTemplate, ...] = (
    # violence_threat
    TextTemplate(
        "violence.school_gate",
        "明天去学校门口砍死那个姓{surname}的，刀我都磨好了，说到做到，谁也别拦我",
        "忍了三年了，明天就去学校门口等他",
        "violence_threat",
        boards=("nangang", "xiangfang"),
    ),
    TextTemplate(
        "violence.debtor",
        "{community}{building}那个欠钱不还的，今晚我带刀去他家门口堵他，不见血我不回来",
        "今晚去{community}找那个欠钱的算账",
        "violence_threat",
        boards=("xiangfang",),
    ),
    TextTemplate(
        "violence.stall",
        "谁再敢在{street}抢我摊位，我弄死他全家，我这人说到做到，不信就试试",
        "在{street}摆摊的都给我听好了",
        "violence_threat",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "violence.gasoline",
        "汽油已经买好了，{weekday}就去{landmark}找他们算总账，一个都别想跑",
        "这口气我咽不下去",
        "violence_threat",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "violence.after_school",
        "周五放学我在{school}门口等着，兄弟们都带上家伙，非把那小子腿打折不可",
        "周五放学{school}门口见",
        "violence_threat",
        boards=("nangang",),
    ),
    # weapons
    TextTemplate(
        "weapons.replica_gun",
        "出售仿真枪 气狗 钢珠枪 全套配件 加V：{wx} 同城可面交 {district}包送",
        "出几把好货，懂的来",
        "weapons",
        boards=("market",),
    ),
    TextTemplate(
        "weapons.knives",
        "出管制刀具 三棱刺 弹簧刀 甩棍 开过刃的 {district}可送货，有意私聊",
        "户外装备低价出",
        "weapons",
        boards=("market",),
    ),
    TextTemplate(
        "weapons.explosives",
        "长期出售 雷管 炸药 导火索 量大从优 矿上渠道 安全送到 电话详谈",
        "长期供应，有需要的联系",
        "weapons",
        boards=("market", "notices"),
    ),
    TextTemplate(
        "weapons.crossbow",
        "自制弓弩 钢珠 射程远威力大 打猎专用 需要的加V信 {wx}",
        "弓弩钢珠 到货",
        "weapons",
        boards=("market", "games"),
    ),
    TextTemplate(
        "weapons.gun.obf",
        "出 枪 支 狗 粮（懂的来）原厂配件 加薇 {wx} 不回就是在忙",
        "出点户外好东西",
        "weapons",
        boards=("market", "games"),
    ),
    # fraud
    TextTemplate(
        "fraud.safe_account",
        "【公检法通知】公检法通知你涉嫌洗钱，您的身份信息被不法分子冒用，请把资金转入安全账户配合调查，"
        "否则将冻结名下全部银行卡。此事保密，不得告知家人。联系人：王警官",
        "紧急通知，请本人尽快处理",
        "fraud",
        boards=("notices", "xiangfang"),
    ),
    TextTemplate(
        "fraud.brushing",
        "招兼职刷单，在家动动手指日赚三五百，先垫付后返佣金，宝妈学生优先，名额有限加V：{wx}",
        "在家就能做的兼职，日结",
        "fraud",
        boards=("market", "notices", "nangang"),
    ),
    TextTemplate(
        "fraud.refund",
        "您好，我是快递理赔专员，您的包裹在运输中丢失，可办理三倍理赔，请添加客服QQ{qq}，提供银行卡号和验证码即可到账",
        "快递丢件三倍理赔",
        "fraud",
        boards=("notices", "market"),
    ),
    TextTemplate(
        "fraud.loan",
        "无抵押无征信秒批贷款，黑户也能下款，先交3000元解冻费即可放款，加薇{wx}咨询",
        "急用钱的看过来，当天到账",
        "fraud",
        boards=("market", "notices"),
    ),
    TextTemplate(
        "fraud.teacher",
        "各位家长好，我是{school}班主任{surname}老师，本学期资料费每人380元，请直接扫码转到我个人账户，今天下午五点截止",
        "{school}家长请注意：资料费今天截止",
        "fraud",
        boards=("nangang", "notices"),
    ),
    TextTemplate(
        "fraud.brushing.obf",
        "刷 单 返 利 日 结 三 百 ，有手机就能做，V信 {wx}",
        "简单手机活，有意者进",
        "fraud",
        boards=("games", "market"),
    ),
    # drugs
    TextTemplate(
        "drugs.ice",
        "冰妹 溜冰 到货 私聊 {district}可送 老客户优惠",
        "新货到了，老朋友私聊",
        "drugs",
        boards=("market", "xiangfang"),
    ),
    TextTemplate(
        "drugs.weed",
        "有需要叶子和邮票的老铁吗，质量保证，同城闪送，加V {wx}",
        "周末嗨起来",
        "drugs",
        boards=("games", "market"),
    ),
    TextTemplate(
        "drugs.k",
        "出K粉 麻古 价格好说 {street}附近当面交易 不认识的别来",
        "出点东西，熟人介绍的优先",
        "drugs",
        boards=("market",),
    ),
    TextTemplate(
        "drugs.buy",
        "求购大麻，有渠道的兄弟私聊我，价格不是问题，{district}的优先",
        "求个渠道",
        "drugs",
        boards=("xiangfang", "games"),
    ),
    TextTemplate(
        "drugs.ice.obf",
        "冰 糖 到 货 了（懂的都懂），V信 {wx}，溜 一 口 神 仙 日 子",
        "好东西到了",
        "drugs",
        boards=("market", "games"),
    ),
    # gambling
    TextTemplate(
        "gambling.casino",
        "澳门葡京在线 日入过万 注册送38 网址私信 信誉第一 提款秒到",
        "在家就能玩，日入过万不是梦",
        "gambling",
        boards=("games", "market"),
    ),
    TextTemplate(
        "gambling.baccarat",
        "百家乐 时时彩 稳赚不赔 老师带你翻身 加群{qq} 首充送100%",
        "跟着老师买，稳赚",
        "gambling",
        boards=("games",),
    ),
    TextTemplate(
        "gambling.sports",
        "真人视讯 体育竞猜 世界杯足球外围 推广码{code} 注册就送彩金",
        "足球外围，赔率最高",
        "gambling",
        boards=("games", "nangang"),
    ),
    TextTemplate(
        "gambling.den",
        "{district}地下棋牌室，今晚有局，押大押小，五百起押，人齐就开，私聊要地址",
        "今晚有局，来的私聊",
        "gambling",
        boards=("xiangfang",),
    ),
    TextTemplate(
        "gambling.casino.obf",
        "澳 门 葡 京 官 方 直 营 ，加 薇 {wx} 注 册 就 送 彩 金",
        "官方直营",
        "gambling",
        boards=("games", "food"),
    ),
    # public_hazard
    TextTemplate(
        "hazard.gas_leak",
        "{community}{building}燃气泄漏 味道很大 还没人管，打了物业电话也没人来，楼里还有老人孩子，急！",
        "{community}{building}燃气泄漏，急！",
        "public_hazard",
        boards=("xiangfang", "notices"),
    ),
    TextTemplate(
        "hazard.manhole",
        "{street}和{street2}路口的井盖没了，黑乎乎一个大洞，晚上根本看不见，刚才差点有个骑电动车的掉进去",
        "{street}路口井盖丢了，晚上千万小心",
        "public_hazard",
        boards=("xiangfang", "nangang", "notices"),
    ),
    TextTemplate(
        "hazard.fire",
        "{landmark}旁边那栋楼冒黑烟了，火挺大，楼上还有人在喊，消防车还没到！",
        "{landmark}附近着火了！",
        "public_hazard",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "hazard.ebike",
        "{community}{building}楼道里十几辆电动车在充电，电线从窗户拉进来乱成一团，昨晚还冒火花了，早晚出大事",
        "楼道充电太吓人了，昨晚冒火花",
        "public_hazard",
        boards=("xiangfang",),
    ),
    TextTemplate(
        "hazard.collapse",
        "{street}那段路面塌了一个大坑，两米多宽，底下全是水，车都绕着走，现在也没有围挡",
        "{street}路面塌陷了",
        "public_hazard",
        boards=("nangang", "xiangfang", "notices"),
    ),
    TextTemplate(
        "hazard.food_poisoning",
        "{school}食堂今天中午好多学生吃完上吐下泻，已经有好几个送医院了，家长都往学校赶",
        "{school}学生食堂吃出问题了",
        "public_hazard",
        boards=("nangang",),
    ),
    # self_harm
    TextTemplate(
        "selfharm.bridge",
        "活着太累了 今晚就从桥上跳下去 别找我",
        "最后一次发帖",
        "self_harm",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "selfharm.pills",
        "药已经攒够了，对不起爸妈，这是我最后一次上来，谢谢论坛里帮过我的人",
        "再见了各位",
        "self_harm",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "selfharm.debt",
        "欠了一屁股债，老婆孩子也走了，明天去江边把自己了结了，这辈子就这样吧",
        "撑不下去了",
        "self_harm",
        boards=("xiangfang",),
    ),
    TextTemplate(
        "selfharm.rooftop",
        "遗书写好了，{landmark}那边的楼顶风很大，再见了这个世界，没人会在乎我",
        "没人会在乎的",
        "self_harm",
        boards=("nangang", "xiangfang"),
    ),
    # cyber_violence
    TextTemplate(
        "cyber.doxx",
        "人肉出那个女的住址电话 大家去骂死她 别让她好过",
        "这个女的必须曝光！",
        "cyber_violence",
        boards=("nangang", "xiangfang"),
    ),
    TextTemplate(
        "cyber.workplace",
        "{community}那个开白色宝马的{surname}某，我已经扒出他单位和手机号了，大家一起去他单位闹，让他社死",
        "扒一扒{community}那个开宝马的",
        "cyber_violence",
        boards=("xiangfang",),
    ),
    TextTemplate(
        "cyber.teacher",
        "{school}那个姓{surname}的老师就是个贱人，大家把她照片发到各个家长群里，往死里骂，看她还有脸上班",
        "曝光{school}的{surname}老师",
        "cyber_violence",
        boards=("nangang",),
    ),
    TextTemplate(
        "cyber.outsiders",
        "外地人都滚出{district}，这帮人就是垃圾，见一个骂一个，谁租房给他们谁也是垃圾",
        "说句实话",
        "cyber_violence",
        boards=("xiangfang", "nangang"),
    ),
    TextTemplate(
        "cyber.expose",
        "把这个女的聊天记录和照片都挂出来，转发到所有群，让她在哈尔滨待不下去",
        "挂人，大家认一认",
        "cyber_violence",
        boards=("nangang", "games"),
    ),
)

#: Risky categories whose spam is mostly dropped into other people's threads as replies.
REPLY_SPAM_CATEGORIES = ("gambling", "fraud", "drugs", "weapons")


def risky_of(category: str) -> tuple[TextTemplate, ...]:
    return tuple(t for t in RISKY if t.label == category)
