"""The compiled scheme matcher on hand-written posts: normalisation, scopes, NEAR, filters, windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patrol.schema import AnalysedPost, Analysis, PlaceTag
from patrol.schemes.context import MatchContext
from patrol.schemes.document import MatchDocument, document_for, word_positions
from patrol.schemes.matcher import SchemeMatcher, SchemeSource
from tests.conftest import make_post


@pytest.fixture(scope="module")
def context() -> MatchContext:
    return MatchContext()


def doc(context: MatchContext, body: str, title: str = "", **fields: object) -> MatchDocument:
    normalized = context.normalize(body)
    return MatchDocument(
        post_id="p",
        title=context.normalize(title),
        body=normalized,
        body_tokens=context.cut(normalized),
        cut=context.cut,
        **fields,  # type: ignore[arg-type]
    )


def keys(matcher: SchemeMatcher, document: MatchDocument) -> list[str]:
    return [hit.key for hit in matcher.match(document)]


def one(context: MatchContext, query: str) -> SchemeMatcher:
    matcher = SchemeMatcher([SchemeSource("s", query)], context)
    assert not matcher.errors, matcher.errors
    return matcher


def test_words_match_inside_words_the_segmenter_kept_whole(context: MatchContext) -> None:
    # 燃气泄漏 is one word in the user dictionary; a scheme for 泄漏 must still find it.
    matcher = one(context, "泄漏 香坊")
    assert keys(matcher, doc(context, "香坊大街燃气泄漏了")) == ["s"]
    assert keys(matcher, doc(context, "南岗燃气泄漏了")) == []


def test_obfuscated_posts_and_query_words_are_normalised_alike(context: MatchContext) -> None:
    matcher = SchemeMatcher(
        [SchemeSource("guns", "枪支 出售"), SchemeSource("wechat", "vx"), SchemeSource("trad", "槍支")], context
    )
    assert keys(matcher, doc(context, "出售枪 支，加V信详聊")) == ["guns", "trad", "wechat"]
    assert keys(matcher, doc(context, "出售槍支")) == ["guns", "trad"]


def test_latin_words_do_not_match_inside_longer_latin_words(context: MatchContext) -> None:
    matcher = one(context, "gas")
    assert keys(matcher, doc(context, "gas leak at 香坊")) == ["s"]
    assert keys(matcher, doc(context, "燃气gas泄漏")) == ["s"]
    assert keys(matcher, doc(context, "vegas trip")) == []
    assert keys(matcher, doc(context, "gasoline")) == []


def test_not_excludes_and_or_alternatives(context: MatchContext) -> None:
    matcher = one(context, "(燃气 OR 煤气) (泄漏 OR 泄露) NOT 演练")
    assert keys(matcher, doc(context, "单元楼煤气泄露，味道很大")) == ["s"]
    assert keys(matcher, doc(context, "今天燃气泄漏应急演练")) == []
    assert keys(matcher, doc(context, "燃气费又涨了")) == []


def test_phrase_must_appear_as_written(context: MatchContext) -> None:
    matcher = one(context, '"gas leak"')
    assert keys(matcher, doc(context, "a GAS  LEAK here")) == ["s"]  # case and spacing are normalised
    assert keys(matcher, doc(context, "leak of gas")) == []


def test_near_counts_words_not_characters_or_punctuation(context: MatchContext) -> None:
    matcher = one(context, "燃气 NEAR/2 味道")
    assert keys(matcher, doc(context, "燃气，好大的味道")) == ["s"]  # 好大 的: two words between, the comma none
    assert keys(matcher, doc(context, "燃气 公司 今天 说 的 味道")) == []
    assert keys(matcher, doc(context, "味道 很 大 燃气")) == ["s"]  # either order


def test_near_pairs_within_one_field_only(context: MatchContext) -> None:
    matcher = one(context, "燃气 NEAR/1 泄漏")
    assert keys(matcher, doc(context, "泄漏了", title="燃气")) == []
    assert keys(matcher, doc(context, "正文", title="燃气 泄漏")) == ["s"]


def test_title_and_body_scopes(context: MatchContext) -> None:
    matcher = SchemeMatcher(
        [SchemeSource("title", "title:燃气"), SchemeSource("body", "body:燃气"), SchemeSource("any", "燃气")], context
    )
    assert keys(matcher, doc(context, "正文没有", title="燃气泄漏")) == ["any", "title"]
    assert keys(matcher, doc(context, "燃气泄漏", title="标题")) == ["any", "body"]


def test_a_reply_does_not_inherit_its_thread_title(context: MatchContext) -> None:
    matcher = one(context, "title:燃气")
    first = make_post("1", "楼主说", thread_title="燃气泄漏了", floor=1)
    reply = make_post("2", "顶", thread_title="燃气泄漏了", floor=5)
    for post, expected in ((first, ["s"]), (reply, [])):
        analysis = Analysis(post_id=post.id, normalized_text=post.text, tokens=[post.text], keywords=[], risk_scores={})
        assert [h.key for h in matcher.match_post(AnalysedPost(post=post, analysis=analysis))] == expected


def test_filters_on_source_category_sentiment_author_kind(context: MatchContext) -> None:
    matcher = SchemeMatcher(
        [
            SchemeSource("weibo", "燃气 source:weibo"),
            SchemeSource("bbs", "燃气 source:bbs-*"),
            SchemeSource("hazard", "燃气 category:安全隐患"),
            SchemeSource("negative", "燃气 sentiment:负面"),
            SchemeSource("media", "燃气 author_kind:media"),
        ],
        context,
    )
    document = doc(context, "燃气", source_id="bbs-xf", categories=frozenset({"public_hazard"}), sentiment="negative")
    assert keys(matcher, document) == ["bbs", "hazard", "negative"]
    assert keys(matcher, doc(context, "燃气", source_id="weibo", author_kind="media")) == ["media", "weibo"]


def test_place_filter_takes_a_district_with_everything_in_it(context: MatchContext) -> None:
    matcher = SchemeMatcher(
        [SchemeSource("district", "燃气 place:香坊"), SchemeSource("street", "燃气 place:和平路")], context
    )
    assert keys(matcher, doc(context, "燃气", places=frozenset({"和平路街道"}))) == ["district", "street"]
    assert keys(matcher, doc(context, "燃气", places=frozenset({"香坊区"}))) == ["district"]
    assert keys(matcher, doc(context, "燃气", places=frozenset({"学府路"}))) == []


def test_jurisdiction_filter_takes_a_branch_with_its_stations(context: MatchContext) -> None:
    matcher = SchemeMatcher(
        [
            SchemeSource("branch", "燃气 jurisdiction:香坊公安分局"),
            SchemeSource("station", "燃气 jurisdiction:xf-heping"),
        ],
        context,
    )
    assert keys(matcher, doc(context, "燃气", jurisdiction="xf-heping")) == ["branch", "station"]
    assert keys(matcher, doc(context, "燃气", jurisdiction="xf-branch")) == ["branch"]
    assert keys(matcher, doc(context, "燃气", jurisdiction="ng-xuefu")) == []


def test_post_properties_come_from_the_analysis(context: MatchContext) -> None:
    post = make_post("9", "香坊燃气泄漏", source_id="weibo", kind="article", jurisdiction_hint="xf-heping")
    analysis = Analysis(
        post_id=post.id,
        normalized_text="香坊燃气泄漏",
        tokens=["香坊", "燃气泄漏"],
        keywords=[],
        risk_scores={"public_hazard": 0.9, "fraud": 0.2},
        places=[PlaceTag(name="香坊区", level="district", unit="xf-branch", start=0, end=2)],
        sentiment_label="negative",
    )
    document = document_for(AnalysedPost(post=post, analysis=analysis), context)
    assert document.categories == frozenset({"public_hazard"})
    assert document.author_kind == "media"
    assert document.places == frozenset({"香坊区"})
    assert document.jurisdiction == "xf-heping"  # the analysis named none; the source's hint is a unit


def test_active_window_is_tested_against_publication_time(context: MatchContext) -> None:
    start = datetime(2026, 12, 5, tzinfo=UTC)
    matcher = SchemeMatcher([SchemeSource("marathon", "马拉松", start, start + timedelta(days=2))], context)
    inside = doc(context, "马拉松封路", published_at=start + timedelta(hours=3))
    before = doc(context, "马拉松封路", published_at=start - timedelta(hours=3))
    after = doc(context, "马拉松封路", published_at=start + timedelta(days=2))
    assert [keys(matcher, d) for d in (inside, before, after)] == [["marathon"], [], []]


def test_a_scheme_that_no_longer_compiles_is_left_out_not_fatal(context: MatchContext) -> None:
    matcher = SchemeMatcher([SchemeSource("ok", "燃气"), SchemeSource("bad", "燃气 place:不存在的地方")], context)
    assert set(matcher.errors) == {"bad"}
    assert "unknown place" in matcher.errors["bad"].message
    assert keys(matcher, doc(context, "燃气")) == ["ok"]


def test_shared_words_are_one_pattern_and_hits_say_which_words(context: MatchContext) -> None:
    matcher = SchemeMatcher([SchemeSource("a", "燃气 泄漏"), SchemeSource("b", "燃气 NOT 演练")], context)
    assert matcher.pattern_count == 3
    hits = matcher.match(doc(context, "燃气泄漏"))
    assert [(h.key, h.terms) for h in hits] == [("a", ("燃气", "泄漏")), ("b", ("燃气",))]


def test_word_positions_skip_punctuation_and_tokens_the_text_lacks() -> None:
    assert word_positions("燃气，泄漏", ["燃气", "，", "泄漏"]) == [0, 0, -1, 1, 1]
    assert word_positions("ab", ["zz", "ab"]) == [0, 0]
