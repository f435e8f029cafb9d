"""The generic article extractor: scored on the labelled real pages, never crashing on any page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawlers.article_eval import DEFAULT_PAGES, EVAL_NOW, evaluate
from crawlers.encoding import decode_page
from crawlers.parsers.article import extract_article

NEWS = DEFAULT_PAGES.resolve()
SHANGHAI = timezone(timedelta(hours=8))
ALL_PAGES = sorted(NEWS.rglob("*.html")) if NEWS.is_dir() else []


@pytest.mark.shared_data
def test_scores_on_the_labelled_pages() -> None:
    if not (NEWS / "truth.json").exists():
        pytest.skip(f"../shared/data absent: {NEWS}/truth.json (labelled news pages) is needed")
    summary = evaluate(NEWS)
    assert len(summary.pages) == 12
    assert summary.title_accuracy == 1.0, [p.path for p in summary.pages if not p.title_ok]
    assert summary.time_accuracy == 1.0, [p.path for p in summary.pages if not p.time_ok]
    assert summary.mean_body_similarity >= 0.95
    assert min(p.body_similarity for p in summary.pages) >= 0.9
    # Two labels name page furniture ("搜索", a search button), so author tops out at 10 of 12.
    assert summary.author_accuracy >= 10 / 12


@pytest.mark.shared_data
@pytest.mark.parametrize("path", ALL_PAGES, ids=[str(p.relative_to(NEWS)) for p in ALL_PAGES])
def test_never_crashes_on_a_real_page(path: Path) -> None:
    article = extract_article(decode_page(path.read_bytes()).text, now=EVAL_NOW)
    assert isinstance(article.text, str)
    assert article.published_at is None or article.published_at.tzinfo is not None


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "\x00\x01garbage",
        "<html><body>",
        "<p>" * 5000,
        "<?xml version='1.0' encoding='gb2312'?><html/>",
        "<html><head><title>只有标题</title></head></html>",
        "<html><body><a href=x>链接</a></body></html>",
    ],
)
def test_never_crashes_on_bad_input(html: str) -> None:
    article = extract_article(html, now=EVAL_NOW)
    assert isinstance(article.text, str)


def test_a_written_article_with_meta_time_byline_and_boilerplate() -> None:
    html = """<html><head><title>道里区一居民楼发生火灾 无人员伤亡_冰城新闻网</title>
    <meta property="article:published_time" content="2026-11-27T21:05:00+08:00"></head><body>
    <div class="nav"><a href="/">首页</a><a href="/local">本地</a><a href="/sport">体育</a></div>
    <h1>道里区一居民楼发生火灾 无人员伤亡</h1><div class="info">来源：冰城新闻网 作者：王小明</div>
    <div class="article"><p>11月27日晚，道里区某小区一居民楼发生火灾，消防救援人员迅速赶到现场处置。</p>
    <p>火灾未造成人员伤亡，起火原因正在调查中。相关部门提醒市民注意冬季用电安全。</p>
    <p>分享到：微信 微博</p></div>
    <ul class="related"><li><a href="/1">相关新闻一二三四五</a></li><li><a href="/2">相关新闻六七八九十</a></li></ul>
    </body></html>"""
    article = extract_article(html, now=EVAL_NOW)
    assert article.title == "道里区一居民楼发生火灾 无人员伤亡"
    assert article.author == "王小明"
    assert article.published_at == datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    assert article.text.startswith("11月27日晚，道里区某小区") and "分享到" not in article.text
    assert "相关新闻" not in article.text and "首页" not in article.text


def test_relative_byline_time_reads_against_now() -> None:
    html = (
        "<html><body><h1>标题足够长的一条新闻</h1><span>发布于 3 小时前</span><div><p>"
        + "正文，很长。" * 30
        + "</p></div></body></html>"
    )
    now = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
    article = extract_article(html, now=now)
    assert article.title == "标题足够长的一条新闻"
    assert article.published_at == now - timedelta(hours=3)
