"""The demo site over real HTTP: GBK Discuz pages, the weibo-style API with cursor paging, and the
mutations that incremental-crawl tests rely on."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from lxml import html as lxml_html

from demo.clock import discuz_absolute
from demo.content import DemoContent
from demo.server import DemoSite


def fetch(url: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def page(site: DemoSite, path: str) -> Any:
    status, headers, body = fetch(site.base_url + path)
    assert status == 200, (path, status)
    assert headers["Content-Type"] == "text/html; charset=gbk"
    return lxml_html.fromstring(body.decode("gb18030"))


def api(site: DemoSite, path: str) -> Any:
    status, headers, body = fetch(site.base_url + path)
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(body)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite(seed=7, threads=60) as running:
        yield running


def test_forum_is_gbk_encoded_with_matching_header_and_meta(site: DemoSite) -> None:
    status, headers, body = fetch(site.base_url + "/forum.php")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gbk"
    assert b'<meta http-equiv="Content-Type" content="text/html; charset=gbk" />' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("gb18030")
    assert "&#" not in text, "every character of the demo text must be encodable in GBK"
    for board in site.content.boards:
        assert board.name in text
    index = lxml_html.fromstring(text)
    links = index.xpath('//div[@id="category_1"]//td[@class="fl_g"]/dl/dt/a/@href')
    assert links == [f"forum.php?mod=forumdisplay&fid={b.fid}" for b in site.content.boards]


def test_thread_list_rows_and_pagination(site: DemoSite) -> None:
    fid = max(site.content.boards, key=lambda b: len(site.content.threads_in_board(b.fid))).fid
    first = page(site, f"/forum.php?mod=forumdisplay&fid={fid}&page=1")
    table = first.get_element_by_id("threadlisttableid")
    sticky = table.xpath('./tbody[starts-with(@id, "stickthread_")]')
    normal = table.xpath('./tbody[starts-with(@id, "normalthread_")]')
    assert len(sticky) == 1 and len(normal) == 20
    row = normal[0]
    tid = int(row.get("id").split("_")[1])
    summary = site.content.thread_summary(tid)
    assert row.xpath('.//th/a[@class="s xst"]/text()') == [summary.title]
    assert row.xpath('.//th/a[@class="s xst"]/@href') == [f"forum.php?mod=viewthread&tid={tid}"]
    by = row.xpath('./tr/td[@class="by"]')
    assert by[0].xpath("./cite/a/text()") == [summary.author.name]
    assert by[0].xpath("./em/span/text()") == [
        summary.created_at.astimezone(site.content.now.tzinfo).strftime("%Y-%m-%d")
    ]
    assert row.xpath('.//td[@class="num"]/a[@class="xi2"]/text()') == [str(summary.replies)]
    assert by[1].xpath("./em/a/text()") == [discuz_absolute(summary.last_post_at)]
    last_posts = [r.xpath('./tr/td[@class="by"][2]/em/a/text()')[0] for r in normal]
    assert last_posts == sorted(last_posts, reverse=True)
    assert first.xpath('//div[@class="pg"]/strong/text()')[0] == "1"
    assert first.xpath('//div[@class="pg"]/a[@class="nxt"]/@href')[0] == f"forum.php?mod=forumdisplay&fid={fid}&page=2"
    second = page(site, f"/forum.php?mod=forumdisplay&fid={fid}&page=2")
    assert not second.xpath('//tbody[starts-with(@id, "stickthread_")]')
    assert second.xpath('//tbody[starts-with(@id, "normalthread_")]')
    assert not second.xpath('//div[@class="pg"]/a[@class="nxt"]'), "the last page has no next link"


def test_thread_page_floors_quotes_and_paging(site: DemoSite) -> None:
    content = site.content
    tid = next(t for t in range(7, 61) if len(content.thread(t).floors) > 10)
    thread = content.thread(tid)
    first = page(site, f"/forum.php?mod=viewthread&tid={tid}")
    assert first.get_element_by_id("thread_subject").text == thread.title
    posts = first.xpath('//div[starts-with(@id, "post_")]')
    assert [p.get("id") for p in posts] == [f"post_{f.pid}" for f in thread.floors[:10]]
    opening = thread.floors[0]
    assert first.get_element_by_id(f"postnum{opening.pid}").text_content() == "楼主"
    assert posts[0].xpath('.//div[@class="authi"]/a[@class="xw1"]/text()') == [opening.author.name]
    message = first.get_element_by_id(f"postmessage_{opening.pid}")
    assert message.text_content().replace("\r\n", "\n") == opening.text.replace("\n", "")
    assert first.xpath('//div[@class="pg"]/a[@class="nxt"]/@href')[0] == f"forum.php?mod=viewthread&tid={tid}&page=2"
    second = page(site, f"/forum.php?mod=viewthread&tid={tid}&page=2")
    eleventh = thread.floors[10]
    number = second.get_element_by_id(f"postnum{eleventh.pid}")
    assert (number.findtext("em"), number.findtext("sup")) == ("11", "#")
    # Some reply quotes an earlier floor: the quote sits in div.quote before the reply text.
    quoted = next(f for t in range(7, 61) for f in content.thread(t).floors if f.quote is not None)
    view = page(site, f"/forum.php?mod=viewthread&tid={quoted.tid}&page={(quoted.number - 1) // 10 + 1}")
    cell = view.get_element_by_id(f"postmessage_{quoted.pid}")
    quote = cell.xpath('./div[@class="quote"]/blockquote')[0]
    assert quoted.quote is not None
    assert f"{quoted.quote.author} 发表于" in quote.xpath("./font/font/text()")[0]
    assert quoted.text.split("\n")[0] in cell.text_content()


def test_young_posts_show_relative_times_resolvable_against_the_date_header(site: DemoSite) -> None:
    _, headers, _ = fetch(site.base_url + "/robots.txt")
    assert parsedate_to_datetime(headers["Date"]) == site.now
    content = site.content
    young = [f for t in range(7, 61) for f in content.thread(t).floors if site.now - f.posted_at < timedelta(days=1)]
    assert young, "the default demo needs posts younger than a day"
    seen_titled = seen_plain = False
    for floor in young[:40]:
        view = page(site, f"/forum.php?mod=viewthread&tid={floor.tid}&page={(floor.number - 1) // 10 + 1}")
        em = view.get_element_by_id(f"authorposton{floor.pid}")
        spans = em.xpath("./span")
        if spans:
            seen_titled = True
            assert spans[0].get("title") == discuz_absolute(floor.posted_at)
        else:
            seen_plain = True
        assert re.fullmatch(r"发表于 (刚刚|\d+ 分钟前|半小时前|\d+ 小时前|昨天 \d\d:\d\d)", em.text_content())
    assert seen_titled and seen_plain
    old = content.thread(8).floors[0]
    view = page(site, "/forum.php?mod=viewthread&tid=8")
    assert view.get_element_by_id(f"authorposton{old.pid}").text_content() == f"发表于 {discuz_absolute(old.posted_at)}"


def test_same_seed_serves_the_same_bytes() -> None:
    paths = [
        "/forum.php",
        "/forum.php?mod=forumdisplay&fid=2",
        "/forum.php?mod=viewthread&tid=22&page=1",
        "/api/container/getIndex?containerid=1076036512340002",
    ]
    bodies = []
    for _ in range(2):
        with DemoSite(seed=7, threads=60) as running:
            host = running.base_url.removeprefix("http://").encode()
            # Only the weibo `scheme` links name the host, and each site has its own port.
            bodies.append([fetch(running.base_url + p)[2].replace(host, b"HOST") for p in paths])
    assert bodies[0] == bodies[1]


def test_weibo_cursor_pages_through_the_whole_timeline_and_ends(site: DemoSite) -> None:
    police = next(a for a in site.content.weibo_accounts if a.kind == "police")
    url = f"/api/container/getIndex?containerid={police.containerid}"
    first = api(site, url)
    assert first["ok"] == 1 and first["data"]["cardlistInfo"]["containerid"] == police.containerid
    cards = first["data"]["cards"]
    assert len(cards) == 10 and cards[0]["mblog"]["isTop"] == 1
    assert cards[0]["itemid"] == f"{police.containerid}_-_{cards[0]['mblog']['mid']}"
    assert cards[0]["scheme"].endswith(f"/status/{cards[0]['mblog']['mid']}")
    seen = [c["mblog"]["mid"] for c in cards]
    info = first["data"]["cardlistInfo"]
    while "since_id" in info:
        following = api(site, f"{url}&since_id={info['since_id']}")
        seen += [c["mblog"]["mid"] for c in following["data"]["cards"]]
        info = following["data"]["cardlistInfo"]
    assert seen == [str(w.mid) for w in site.content.timeline(police.uid)]
    assert info["total"] == len(seen)
    oldest = min(int(m) for m in seen[1:])
    assert api(site, f"{url}&since_id={oldest - 1}") == {
        "ok": 0,
        "msg": "这里还没有内容",
        "data": {"cards": []},
    }


def test_long_text_retweets_and_comments(site: DemoSite) -> None:
    content = site.content
    weibos = {w.mid: (w, a) for a in content.weibo_accounts for w in content.timeline(a.uid)}
    long_mid = next(mid for mid, (w, _) in weibos.items() if len(w.text) > 140)
    owner = weibos[long_mid][1]
    cards = api(site, f"/api/container/getIndex?containerid={owner.containerid}")["data"]["cards"]
    mblog = next(c["mblog"] for c in cards if c["mblog"]["mid"] == str(long_mid))
    assert mblog["isLongText"] is True and mblog["text"].endswith(f'...<a href="/status/{long_mid}">全文</a>')
    full = api(site, f"/api/statuses/extend?id={long_mid}")
    long_weibo = weibos[long_mid][0]
    assert full["ok"] == 1 and full["data"]["longTextContent"].count("<br />") == long_weibo.text.count("\n")
    assert '<span class="url-icon"><img alt=[心]' in full["data"]["longTextContent"]

    retweet = next(w for w, _ in weibos.values() if w.retweet_of is not None)
    owner = weibos[retweet.mid][1]
    info: dict[str, Any] = {}
    found = None
    while found is None:
        suffix = f"&since_id={info['since_id']}" if "since_id" in info else ""
        data = api(site, f"/api/container/getIndex?containerid={owner.containerid}{suffix}")["data"]
        found = next((c["mblog"] for c in data["cards"] if c["mblog"]["mid"] == str(retweet.mid)), None)
        info = data["cardlistInfo"]
    assert found["retweeted_status"]["mid"] == str(retweet.retweet_of)

    commented = next(w for w, _ in weibos.values() if w.comments_count > 10)
    page1 = api(site, f"/api/comments/show?id={commented.mid}&page=1")
    assert page1["data"]["total_number"] == commented.comments_count and page1["data"]["max"] == 2
    page2 = api(site, f"/api/comments/show?id={commented.mid}&page=2")
    ids = [c["id"] for c in page1["data"]["data"] + page2["data"]["data"]]
    assert ids == [c.cid for c in content.comments(commented.mid)]
    assert api(site, f"/api/comments/show?id={commented.mid}&page=3")["ok"] == 0


def test_ground_truth_is_never_served(site: DemoSite) -> None:
    bodies = [
        fetch(site.base_url + p)[2]
        for p in (
            "/forum.php?mod=viewthread&tid=22",
            "/forum.php?mod=forumdisplay&fid=2",
            "/api/container/getIndex?containerid=1076036512340101",
        )
    ]
    for body in bodies:
        for word in (b"near_miss", b"dup_of", b"self_harm", b"label"):
            assert word not in body


def test_mutations_show_on_list_pages_like_discuz() -> None:
    with DemoSite(seed=7, threads=60) as site:
        content: DemoContent = site.content
        board = content.boards[0]
        rows = content.threads_in_board(board.fid)
        target = next(r for r in rows[5:] if not r.sticky)
        before = site.now
        pid = site.add_reply(target.tid, "我家楼下也是这样，明天一起去物业问问", author="香坊老李")
        assert site.now == before + timedelta(minutes=1)
        listing = page(site, f"/forum.php?mod=forumdisplay&fid={board.fid}")
        normal = listing.xpath('//tbody[starts-with(@id, "normalthread_")]')
        assert normal[0].get("id") == f"normalthread_{target.tid}"
        assert normal[0].xpath('.//td[@class="num"]/a/text()') == [str(target.replies + 1)]
        assert normal[0].xpath('./tr/td[@class="by"][2]/em/a/text()') == [discuz_absolute(site.now)]
        assert normal[0].xpath('./tr/td[@class="by"][2]/cite/a/text()') == ["香坊老李"]
        last_page = (target.replies + 1) // 10 + 1
        view = page(site, f"/forum.php?mod=viewthread&tid={target.tid}&page={last_page}")
        assert view.get_element_by_id(f"postmessage_{pid}").text_content() == "我家楼下也是这样，明天一起去物业问问"
        assert view.get_element_by_id(f"authorposton{pid}").text_content() == "发表于 刚刚"
        assert site.truth()[pid].label == "none"

        tid = site.add_thread(board.fid, "新开的早市在哪", "听说大庆路开了个早市，有人去过吗", label="none")
        listing = page(site, f"/forum.php?mod=forumdisplay&fid={board.fid}")
        assert listing.xpath('//tbody[starts-with(@id, "normalthread_")]')[0].get("id") == f"normalthread_{tid}"

        resident = next(a for a in content.weibo_accounts if a.kind == "citizen")
        mid = site.add_weibo(resident.uid, "今天的雪下得真大[哈哈]")
        cards = api(site, f"/api/container/getIndex?containerid={resident.containerid}")["data"]["cards"]
        assert cards[0]["mblog"]["mid"] == mid and cards[0]["mblog"]["created_at"] == "刚刚"
        assert int(mid) > max(w.mid for w in content.timeline(resident.uid))

        site.reset_request_counts()
        page(site, f"/forum.php?mod=viewthread&tid={target.tid}&page={last_page}")
        api(site, f"/api/container/getIndex?containerid={resident.containerid}")
        assert site.requests_served["/forum.php?mod=viewthread"] == 1
        assert site.requests_served["/api/container/getIndex"] == 1
        assert site.count_requests(f"/forum.php?mod=viewthread&tid={target.tid}&page=") == 1
        assert site.request_log()[0].startswith("/forum.php?mod=viewthread")
        with pytest.raises(KeyError, match="no thread"):
            site.add_reply(99_999, "?")


def test_unknown_pages_and_robots(site: DemoSite) -> None:
    status, _, body = fetch(site.base_url + "/forum.php?mod=viewthread&tid=99999")
    assert status == 404 and "指定的主题不存在" in body.decode("gb18030")
    status, _, body = fetch(site.base_url + "/robots.txt")
    assert status == 200 and body == b"User-agent: *\nDisallow: /admin/\n"
    assert fetch(site.base_url + "/admin/")[0] == 403
    redirect = urllib.request.Request(site.base_url + "/forum.php?mod=redirect&goto=findpost&ptid=22&pid=102103")
    with urllib.request.urlopen(redirect, timeout=10) as response:
        assert response.url.endswith("/forum.php?mod=viewthread&tid=22&page=1#pid102103")
