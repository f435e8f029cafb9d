"""Publicity and help posts quote the risk they warn about: police legal explainers, anti-gambling
and anti-drug columns, mental-health help lines. They must not be flagged as the act; the acts
themselves, written the many ways real posts write them, still must be."""

from __future__ import annotations

import pytest

from tests.unit.test_nlp_lexicon import THRESHOLD, Reader


@pytest.fixture(scope="module")
def read() -> Reader:
    return Reader()


PUBLICITY = [
    (
        "police_publicity",
        "【以案释法】网上出售仿真枪、气枪属于违法犯罪，非法买卖、持有枪支将被依法追究刑事责任；"
        "管制刀具同样不得非法携带。发现线索请拨打110。",
    ),
    ("police_publicity", "【普法课堂】私自出售弹簧刀、甩棍属于违法行为，依法追究责任，发现线索请拨打110举报"),
    ("police_publicity", "【禁毒宣传】“冰妹”“溜冰”“叶子”都是毒品黑话，网上看到出售冰毒的信息请立即举报"),
    ("police_publicity", "【反赌提示】“注册送38”“日入过万”“稳赚不赔”都是网络赌博的诱饵，十赌九输"),
    (
        "help_publicity",
        "【心理援助】如果你或身边的人感到绝望、有轻生的念头，请拨打心理援助热线12356。"
        "发现亲友反复说“活着没意思”“不想活了”，请多陪伴、多倾听，不要让他独处。",
    ),
    ("help_publicity", "朋友总说活不下去了怎么办？心理咨询师建议多倾听，及时寻求帮助，希望24热线随时可以打"),
]


@pytest.mark.parametrize(("context", "text"), PUBLICITY)
def test_publicity_and_help_posts_are_not_flagged_and_say_why(read: Reader, context: str, text: str) -> None:
    result = read(text)
    assert max(result.scores.values()) < THRESHOLD, result.scores
    assert context in result.context_ids


def test_a_suicide_note_that_names_the_help_line_is_still_a_welfare_check(read: Reader) -> None:
    result = read("心理援助热线我打过了，没用。我今晚就去跳楼，对不起爸妈")
    assert "help_publicity" in result.context_ids
    assert result.scores["self_harm"] >= THRESHOLD


def test_a_gun_sale_with_a_police_word_is_still_flagged(read: Reader) -> None:
    # A seller's own "提醒" is not a publicity column: only a bracketed title or an explainer counts.
    result = read("出售仿真枪气狗，渠道稳定，同城面交，提醒一下只收现金")
    assert result.scores["weapons"] >= THRESHOLD


ACTS = [
    ("violence_threat", "刀我都磨好了，明天去他单位门口等他，说到做到"),
    ("violence_threat", "今晚我带刀去他家门口堵他，不见血我不回来"),
    ("violence_threat", "汽油已经买好了，周五就去找他们算总账，一个都别想跑"),
    ("violence_threat", "周五放学在校门口等着，兄弟们都带上家伙，非把那小子腿打折不可"),
    ("violence_threat", "谁再敢抢我摊位，我弄死他全家，不信就试试"),
    ("self_harm", "活着太累了 今晚就从桥上跳下去 别找我"),
    ("self_harm", "安眠药攒够了，对不起爸妈，这是我最后一次发帖"),
    ("self_harm", "债还不上了，明天去江边把自己了结了，这辈子就这样吧"),
    ("public_hazard", "小区后门那栋楼冒黑烟了，火挺大，消防车还没到"),
    ("public_hazard", "路口的井盖没了，晚上看不见，刚才差点有人掉进去"),
    ("public_hazard", "学校食堂中午好多学生吃完上吐下泻，好几个送医院了"),
    ("public_hazard", "楼道里十几辆电动车飞线充电，昨晚还冒火花了，早晚出大事"),
    ("public_hazard", "那段路面塌了一个大坑，底下全是水，现在也没有围挡"),
    ("drugs", "冰糖到货了（懂的都懂），老客户私聊"),
    ("drugs", "有需要叶子的老铁吗，质量保证，同城闪送"),
    ("gambling", "想翻身的看我主页，注册就送彩金，日入过万"),
    ("gambling", "地下棋牌室今晚有局，押大押小，五百起押"),
    ("fraud", "各位家长好，我是三年二班班主任王老师，资料费请直接扫码转到我个人账户"),
    ("cyber_violence", "支持人肉，地址发我，大家一起去骂她"),
    ("cyber_violence", "扩散！让她社死，谁认识她的把单位也发出来"),
    ("cyber_violence", "外地人都滚出去，这帮人就是垃圾"),
]


@pytest.mark.parametrize(("category", "text"), ACTS)
def test_acts_written_without_the_obvious_word_are_flagged(read: Reader, category: str, text: str) -> None:
    scores = read(text).scores
    assert scores[category] >= THRESHOLD, scores


EVERYDAY = [
    "冰糖雪梨炖好了，懂的都懂，冬天就得喝这个",  # a coded wink without a street name for a drug
    "这刀磨好了，明天做饭切肉肯定快",  # a knife made ready, in the kitchen
    "明天去他家堵他要账，欠了三年了",  # a debt collector, unarmed
    "吃完这家外卖上吐下泻，差评",  # one diner's complaint, not an outbreak
    "新店开业注册就送优惠券",  # one shop lure, not a gambling ad
    "周五放学我在校门口等你，一起去吃烧烤",
    "邮票收藏爱好者，出售一套生肖邮票，同城面交",
]


@pytest.mark.parametrize("text", EVERYDAY)
def test_everyday_posts_near_the_new_rules_are_not_flagged(read: Reader, text: str) -> None:
    scores = read(text).scores
    assert max(scores.values()) < THRESHOLD, scores
