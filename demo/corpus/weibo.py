"""The weibo accounts and what they post: a local news account, the district police account
(平安香坊) with its anti-fraud publicity, and several residents."""

from __future__ import annotations

from dataclasses import dataclass

from demo.template import TextTemplate


@dataclass(frozen=True, slots=True)
class AccountSpec:
    key: str
    uid: int
    screen_name: str
    kind: str  # news | police | citizen
    description: str
    followers: int
    posts: tuple[int, int]  # how many filler weibos, min..max
    mean_gap_hours: float
    verified: bool = False


ACCOUNT_SPECS: tuple[AccountSpec, ...] = (
    AccountSpec(
        "news",
        6512340001,
        "冰城身边事",
        "news",
        "哈尔滨本地资讯，身边事随手拍，爆料请私信",
        386_214,
        (16, 22),
        9.0,
        verified=True,
    ),
    AccountSpec(
        "police",
        6512340002,
        "平安香坊",
        "police",
        "哈尔滨市公安局香坊分局官方微博",
        128_907,
        (12, 16),
        30.0,
        verified=True,
    ),
    AccountSpec("worker", 6512340101, "学府路打工人", "citizen", "早九晚十，努力搬砖", 312, (8, 12), 20.0),
    AccountSpec("oldli", 6512340102, "香坊老李头", "citizen", "退休在家，爱拍雪景", 1_045, (8, 12), 26.0),
    AccountSpec("xiaoyu", 6512340103, "群力小鱼儿", "citizen", "群力外滩遛弯选手", 2_310, (8, 12), 22.0),
    AccountSpec("eater", 6512340104, "道外吃货阿强", "citizen", "老道外长大的，只吃不做", 5_688, (8, 12), 18.0),
    AccountSpec("runner", 6512340105, "红旗大街跑步的猫", "citizen", "零下二十度也要跑", 764, (6, 10), 30.0),
    AccountSpec("parttime", 6512340106, "同城兼职小助手", "citizen", "日结兼职，私信了解", 89, (3, 5), 40.0),
)

NEWS_POSTS: tuple[str, ...] = (
    "【冰城天气】今天白天晴转多云，最低气温{cold}℃，西北风三到四级，出门注意防寒保暖[心]",
    "【交通提示】{street}部分路段今起封闭施工，为期{n}天，途经车辆请提前绕行。",
    "【民生】{district}今冬新建{n}处公益冰场，市民可免费滑冰，每天9:00-21:00开放[赞]",
    "【提醒】今晚到明天有中到大雪，路面湿滑，请大家减速慢行，尽量乘坐公共交通出行。",
    "【活动】{landmark}冰灯游园会本周六开幕，现场有冰雕展和雪地娱乐项目，门票可在网上预约。",
    "【关注】{community}老旧小区改造完工，加装电梯{n}部，居民说上下楼方便多了[赞]",
    "【供热】室温不达标怎么办？可拨打12345反映，供热企业接诉后24小时内上门测温，不达标的按规定退费。",
    "【身边事】{street}一家开了三十年的老面包房今天最后一天营业，不少老顾客赶来排队，老板说要回老家养老了。"
    "很多人在门口合影留念，有位大姐说从上学时就在这买大列巴，如今带着孙子来买最后一次，说着说着眼圈就红了。"
    "你心里有没有这样一家老店？[泪]",
)

POLICE_POSTS: tuple[str, ...] = (
    "【平安香坊】取暖季到来，请大家注意用火用电安全，不要在楼道内给电动车充电，发现火情请立即拨打119。",
    "【户政服务】即日起，香坊分局各派出所户籍窗口{weekday}延长服务时间至18:00，方便上班族办理身份证。",
    "【交警提示】酒驾醉驾专项整治持续开展，喝酒不开车，开车不喝酒，平安回家是最好的礼物。",
    "【警民同心】{community}社区民警{surname}警官走访辖区独居老人，帮忙检查燃气管道和取暖设施[心]",
    "【平安香坊】雪天路滑，{street}沿线已安排警力疏导交通，请大家错峰出行，耐心礼让。",
    "【便民】身份证丢了怎么办？带上户口本到户籍所在地派出所即可补办，急用的还可以申请临时身份证。",
)

CITIZEN_POSTS: tuple[str, ...] = (
    "今天去{landmark}拍照，雪景太美了[心]",
    "下班路上{street}又堵了，堵了四十分钟[怒]",
    "在{street}吃了{food}，撑到走不动道[哈哈]",
    "{community}的暖气终于热了，感动[泪]",
    "楼下的小猫又来讨饭了，给它留了点火腿肠[偷笑]",
    "周末去{landmark}看冰灯，人山人海[允悲]",
    "孩子期末考试，我比他还紧张[允悲]",
    "暖气不热，家里才{temp}度，打了三天12345，说明天来测温[怒]",
    "早上沿着{street}跑了五公里，零下二十度，眉毛都冻上了[doge]",
    "求推荐{district}靠谱的牙医，牙疼一晚上没睡[泪]",
    "物业费又涨了，服务一点没变好，电梯三天两头坏[怒]",
    "{food}配格瓦斯，这才是哈尔滨的冬天[赞]",
    "今天在{landmark}看见有人冬泳，佩服佩服[good]",
    "年底了，项目一个接一个，周末又没了[允悲]",
    "回家路上买了一斤冻梨，缓一缓太好吃了[哈哈]",
)

COMMENTS: tuple[str, ...] = (
    "支持[赞]",
    "已转",
    "哈哈哈哈",
    "同感",
    "注意安全",
    "在哪里？",
    "[心][心]",
    "我也是",
    "太冷了",
    "转发了，大家注意",
    "说得好",
    "确实",
    "学到了",
    "求定位",
    "羡慕[泪]",
    "冬天就得这样[doge]",
    "谢谢提醒[赞]",
    "已转给爸妈看了",
    "这天气出门真遭罪",
    "明天我也去看看",
)

NEWS_NEAR_MISSES: tuple[TextTemplate, ...] = (
    TextTemplate(
        "wb.news.fire_out",
        "【突发】昨晚{night}，{community}一居民楼发生火灾，消防救援人员迅速到场处置，火灾已扑灭，无人员伤亡，起火原因正在调查中。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.news.accident_cleared",
        "【交通】今天早上{street}发生一起两车剐蹭事故，交警已到场处置，道路已恢复通行，无人员受伤。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.news.verdict",
        "【法院】一起持刀伤人案一审宣判：被告人{surname}某因琐事持刀将邻居砍伤，被判处有期徒刑三年。法官提醒：遇事冷静，依法解决。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.news.gambling_bust",
        "【警情通报】{district}警方破获一起网络赌博案，抓获犯罪嫌疑人{n}名，涉案赌资一千余万元，案件正在进一步侦办中。",
        near_miss=True,
    ),
)

POLICE_NEAR_MISSES: tuple[TextTemplate, ...] = (
    TextTemplate(
        "wb.police.safe_account",
        "【平安香坊提醒】警惕冒充公检法诈骗！公检法不会要求转账到安全账户，也不会通过电话、视频办案。"
        "凡是让你把钱转到“安全账户”的，都是诈骗！接到可疑电话请立即挂断，拨打96110或110咨询。[心]",
        near_miss=True,
    ),
    TextTemplate(
        "wb.police.brushing",
        "【反诈课堂】“刷单返利”是最常见的电信诈骗：先给你小额返利尝甜头，再诱导你大额垫付，最后拉黑跑路。"
        "记住：所有刷单都是诈骗！兼职要“先交钱”的，一律别信。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.police.drugs",
        "【禁毒宣传】“冰妹”“溜冰”“叶子”“邮票”都是毒品黑话，网上看到这类信息请立即举报。珍爱生命，远离毒品，举报电话110。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.police.guns",
        "【以案释法】网上出售仿真枪、气枪属于违法犯罪，非法买卖、持有枪支将被依法追究刑事责任；管制刀具同样不得非法携带。"
        "发现线索请拨打110。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.police.gambling",
        "【反赌提示】“注册送38”“日入过万”“稳赚不赔”都是网络赌博的诱饵，十赌九输，莫让一时贪念毁了全家。",
        near_miss=True,
    ),
    TextTemplate(
        "wb.police.helpline",
        "【心理援助】如果你或身边的人感到绝望、有轻生的念头，请拨打心理援助热线12356或110，我们一直都在。\n"
        "发现亲友情绪异常、反复说“活着没意思”“不想活了”，请多陪伴、多倾听，不要让他独处，必要时及时报警求助。"
        "民警和心理咨询师二十四小时在线。每一个生命都值得被温柔以待，冬天总会过去，春天一定会来[心]",
        near_miss=True,
    ),
)

#: The police account's pinned post: old, always first on page 1, never newer than a crawler's mark.
POLICE_PINNED = TextTemplate(
    "wb.police.pinned",
    "【置顶】香坊分局反诈中心提醒：陌生来电说你“涉嫌洗钱”“快递丢失理赔”“刷单返利”的，都是诈骗！\n"
    "一、公检法机关不会通过电话、视频办案，更不会要求把钱转到“安全账户”；\n"
    "二、快递理赔不需要你提供银行卡密码和验证码；\n"
    "三、所有要你先垫付的刷单兼职都是骗局。\n"
    "被骗后请第一时间拨打110并保存好转账记录。下载国家反诈中心APP，开启来电预警功能，"
    "家里有老人的，请帮他们也装上。转发提醒身边人，守护好全家的钱袋子[心]",
    near_miss=True,
)

RETWEET_COMMENTS: tuple[str, ...] = (
    "大家都看看，千万别上当！[怒]",
    "转给家里老人看看",
    "还好没人受伤[心]",
    "转发微博",
    "都注意点吧",
)
