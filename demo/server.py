"""The demo site over HTTP: a Discuz! X3.2 forum (GBK), an m.weibo.cn-style JSON API, and fault
endpoints, served from a background thread by `ThreadingHTTPServer`.

    with DemoSite(threads=60) as site:
        site.base_url                      # http://127.0.0.1:PORT
        site.add_reply(12, "楼主说得对")    # the list page now shows one more reply
        site.count_requests("/forum.php?mod=viewthread")
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo.content import DemoContent
from demo.faults import FAULT_FORUM_THREADS, SLOW_HOLD_S, garbage_bytes, not_html_bytes
from demo.forum_html import (
    FLOORS_PER_PAGE,
    FORUM_NAME,
    THREADS_PER_PAGE,
    pages_for,
    render_board_index,
    render_message,
    render_thread_list,
    render_thread_page,
)
from demo.model import NO_RISK, PostTruth
from demo.state import SiteState
from demo.weibo_json import comments_page, container_page, extend_payload, text_html

_REQUEST_LOG_SIZE = 100_000
_ROBOTS = "User-agent: *\nDisallow: /admin/\n"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    hold: bool = False  # /fault/slow: keep the client waiting
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ForumView:
    """How a forum is served: the real one (GBK), or a small fault variant of it."""

    prefix: str
    encoding: str = "gbk"
    declared: str = "gbk"
    thread_limit: int | None = None  # fault forums: only the first board's first N threads
    garbage: bool = False


MAIN_FORUM = ForumView("")
FAULT_FORUMS = {
    "garbage": ForumView("/fault/garbage", thread_limit=FAULT_FORUM_THREADS["garbage"], garbage=True),
    "lying-charset": ForumView(
        "/fault/lying-charset",
        encoding="utf-8",
        declared="gb2312",
        thread_limit=FAULT_FORUM_THREADS["lying-charset"],
    ),
}


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8")


def _text(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), content_type)


def _int_arg(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


class DemoApp:
    """Routes a request to a response; knows nothing about sockets, so it is easy to test."""

    def __init__(self, state: SiteState, stopping: threading.Event) -> None:
        self.state = state
        self.stopping = stopping
        self._lock = threading.Lock()
        self.requests_served: Counter[str] = Counter()
        self.request_log: deque[str] = deque(maxlen=_REQUEST_LOG_SIZE)

    def count(self, route: str, target: str) -> None:
        with self._lock:
            self.requests_served[route] += 1
            self.request_log.append(target)

    def respond(self, target: str, host: str) -> tuple[str, Response]:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == "/robots.txt":
            return path, _text(_ROBOTS)
        if path in ("/", "/index.html"):
            return "/", self._landing(host)
        if path == "/forum.php":
            return self._forum(MAIN_FORUM, query)
        if path.startswith("/api/"):
            return path, self._api(path, query, host)
        if path.startswith("/status/"):
            return "/status", self._status_page(path.removeprefix("/status/"))
        if path.startswith("/fault/"):
            return self._fault(path, query)
        if path.startswith("/admin"):
            return "/admin", _text("Forbidden", 403)
        return "other", _text(f"404 Not Found: {path}", 404)

    # ---- forum ----------------------------------------------------------------------------------

    def _forum(self, view: ForumView, query: dict[str, list[str]]) -> tuple[str, Response]:
        mod = (query.get("mod") or ["index"])[0]
        route = f"{view.prefix}/forum.php" + (f"?mod={mod}" if mod != "index" else "")
        if mod == "forumdisplay":
            return route, self._thread_list(view, _int_arg(query, "fid", 0) or 0, _int_arg(query, "page", 1) or 1)
        if mod == "viewthread":
            return route, self._thread_page(view, _int_arg(query, "tid", 0) or 0, _int_arg(query, "page", 1) or 1)
        if mod == "redirect":
            return route, self._redirect(view, query)
        stats = self.state.board_stats()
        if view.thread_limit is not None:
            stats = stats[:1]
        return route, self._html(view, render_board_index(stats, view.declared))

    def _html(self, view: ForumView, page: str, status: int = 200) -> Response:
        body = page.encode(view.encoding, errors="xmlcharrefreplace")
        return Response(status, body, f"text/html; charset={view.declared}")

    def _missing(self, view: ForumView, message: str) -> Response:
        return self._html(view, render_message("提示信息", message, view.declared), 404)

    def _visible_threads(self, view: ForumView, fid: int) -> list[Any] | None:
        try:
            rows = self.state.board_threads(fid)
        except KeyError:
            return None
        if view.thread_limit is None:
            return rows
        if fid != self.state.content.boards[0].fid:
            return None
        return [row for row in rows if not row.sticky][: view.thread_limit]

    def _thread_list(self, view: ForumView, fid: int, page: int) -> Response:
        rows = self._visible_threads(view, fid)
        if rows is None:
            return self._missing(view, "抱歉，指定的版块不存在")
        board = self.state.content.board(fid)
        sticky = [r for r in rows if r.sticky]
        normal = [r for r in rows if not r.sticky]
        pages = pages_for(len(normal), THREADS_PER_PAGE)
        page = min(max(1, page), pages)
        shown = (sticky if page == 1 else []) + normal[(page - 1) * THREADS_PER_PAGE : page * THREADS_PER_PAGE]
        return self._html(view, render_thread_list(board, shown, page, pages, self.state.now, view.declared))

    def _thread_page(self, view: ForumView, tid: int, page: int) -> Response:
        if view.thread_limit is not None:
            allowed = [row.tid for row in self._visible_threads(view, self.state.content.boards[0].fid) or []]
            if tid not in allowed:
                return self._missing(view, "抱歉，指定的主题不存在或已被删除或正在被审核")
            if view.garbage and allowed.index(tid) < 2:
                body = garbage_bytes(tid) if allowed.index(tid) == 0 else not_html_bytes(tid)
                return Response(200, body, "text/html; charset=gbk")
        thread = self.state.thread(tid)
        if thread is None:
            return self._missing(view, "抱歉，指定的主题不存在或已被删除或正在被审核")
        pages = pages_for(len(thread.floors), FLOORS_PER_PAGE)
        page = min(max(1, page), pages)  # Discuz shows the last page for a page past the end
        floors = thread.floors[(page - 1) * FLOORS_PER_PAGE : page * FLOORS_PER_PAGE]
        board = self.state.content.board(thread.summary.fid)
        html = render_thread_page(thread, board, floors, page, pages, self.state.now, view.declared)
        return self._html(view, html)

    def _redirect(self, view: ForumView, query: dict[str, list[str]]) -> Response:
        goto = (query.get("goto") or [""])[0]
        tid = _int_arg(query, "ptid") or _int_arg(query, "tid") or 0
        thread = self.state.thread(tid)
        if thread is None:
            return self._missing(view, "抱歉，指定的主题不存在或已被删除或正在被审核")
        if goto == "findpost":
            pid = _int_arg(query, "pid", 0)
            index = next((i for i, f in enumerate(thread.floors) if f.pid == pid), None)
            if index is None:
                return self._missing(view, "抱歉，指定的帖子不存在")
        else:
            index, pid = len(thread.floors) - 1, thread.floors[-1].pid
        page = index // FLOORS_PER_PAGE + 1
        location = f"{view.prefix}/forum.php?mod=viewthread&tid={tid}&page={page}#pid{pid}"
        return Response(302, b"", "text/html; charset=gbk", headers=[("Location", location)])

    # ---- weibo ----------------------------------------------------------------------------------

    def _api(self, path: str, query: dict[str, list[str]], host: str) -> Response:
        if path == "/api/container/getIndex":
            containerid = (query.get("containerid") or [""])[0]
            account = next((a for a in self.state.content.weibo_accounts if a.containerid == containerid), None)
            if account is None:
                return _json({"ok": 0, "msg": f"containerid {containerid!r} 不存在"})
            since_values = query.get("since_id")
            since_id = since_values[0] if since_values else None
            timeline = self.state.timeline(account.uid)
            return _json(container_page(account, timeline, since_id, host, self.state.now, self.state.weibo))
        if path in ("/api/statuses/extend", "/api/comments/show"):
            mid = _int_arg(query, "id")
            found = self.state.weibo(mid) if mid is not None else None
            if found is None:
                return _json({"ok": 0, "msg": "微博不存在或暂无查看权限"})
            if path == "/api/statuses/extend":
                return _json(extend_payload(found[0]))
            page = _int_arg(query, "page", 1) or 1
            return _json(comments_page(self.state.comments(found[0].mid), page, self.state.now))
        return _json({"ok": 0, "msg": "接口不存在"}, 404)

    def _status_page(self, mid_text: str) -> Response:
        found = self.state.weibo(int(mid_text)) if mid_text.isdigit() else None
        if found is None:
            return _text("微博不存在", 404, "text/html; charset=utf-8")
        weibo, account = found
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博正文</title></head><body>'
            f'<div class="weibo-main"><h3>{escape(account.screen_name)}</h3>'
            f'<div class="weibo-text">{text_html(weibo.text)}</div></div></body></html>'
        )
        return _text(page, content_type="text/html; charset=utf-8")

    # ---- faults ---------------------------------------------------------------------------------

    def _fault(self, path: str, query: dict[str, list[str]]) -> tuple[str, Response]:
        _, _, rest = path.partition("/fault/")
        kind, _, tail = rest.partition("/")
        if kind in FAULT_FORUMS:
            view = FAULT_FORUMS[kind]
            if tail == "forum.php":
                return self._forum(view, query)
            return f"/fault/{kind}", self._missing(view, "页面不存在")
        if kind == "api" and tail == "empty":
            return "/fault/api/empty", Response(200, b"", "application/json; charset=utf-8")
        if kind == "api" and tail == "emptyjson":
            return "/fault/api/emptyjson", Response(200, b"{}", "application/json; charset=utf-8")
        if kind == "status":
            code = int(tail) if tail.isdigit() and 400 <= int(tail) <= 599 else 500
            return "/fault/status", _text(f"{code} demo fault", code)
        if kind == "slow":
            return "/fault/slow", Response(504, b"gave up waiting\n", "text/plain; charset=utf-8", hold=True)
        return "/fault", _text(f"404 Not Found: {path}", 404)

    def _landing(self, host: str) -> Response:
        accounts = "".join(
            f'<li>{escape(a.screen_name)}: <a href="/api/container/getIndex?containerid={a.containerid}">'
            f"/api/container/getIndex?containerid={a.containerid}</a></li>"
            for a in self.state.content.weibo_accounts
        )
        page = (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{FORUM_NAME} demo</title></head><body>'
            f"<h1>Demo site</h1><p>A local stand-in for the sites the patrol crawls, at http://{escape(host)}.</p>"
            f'<h2>Forum (Discuz! X3.2, GBK)</h2><p><a href="/forum.php">/forum.php</a></p>'
            f"<h2>Weibo-style API</h2><ul>{accounts}</ul>"
            '<h2>Faults</h2><ul><li><a href="/fault/garbage/forum.php">/fault/garbage/forum.php</a></li>'
            '<li><a href="/fault/lying-charset/forum.php">/fault/lying-charset/forum.php</a></li>'
            "<li>/fault/api/empty, /fault/api/emptyjson, /fault/status/500, "
            "/fault/slow</li></ul></body></html>"
        )
        return _text(page, content_type="text/html; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    server_version = "nginx"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        app = self.server.app
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_port}"
        try:
            route, response = app.respond(self.path, host)
        except Exception:  # a bug in the demo site must not look like a network fault
            traceback.print_exc(file=sys.stderr)
            route, response = "error", _text("500 demo site error (see its stderr)", 500)
        app.count(route, self.path)
        if response.hold and app.stopping.wait(SLOW_HOLD_S):
            return  # the site is stopping: drop the connection unanswered
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header is the site clock, so relative times ("3 小时前") resolve consistently.
        return format_datetime(self.server.app.state.now.astimezone(UTC), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: DemoApp, verbose: bool) -> None:
        self.app = app
        self.verbose = verbose
        super().__init__(address, _Handler)


class DemoSite:
    """The demo site, served from a background thread.

    Pass `content` to serve an existing `DemoContent`; otherwise one is built from `seed`,
    `threads` and `now` (the site clock; default a fixed time so runs are reproducible).
    """

    def __init__(
        self,
        content: DemoContent | None = None,
        *,
        seed: int = 7,
        threads: int = 60,
        now: datetime | None = None,
        verbose: bool = False,
    ) -> None:
        self.content = content if content is not None else DemoContent(seed=seed, threads=threads, now=now)
        self.state = SiteState(self.content)
        self._stopping = threading.Event()
        self.app = DemoApp(self.state, self._stopping)
        self._verbose = verbose
        self._server: _DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the base URL (no trailing slash). Port 0 picks a free port."""
        if self._server is not None:
            raise RuntimeError(f"the demo site is already serving at {self._base_url}; call stop() first")
        self._stopping.clear()
        try:
            server = _DemoHTTPServer((host, port), self.app, self._verbose)
        except OSError as exc:
            raise OSError(f"cannot serve the demo site on {host}:{port}: {exc}; pick another --port") from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-site", daemon=True
        )
        self._thread.start()
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self._base_url = f"http://{shown}:{server.server_port}"
        return self._base_url

    def stop(self) -> None:
        """Stop serving; requests held by /fault/slow are released at once."""
        self._stopping.set()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoSite:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None or self._server is None:
            raise RuntimeError("the demo site is not serving: call start() or use it as a context manager")
        return self._base_url

    # ---- clock and mutations --------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.state.now

    def advance_clock(self, delta: timedelta) -> datetime:
        return self.state.advance_clock(delta)

    def add_reply(
        self,
        tid: int,
        text: str,
        author: str = "热心网友",
        *,
        quote_pid: int | None = None,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> str:
        """Append a floor to thread `tid` at the site clock; returns its pid."""
        return self.state.add_reply(tid, text, author, quote_pid=quote_pid, label=label, near_miss=near_miss)

    def add_thread(
        self,
        fid: int,
        title: str,
        text: str,
        author: str = "新来的邻居",
        *,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> int:
        """Open a thread on board `fid` at the site clock; returns its tid."""
        return self.state.add_thread(fid, title, text, author, label=label, near_miss=near_miss)

    def add_weibo(
        self,
        uid: int,
        text: str,
        *,
        retweet_of: str | None = None,
        label: str = NO_RISK,
        near_miss: bool = False,
    ) -> str:
        """Post a weibo as account `uid` at the site clock; returns its mid."""
        return self.state.add_weibo(uid, text, retweet_of=retweet_of, label=label, near_miss=near_miss)

    def truth(self) -> dict[str, PostTruth]:
        return self.state.truth()

    # ---- request accounting ---------------------------------------------------------------------

    @property
    def requests_served(self) -> Counter[str]:
        """Requests per route, e.g. "/forum.php?mod=viewthread", "/api/container/getIndex"."""
        with self.app._lock:
            return Counter(self.app.requests_served)

    def request_log(self) -> list[str]:
        """Every request target served, oldest first (path and query as the client sent them)."""
        with self.app._lock:
            return list(self.app.request_log)

    def count_requests(self, prefix: str) -> int:
        """Requests whose target starts with `prefix`, e.g. "/forum.php?mod=viewthread&tid=12"."""
        return sum(1 for target in self.request_log() if target.startswith(prefix))

    def reset_request_counts(self) -> None:
        with self.app._lock:
            self.app.requests_served.clear()
            self.app.request_log.clear()

    # ---- sources --------------------------------------------------------------------------------

    def source_entries(self) -> list[dict[str, Any]]:
        """Entries for a sources.yaml that crawls this site (forum and every weibo account)."""
        base = self.base_url
        containers = [f"{base}/api/container/getIndex?containerid={a.containerid}" for a in self.content.weibo_accounts]
        return [
            {
                "id": "demo_forum",
                "kind": "discuz",
                "start_urls": [f"{base}/forum.php"],
                "jurisdiction_hint": "xf-branch",
            },
            {"id": "demo_weibo", "kind": "weibo", "start_urls": containers, "jurisdiction_hint": "xf-branch"},
        ]
