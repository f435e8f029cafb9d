"""The weibo spider on real m.weibo.cn JSON served locally: `../shared/data/pages/weibo/`.

`cards1.json` (an account's card list, cursor `page=2` next) is page 1; page 2 answers "no more"
the way the API does. `comments1.json` is the comment page of the account's newest weibo; the
others have none. The saved JSON has no dates with years ("06-14"): the server's clock (mid-June
2019, when it was saved) resolves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawlers.state import load_state
from tests.fixtures.crawl.crawling import crawl_entry, landed
from tests.fixtures.crawl.local_site import LocalSite, Page

pytestmark = pytest.mark.shared_data

SHANGHAI = timezone(timedelta(hours=8))
SAVED = datetime(2019, 6, 16, 12, 0, tzinfo=SHANGHAI)
CONTAINER = "1076031669879400"
NEWEST = "4383183661430868"
JSON = "application/json; charset=utf-8"


def weibo_dir() -> Path:
    path = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "weibo").resolve()
    if not (path / "cards1.json").exists():
        pytest.skip(f"../shared/data absent: {path} holds the real weibo JSON")
    return path


@pytest.fixture
def api() -> Iterator[LocalSite]:
    folder = weibo_dir()
    site = LocalSite(SAVED)
    site.route("/robots.txt", Page(b"User-agent: *\nAllow: /\n", "text/plain"))
    site.route(f"/api/container/getIndex?containerid={CONTAINER}", Page((folder / "cards1.json").read_bytes(), JSON))
    end = json.dumps({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}, ensure_ascii=False).encode()
    site.route(f"/api/container/getIndex?containerid={CONTAINER}&page=2", Page(end, JSON))
    site.route(f"/api/comments/show?id={NEWEST}&page=1", Page((folder / "comments1.json").read_bytes(), JSON))
    none = json.dumps({"ok": 0, "msg": "还没有人评论哦~快来抢沙发吧！"}, ensure_ascii=False).encode()
    site.route_prefix("/api/comments/show", lambda path: Page(none, JSON))
    site.start()
    yield site
    site.stop()


def test_real_cards_retweet_and_comments_then_nothing_new(tmp_path: Path, api: LocalSite) -> None:
    entry = {
        "id": "star",
        "kind": "weibo",
        "start_urls": [f"{api.base_url}/api/container/getIndex?containerid={CONTAINER}"],
    }
    first = crawl_entry(tmp_path, entry, "p1")
    assert first.ok, first.errors
    posts = landed(first)
    weibos = {p["native_id"]: p for p in posts if p["kind"] == "weibo"}
    assert len([p for p in weibos.values() if p["repost_of"] is None and p["native_id"] != NEWEST]) >= 9

    newest = weibos[NEWEST]
    assert newest["author"] == "Dear-迪丽热巴"
    assert newest["text"] == "搬完这块砖，就可以吃好吃的了[偷笑][偷笑][偷笑]"
    assert newest["published_at"] == "2019-06-13T16:00:00Z"  # "06-14": a date without a year, Beijing
    assert newest["reply_count"] == 95535

    # The retweet is its own post and references its original, which is landed too.
    (retweet,) = [p for p in weibos.values() if p["repost_of"]]
    assert retweet["native_id"] == "4383180406740606"
    assert retweet["text"] == "大家一起电影院约起来啊～～～"
    original_id = retweet["repost_of"].split(":", 1)[1]
    assert original_id in weibos and weibos[original_id]["author"]

    comments = [p for p in posts if p["kind"] == "comment"]
    assert {c["thread_id"] for c in comments} == {NEWEST}
    just_now = next(c for c in comments if c["native_id"] == "4383932071637949")
    assert just_now["text"] == "吃的完吗？要不我帮你解决一点儿[太开心]"
    assert just_now["published_at"] == "2019-06-16T04:00:00Z"  # "刚刚": the server's Date
    reply = next(c for c in comments if c["native_id"] == "4383931988671914")
    assert reply["text"] == "我乘着风有晴天路过" and reply["quote"] == "爱你哟 网页链接"

    state = load_state(tmp_path / "data", "star")
    assert state.containers[CONTAINER].max_mid == int(NEWEST)

    api.take_paths()
    second = crawl_entry(tmp_path, entry, "p2")
    assert second.ok and second.new_items == 0
    # One card page; comments only for weibos whose comment count grew (none did).
    assert sorted(api.take_paths()) == ["/api/container/getIndex?containerid=" + CONTAINER, "/robots.txt"]
