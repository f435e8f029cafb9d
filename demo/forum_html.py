"""Discuz! X3.2 pages: board index, thread list, thread view.

The markup follows the demo-site contract shared with the crawlers (see demo/README.md). Links are
relative (`forum.php?...`) so the same pages can be served under a fault prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from demo.clock import discuz_absolute, discuz_date, discuz_relative
from demo.model import Board, Floor, Thread, ThreadSummary

FORUM_NAME = "冰城香坊论坛"
THREADS_PER_PAGE = 20
FLOORS_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class BoardStats:
    board: Board
    threads: int
    posts: int
    last_post_at: datetime | None


def pages_for(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


def _text_html(text: str) -> str:
    # Discuz stores line breaks as "<br />\r\n".
    return "<br />\r\n".join(escape(line, quote=False) for line in text.split("\n"))


def _head(title: str, charset: str) -> str:
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset}" />\n'
        f"<title>{escape(title)} -  Powered by Discuz!</title>\n"
        '<meta name="generator" content="Discuz! X3.2" />\n'
        '<link rel="stylesheet" type="text/css" href="data/cache/style_1_common.css" />\n'
        '</head>\n<body id="nv_forum" class="pg_forumdisplay">\n'
        '<div id="hd"><div class="wp"><div class="hdc cl"><h2><a href="forum.php" title="'
        f'{FORUM_NAME}">{FORUM_NAME}</a></h2></div></div></div>\n'
    )


def _foot() -> str:
    return (
        '<div id="ft" class="wp cl"><div id="flk" class="y">'
        '<p><a href="forum.php?mod=misc&amp;action=showdarkroom">'
        '小黑屋</a><span class="pipe">|</span><strong><a href="forum.php">'
        f'{FORUM_NAME}</a></strong></p></div><div id="frt"><p>Powered by <strong>Discuz!</strong> '
        "<em>X3.2</em></p></div></div>\n</body>\n</html>\n"
    )


def _pager(base: str, page: int, pages: int) -> str:
    """Discuz's `div.pg`: current page in <strong>, a window of numbered links, `a.nxt` unless last."""
    if pages <= 1:
        return ""
    parts = ['<div class="pg">']
    if page > 1:
        parts.append(f'<a href="{base}&amp;page={page - 1}" class="prev">&nbsp;&nbsp;</a>')
    first, last = max(1, page - 4), min(pages, max(1, page - 4) + 9)
    if first > 1:
        parts.append(f'<a href="{base}&amp;page=1" class="first">1 ...</a>')
    for number in range(first, last + 1):
        if number == page:
            parts.append(f"<strong>{number}</strong>")
        else:
            parts.append(f'<a href="{base}&amp;page={number}">{number}</a>')
    if last < pages:
        parts.append(f'<a href="{base}&amp;page={pages}" class="last">... {pages}</a>')
    if page < pages:
        parts.append(f'<a href="{base}&amp;page={page + 1}" class="nxt">下一页</a>')
    parts.append("</div>")
    return "".join(parts)


def _space(uid: int) -> str:
    return f"home.php?mod=space&amp;uid={uid}"


def render_board_index(stats: Sequence[BoardStats], charset: str) -> str:
    rows = []
    for item in stats:
        link = f"forum.php?mod=forumdisplay&amp;fid={item.board.fid}"
        last = discuz_absolute(item.last_post_at) if item.last_post_at else "从未"
        rows.append(
            f'<td class="fl_g" width="33.3%">\n<div class="fl_icn_g"><a href="{link}">'
            f'<img src="static/image/common/forum.gif" alt="{escape(item.board.name)}" /></a></div>\n'
            f'<dl>\n<dt><a href="{link}">{escape(item.board.name)}</a></dt>\n'
            f"<dd><em>主题: {item.threads}</em>, <em>帖数: {item.posts}</em></dd>\n"
            f"<dd>{escape(item.board.description)}</dd>\n"
            f'<dd><a href="{link}" class="xi2">最后发表: {last}</a></dd>\n</dl>\n</td>'
        )
    grid = "".join(f'<tr class="fl_row">{"".join(rows[i : i + 3])}</tr>\n' for i in range(0, len(rows), 3))
    return (
        _head(FORUM_NAME, charset)
        + '<div id="wp" class="wp">\n<div id="ct" class="wp cl">\n<div class="mn">\n<div class="fl bm">\n'
        + '<div class="bm bmw flg cl">\n<div class="bm_h cl">'
        '<h2><a href="forum.php?gid=1">冰城社区</a></h2></div>\n'
        + '<div id="category_1" class="bm_c">\n<table cellspacing="0" cellpadding="0" class="fl_tb">\n'
        + grid
        + "</table>\n</div>\n</div>\n</div>\n</div>\n</div>\n</div>\n"
        + _foot()
    )


def _thread_row(summary: ThreadSummary, now: datetime) -> str:
    tid = summary.tid
    link = f"forum.php?mod=viewthread&amp;tid={tid}"
    kind = "stickthread" if summary.sticky else "normalthread"
    fresh = now - summary.last_post_at < timedelta(days=1)
    icon = "pin_1.gif" if summary.sticky else ("folder_new.gif" if fresh else "folder_common.gif")
    return (
        f'<tbody id="{kind}_{tid}">\n<tr>\n'
        f'<td class="icn"><a href="{link}" target="_blank">'
        f'<img src="static/image/common/{icon}" /></a></td>\n'
        f'<th class="{"new" if fresh else "common"}">\n'
        f'<a href="{link}" onclick="atarget(this)" class="s xst">{escape(summary.title)}</a>\n</th>\n'
        f'<td class="by">\n<cite><a href="{_space(summary.author.uid)}" c="1">'
        f"{escape(summary.author.name)}</a></cite>\n"
        f"<em><span>{discuz_date(summary.created_at)}</span></em>\n</td>\n"
        f'<td class="num"><a href="{link}" class="xi2">{summary.replies}</a><em>{summary.views}</em></td>\n'
        f'<td class="by">\n<cite><a href="{_space(summary.last_poster.uid)}" c="1">'
        f"{escape(summary.last_poster.name)}</a></cite>\n"
        f'<em><a href="forum.php?mod=redirect&amp;tid={tid}&amp;goto=lastpost#lastpost">'
        f"{discuz_absolute(summary.last_post_at)}</a></em>\n</td>\n</tr>\n</tbody>\n"
    )


def render_thread_list(
    board: Board, rows: Sequence[ThreadSummary], page: int, pages: int, now: datetime, charset: str
) -> str:
    base = f"forum.php?mod=forumdisplay&amp;fid={board.fid}"
    sticky = [s for s in rows if s.sticky]
    normal = [s for s in rows if not s.sticky]
    separator = (
        '<tbody id="separatorline">\n<tr class="ts"><td>&nbsp;</td><th>版块主题</th><td>&nbsp;</td>'
        "<td>&nbsp;</td><td>&nbsp;</td></tr>\n</tbody>\n"
        if sticky
        else ""
    )
    pager = _pager(base, page, pages)
    return (
        _head(f"{board.name} - {FORUM_NAME}", charset)
        + '<div id="wp" class="wp">\n<div id="pt" class="bm cl"><div class="z">'
        + f'<a href="forum.php">{FORUM_NAME}</a> <em>&rsaquo;</em> '
        f'<a href="{base}">{escape(board.name)}</a></div></div>\n' + '<div class="bm bml pbn"><div class="bm_h cl">'
        f'<h1 class="xs2"><a href="{base}">{escape(board.name)}</a></h1>'
        + f'</div><div class="bm_c">{escape(board.description)}</div></div>\n'
        + f'<div id="pgt" class="bm bw0 pgs cl"><span id="fd_page_top">{pager}</span></div>\n'
        + '<div id="threadlist" class="tl bm bmw">\n<div class="bm_c">\n<form method="post" name="moderate" '
        + f'id="moderate" action="forum.php?mod=topicadmin&amp;action=moderate&amp;fid={board.fid}">\n'
        + f'<table summary="forum_{board.fid}" cellspacing="0" cellpadding="0" id="threadlisttableid">\n'
        + "".join(_thread_row(s, now) for s in sticky)
        + separator
        + "".join(_thread_row(s, now) for s in normal)
        + "</table>\n</form>\n</div>\n</div>\n"
        + f'<div class="bm bw0 pgs cl"><span id="fd_page_bottom">{pager}</span></div>\n</div>\n'
        + _foot()
    )


def _time_html(floor: Floor, now: datetime) -> str:
    pid = floor.pid
    relative = discuz_relative(floor.posted_at, now)
    if relative is None:
        return f'<em id="authorposton{pid}">发表于 {discuz_absolute(floor.posted_at)}</em>'
    # Discuz shows recent times relative, sometimes with the exact time in a title attribute.
    if pid % 3:
        return (
            f'<em id="authorposton{pid}">发表于 <span title="{discuz_absolute(floor.posted_at)}">{relative}</span></em>'
        )
    return f'<em id="authorposton{pid}">发表于 {relative}</em>'


def _floor_html(floor: Floor, now: datetime) -> str:
    pid, tid = floor.pid, floor.tid
    number = "楼主" if floor.number == 1 else f"<em>{floor.number}</em><sup>#</sup>"
    quote = ""
    if floor.quote is not None:
        quote = (
            '<div class="quote"><blockquote><font size="2"><font color="#999999">'
            f"{escape(floor.quote.author)} 发表于 {discuz_absolute(floor.quote.posted_at)}</font></font>"
            "<br />"
            f"{_text_html(floor.quote.text)}</blockquote></div>"
        )
    return (
        f'<div id="post_{pid}">\n'
        f'<table id="pid{pid}" class="plhin" summary="pid{pid}" cellspacing="0" cellpadding="0">\n<tr>\n'
        f'<td class="pls" rowspan="2">\n<div class="pls favatar{pid}">\n<div class="pi">\n'
        f'<div class="authi"><a href="{_space(floor.author.uid)}" target="_blank" class="xw1">'
        f"{escape(floor.author.name)}</a></div>\n</div>\n</div>\n</td>\n"
        '<td class="plc">\n<div class="pi">\n<strong>'
        f'<a href="forum.php?mod=redirect&amp;goto=findpost&amp;ptid={tid}'
        f'&amp;pid={pid}" id="postnum{pid}">{number}</a></strong>\n'
        f'<div class="pti"><div class="authi">{_time_html(floor, now)}</div></div>\n</div>\n'
        f'<div class="pct"><div class="pcb"><div class="t_fsz">\n<table cellspacing="0" cellpadding="0"><tr>'
        f'<td class="t_f" id="postmessage_{pid}">{quote}{_text_html(floor.text)}</td></tr></table>\n'
        "</div></div></div>\n</td>\n</tr>\n</table>\n</div>\n"
    )


def render_thread_page(
    thread: Thread, board: Board, floors: Sequence[Floor], page: int, pages: int, now: datetime, charset: str
) -> str:
    base = f"forum.php?mod=viewthread&amp;tid={thread.tid}"
    pager = _pager(base, page, pages)
    return (
        _head(f"{thread.title} - {board.name} - {FORUM_NAME}", charset)
        + '<div id="wp" class="wp">\n<div id="pt" class="bm cl"><div class="z">'
        + f'<a href="forum.php">{FORUM_NAME}</a> <em>&rsaquo;</em> '
        + f'<a href="forum.php?mod=forumdisplay&amp;fid={board.fid}">{escape(board.name)}</a></div></div>\n'
        + f'<div id="pgt" class="pgs mbm cl">{pager}</div>\n'
        + '<div id="postlist" class="pl bm">\n<table cellspacing="0" cellpadding="0">'
        '<tr><td class="pls ptn pbn">' + '<div class="hm ptn"><span class="xg1">查看:</span> '
        f'<span class="xi1">{thread.summary.views}</span>'
        + '<span class="pipe">|</span><span class="xg1">回复:</span> '
        f'<span class="xi1">{thread.summary.replies}</span>'
        + '</div></td><td class="plc ptm pbn vwthd"><h1 class="ts">'
        + f'<span id="thread_subject">{escape(thread.title)}</span></h1></td></tr></table>\n'
        + "".join(_floor_html(f, now) for f in floors)
        + "</div>\n"
        + f'<div class="pgs mtm mbm cl">{pager}</div>\n</div>\n'
        + _foot()
    )


def render_message(title: str, message: str, charset: str) -> str:
    """Discuz's `showmessage` page (unknown thread or board)."""
    return (
        _head(title, charset) + '<div id="wp" class="wp"><div id="messagetext" class="alert_error">'
        f"<p>{escape(message)}</p></div></div>\n" + _foot()
    )
