"""The rule/lexicon risk scorer: real positives, near misses, complaints, evidence spans."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.lexicon import LexiconResult, LexiconScorer
from nlp.normalize import Normalizer
from nlp.segment import RjiebaSegmenter
from patrol.datafiles import ConfigFileError
from patrol.schema import RISK_CATEGORIES

THRESHOLD = 0.5


class Reader:
    """Normalise, segment and score, as the pipeline does."""

    def __init__(self, lexicon_file: Path | None = None) -> None:
        self.normalizer = Normalizer()
        self.segmenter = RjiebaSegmenter()
        self.lexicon = LexiconScorer(lexicon_file) if lexicon_file else LexiconScorer()

    def __call__(self, text: str) -> LexiconResult:
        normalized = self.normalizer(text)
        return self.lexicon.score(normalized, self.segmenter.tokenize(normalized.text))


@pytest.fixture(scope="module")
def read() -> Reader:
    return Reader()


POSITIVES = [
    ("violence_threat", "再敢骂我一句，老子明天就去你家砍死你全家，说到做到"),
    ("weapons", "出两把气狗和仿真枪，威力大，全国包邮，要的加Ｖ信私聊"),
    ("fraud", "您好，这里是公安局，您的身份证涉嫌洗钱，需配合资金清查，请将资金转入安全账户"),
    ("drugs", "有需要的兄弟，冰和叶子都到货了，同城面交，飞机联系"),
    ("gambling", "澳门葡京线上娱乐城，注册送38元彩金，首充返水，官网 www.pj8888.vip"),
    ("public_hazard", "道外区北十四道街社区一栋老楼燃气泄漏，整个楼道都是煤气味，已经有人头晕了，快来人"),
    ("self_harm", "活着太累了，我真的不想活了，今晚就从楼上跳下去，爸妈对不起"),
    ("cyber_violence", "大家快来人肉这个女的，她的住址和电话我都扒出来了，贱人一个"),
]


@pytest.mark.parametrize(("category", "text"), POSITIVES, ids=[c for c, _ in POSITIVES])
def test_a_realistic_post_scores_over_the_threshold_in_its_category(read: Reader, category: str, text: str) -> None:
    result = read(text)
    assert result.scores[category] >= THRESHOLD
    others = {c: s for c, s in result.scores.items() if c != category and s >= THRESHOLD}
    assert others == {}
    assert any(e.category == category and e.signal == "lexicon" for e in result.evidence)


NEAR_MISSES = [
    (
        "anti_fraud_publicity",
        "反诈中心提醒：公检法机关不会通过电话办案，更不存在所谓的安全账户，凡是要求转账的都是诈骗",
    ),
    ("past_news", "香坊区一居民楼昨日发生火灾，明火已被扑灭，无人员伤亡，起火原因正在调查中"),
    ("cooking", "今天做菜，买了一把新菜刀和一把砍刀，切排骨剁骨头特别好用，店家包邮"),
    ("fiction_game", "吃鸡决赛圈我拿着M416和98K两把枪，队友出了个皮肤，要的私聊"),
    ("fiction_game", "第十二章 他冷笑一声，拔出匕首：今晚我就要杀了你，替师父报仇"),
    ("condemnation", "大家注意！最近有人冒充客服说快递丢失要理赔，让你开屏幕共享，千万别信，这是骗局"),
]


@pytest.mark.parametrize(("context", "text"), NEAR_MISSES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(NEAR_MISSES)])
def test_near_misses_stay_under_the_threshold_and_record_why(read: Reader, context: str, text: str) -> None:
    result = read(text)
    assert max(result.scores.values()) < THRESHOLD, result.scores
    assert context in result.context_ids
    # The match itself is still explained: the context damped it, it did not hide it.
    assert result.evidence


def test_the_same_words_without_the_context_do_score(read: Reader) -> None:
    assert read("我是快递客服，您的快递丢失了要理赔，请开屏幕共享，下载会议app").scores["fraud"] >= THRESHOLD
    assert read("公检法机关通知你把钱转到安全账户").scores["fraud"] >= THRESHOLD
    assert read("楼下居民楼着火了，火势很大，快打119").scores["public_hazard"] >= THRESHOLD
    assert read("出一把砍刀，包邮").scores["weapons"] >= THRESHOLD


COMPLAINTS = [
    "我家暖气一点都不热，物业也不管，打了十几次电话投诉都没用",
    "小区停水三天了，也没人通知，居委会和领导都不作为",
    "这条路修了两年还没修好，政府官员就知道形式主义，什么时候能解决",
    "强烈要求相关部门整治学府路的乱停车，每天堵得水泄不通，市长信箱也没人回",
    "物业费年年涨，电梯三天两头坏，业主们准备集体上访",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_complaints_and_criticism_score_zero(read: Reader, text: str) -> None:
    result = read(text)
    assert result.scores == dict.fromkeys(RISK_CATEGORIES, 0.0)
    assert result.evidence == []


def test_weak_contexts_do_not_damp_a_first_person_life_safety_signal(read: Reader) -> None:
    in_game = read("这个游戏太难了，玩得心态崩了，我不想活了，今晚就吃安眠药")
    assert "fiction_game" in in_game.context_ids
    assert in_game.scores["self_harm"] >= THRESHOLD
    with_knife = read("厨房里拿了把菜刀，我要砍死他")
    assert "cooking" in with_knife.context_ids
    assert with_knife.scores["violence_threat"] >= THRESHOLD


def test_strong_contexts_still_damp_life_safety(read: Reader) -> None:
    result = read("据报道，该男子在网上扬言我要杀了你们，已被警方抓获")
    assert "past_news" in result.context_ids
    assert result.scores["violence_threat"] < THRESHOLD


def test_everyday_words_that_look_like_risk_do_not_score(read: Reader) -> None:
    for text in [
        "累死了，笑死我了，想死你了宝贝",
        "我看新闻说有人自杀了，好可怜",
        "我不会自杀的，大家放心",
        "冰箱到货了，今天安装",
        "周末带孩子去冰雪大世界溜冰，真开心",
        "这首歌要大火了",
        "我知道里面的门道，打死也不说",
    ]:
        result = read(text)
        assert max(result.scores.values()) < THRESHOLD, (text, result.scores)


def test_evidence_spans_slice_the_original_text_to_the_term(read: Reader) -> None:
    text = "香坊区幸福家园小区燃气泄漏了，大家赶紧撤离"
    result = read(text)
    assert result.evidence
    for evidence in result.evidence:
        assert text[evidence.start : evidence.end] == evidence.term


def test_evidence_spans_point_at_the_obfuscated_original(read: Reader) -> None:
    text = "出 仿 真 枪，要的加Ｖ信"
    result = read(text)
    assert result.scores["weapons"] >= THRESHOLD
    slices = {e.term: text[e.start : e.end] for e in result.evidence}
    assert slices["仿真枪"] == "仿 真 枪"
    assert slices["微信"] == "Ｖ信"


def test_first_person_threat_against_a_narrated_killing(read: Reader) -> None:
    assert read("我要砍死他，明天就去他家").scores["violence_threat"] >= THRESHOLD
    assert read("我看到新闻，有个男的把他老婆砍死了").scores["violence_threat"] < THRESHOLD
    assert read("我不会砍死他的，放心吧").scores["violence_threat"] < THRESHOLD


def test_a_combination_late_in_a_long_post_still_counts(read: Reader) -> None:
    chatter = "你好，你们那边出太阳了吗？我这边出门就下雨，" * 30
    result = read(chatter + "最后说一句，出仿真枪，私聊")
    assert result.scores["weapons"] >= THRESHOLD
    assert read(chatter).scores["weapons"] == 0.0


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("我要砍死你出售仿真枪加V信安全账户转账冰到货了燃气泄漏不想活 ，。!\u200b")),
        max_size=60,
    )
)
def test_scores_stay_in_range_and_evidence_inside_the_original(text: str) -> None:
    result = _shared_reader()(text)
    assert set(result.scores) == set(RISK_CATEGORIES)
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())
    for evidence in result.evidence:
        assert 0 <= evidence.start < evidence.end <= len(text)


_READER: list[Reader] = []


def _shared_reader() -> Reader:
    # hypothesis cannot take pytest fixtures; build one reader for all examples.
    if not _READER:
        _READER.append(Reader())
    return _READER[0]


def _write_lexicon(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_custom_lexicon_file_is_used(tmp_path: Path) -> None:
    path = _write_lexicon(
        tmp_path,
        """
version: "test-1"
groups:
  thing: {terms: [危险品]}
  sell: {terms: [出售]}
rules:
  - {id: weapons.test, category: weapons, groups: [thing, sell], within: 10, weight: 0.9}
""",
    )
    reader = Reader(path)
    assert reader.lexicon.name == "lexicon:test-1"
    assert reader("出售危险品").scores["weapons"] == 0.9
    assert reader("危险品，以后再说吧，现在不出售").scores["weapons"] == 0.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "version: '1'\ngroups: {a: {terms: [x]}}\nrules:\n"
            "  - {id: r, category: weapons, groups: [missing], weight: 0.5}\n",
            "unknown group 'missing'",
        ),
        (
            "version: '1'\ngroups: {a: {terms: [x]}}\nrules:\n"
            "  - {id: r, category: weapons, groups: [a], weight: 0.5, life_safety_signal: true}\n",
            "life_safety_signal is only for",
        ),
        (
            "version: '1'\ngroups: {a: {terms: [x]}}\nrules:\n"
            "  - {id: r, category: opinion, groups: [a], weight: 0.5}\n",
            "rules.0.category",
        ),
        (
            "version: '1'\ngroups: {a: {terms: [x]}}\nrules:\n  - {id: r, category: fraud, groups: [a], weight: 1.5}\n",
            "rules.0.weight",
        ),
        ("version: '1'\ngroups: {a: {patterns: ['(']}}\nrules: []\n", "not a valid regular expression"),
    ],
)
def test_lexicon_errors_name_the_file_and_the_problem(tmp_path: Path, body: str, message: str) -> None:
    path = _write_lexicon(tmp_path, body)
    with pytest.raises(ConfigFileError, match=r"lexicon\.yaml") as error:
        Reader(path)("文本")
    assert message in str(error.value)
