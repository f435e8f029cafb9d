"""Site profiles: the shipped ones load and read their layouts; a wrong profile is refused with the
file, field and line; selectors are CSS or XPath; times go through the profile's formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers.profile import NotProfilePage, parse_profile_list, parse_profile_thread, thread_key
from crawlers.site_profile import FieldRule, ProfileError, load_profile
from crawlers.sources import PROFILES_DIR, SourcesFileError, load_sources
from tests.fixtures.crawl.profile_sites import BoardMessage, Message, MessageBoard, PhpbbForum, Topic

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)


def test_shipped_profiles_load() -> None:
    names = sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))
    assert names == ["gov_message_board", "phpbb3"]
    for name in names:
        assert load_profile(PROFILES_DIR / f"{name}.yaml").name == name


def test_phpbb_profile_reads_topics_posts_times_and_quotes() -> None:
    forum = PhpbbForum(
        topics=[
            Topic(
                7,
                "路口车祸",
                [
                    Message(70, "甲", NOW - timedelta(hours=13), "有车祸<br />注意"),
                    Message(71, "乙", NOW - timedelta(minutes=5), "已报警", quote=("甲", "有车祸")),
                ],
            ),
            Topic(8, "置顶：版规", [Message(80, "版主", NOW - timedelta(days=90), "文明发言")], sticky=True),
        ]
    )
    profile = load_profile(PROFILES_DIR / "phpbb3.yaml")
    listing = parse_profile_list(
        profile, Selector(text=forum.render_forum(0).decode()), "http://b.cn/viewforum.php?f=2", NOW
    )
    sticky, topic = listing.rows
    assert (sticky.key, sticky.sticky, topic.key, topic.sticky) == ("8", True, "7", False)
    assert (topic.title, topic.replies, topic.url) == ("路口车祸", 1, "http://b.cn/viewtopic.php?f=2&t=7")
    assert topic.last_post_at == datetime(2026, 11, 28, 1, 55, tzinfo=UTC)  # "9:55 am" Beijing
    assert listing.next_url is None
    page = parse_profile_thread(profile, Selector(text=forum.render_topic(7, 0).decode()), topic.url, NOW)
    first, reply = page.posts
    assert (first.native_id, first.floor, first.author, first.text) == ("70", 1, "甲", "有车祸\n注意")
    assert first.published_at == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)  # "9:00 pm" the day before
    assert (reply.text, reply.quote) == ("已报警", "有车祸")  # the "甲 wrote:" header skipped
    assert page.title == "路口车祸"


def test_message_board_profile_on_gbk_pages() -> None:
    board = MessageBoard(
        messages=[
            BoardMessage(
                5,
                "小区消防通道被占",
                "李女士",
                NOW - timedelta(days=1),
                "消防通道停满车",
                ("道外区消防救援大队", NOW, "已责令清理"),
            )
        ]
    )
    profile = load_profile(PROFILES_DIR / "gov_message_board.yaml")
    listing = parse_profile_list(
        profile, Selector(text=decode_page(board.render_list(1)).text), "http://g.cn/wz/list.jsp", NOW
    )
    (row,) = listing.rows
    assert (row.key, row.title, row.signature.endswith("已回复")) == ("5", "小区消防通道被占", True)
    page = parse_profile_thread(profile, Selector(text=decode_page(board.render_detail(5) or b"").text), row.url, NOW)
    assert [(p.native_id, p.author, p.text) for p in page.posts] == [
        ("m5", "李女士", "消防通道停满车"),
        ("r5", "道外区消防救援大队", "已责令清理"),
    ]
    assert page.posts[1].published_at == NOW.astimezone(UTC)


def test_a_redesigned_page_is_not_read_as_empty() -> None:
    profile = load_profile(PROFILES_DIR / "phpbb3.yaml")
    with pytest.raises(NotProfilePage, match="finds no threads"):
        parse_profile_list(
            profile, Selector(text="<html><body><div class='new-look'></div></body></html>"), "http://b/", NOW
        )


def test_field_rules_css_xpath_attributes_and_patterns() -> None:
    page = Selector(
        text='<div id="p9" class="x"><span class="t">发表于 2026-11-27 21:05</span><a href="/u/3">丙</a></div>'
    )
    scope = page.css("div.x")[0]
    assert FieldRule(select="xpath:./@id").first(scope) == "p9"
    assert FieldRule(select="a::attr(href)").first(scope) == "/u/3"
    assert FieldRule(select="span.t", pattern=r"发表于\s*(.+)").first(scope) == "2026-11-27 21:05"
    assert FieldRule(select="//a").first(scope) == "丙"
    assert FieldRule(select="em").first(scope) is None
    assert thread_key(load_profile(PROFILES_DIR / "phpbb3.yaml"), "http://b/viewtopic.php?f=2&t=42") == "42"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_wrong_profile_names_file_field_and_line(tmp_path: Path) -> None:
    good = (PROFILES_DIR / "phpbb3.yaml").read_text(encoding="utf-8")
    bad_selector = write(tmp_path, good.replace('author: "p.author a.username"', 'author: "p.author[["'))
    line = next(n for n, text in enumerate(bad_selector.read_text().splitlines(), 1) if "p.author[[" in text)
    with pytest.raises(ProfileError, match=rf"field 'thread\.author' \(line {line}\): .*does not parse") as caught:
        load_profile(bad_selector)
    assert str(bad_selector) in str(caught.value)

    missing = write(tmp_path, good.replace('  text: "div.content"\n', ""))
    with pytest.raises(ProfileError, match=r"field 'thread\.text'.*Field required"):
        load_profile(missing)
    zone = write(tmp_path, good.replace("timezone: Asia/Shanghai", "timezone: Harbin/Daoli"))
    with pytest.raises(ProfileError, match=r"field 'timezone' \(line 5\): .*unknown time zone"):
        load_profile(zone)
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(write(tmp_path, "name: [unclosed"))


def test_sources_resolve_profiles_by_name_or_path_and_refuse_unknown(tmp_path: Path) -> None:
    own = tmp_path / "profiles" / "mine.yaml"
    own.parent.mkdir()
    own.write_text((PROFILES_DIR / "phpbb3.yaml").read_text(encoding="utf-8").replace("name: phpbb3", "name: mine"))
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        "  - {id: a, kind: profile, profile: phpbb3, start_urls: ['http://a.cn/viewforum.php?f=1']}\n"
        "  - {id: b, kind: profile, profile: profiles/mine.yaml, start_urls: ['http://b.cn/viewforum.php?f=1']}\n",
        encoding="utf-8",
    )
    a, b = load_sources(sources)
    assert a.profile == str(PROFILES_DIR / "phpbb3.yaml") and b.profile == str(own.resolve())
    sources.write_text(
        "sources:\n  - {id: c, kind: profile, profile: nosuch, start_urls: ['http://c.cn/']}\n", encoding="utf-8"
    )
    with pytest.raises(SourcesFileError, match=r"field 'profile'.*no site profile 'nosuch'.*phpbb3"):
        load_sources(sources)
    sources.write_text("sources:\n  - {id: d, kind: profile, start_urls: ['http://d.cn/']}\n", encoding="utf-8")
    with pytest.raises(SourcesFileError, match="needs 'profile: NAME'"):
        load_sources(sources)
