"""m.weibo.cn-style JSON: profile card lists with cursor paging, long text, comments.

Shapes follow the real responses in ../shared/data/pages/weibo (cards, statuses/extend,
comments) and the demo-site contract in demo/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from demo.clock import weibo_created_at
from demo.model import Comment, User, Weibo, WeiboAccount

CARDS_PER_PAGE = 10
COMMENTS_PER_PAGE = 10
LONG_TEXT_CHARS = 140  # longer weibos are cut in the card list and read in full from statuses/extend
SHOWN_CHARS = 110
EXHAUSTED = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
NO_COMMENTS = {"ok": 0, "msg": "还没有人评论哦~快来抢沙发吧！"}

EMOTICONS: dict[str, str] = {
    "偷笑": "d_touxiao",
    "哈哈": "d_haha",
    "心": "l_xin",
    "赞": "d_zan",
    "怒": "d_nu",
    "泪": "d_lei",
    "doge": "d_doge",
    "允悲": "d_yunbei",
    "good": "h_good",
    "笑cry": "d_xiaoku",
    "抓狂": "d_zhuakuang",
}
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,6})\]")

WeiboLookup = Callable[[int], tuple[Weibo, WeiboAccount] | None]


def text_html(text: str) -> str:
    """Plain text to weibo HTML: `<br />` line breaks and emoticons as `span.url-icon` images."""

    def emoticon(match: re.Match[str]) -> str:
        name = match.group(1)
        image = EMOTICONS.get(name)
        if image is None:
            return match.group(0)
        return (
            f'<span class="url-icon"><img alt=[{name}] src="/emoticon/{image}.png" '
            'style="width:1em; height:1em;" /></span>'
        )

    return "<br />".join(_EMOTICON.sub(emoticon, escape(line, quote=False)) for line in text.split("\n"))


def is_long(weibo: Weibo) -> bool:
    return len(weibo.text) > LONG_TEXT_CHARS


def user_json(user: User | WeiboAccount) -> dict[str, Any]:
    uid = user.uid
    name = user.screen_name if isinstance(user, WeiboAccount) else user.name
    data: dict[str, Any] = {
        "id": uid,
        "screen_name": name,
        "profile_image_url": f"/avatar/{uid}.jpg",
        "profile_url": f"/u/{uid}?uid={uid}",
        "verified": False,
        "verified_type": -1,
    }
    if isinstance(user, WeiboAccount):
        data.update(
            verified=user.verified,
            verified_type=1 if user.verified else -1,
            description=user.description,
            followers_count=user.followers,
        )
    return data


def mblog_json(weibo: Weibo, account: WeiboAccount, now: datetime, lookup: WeiboLookup) -> dict[str, Any]:
    long = is_long(weibo)
    text = text_html(weibo.text)
    if long:
        text = text_html(weibo.text[:SHOWN_CHARS]) + f'...<a href="/status/{weibo.mid}">全文</a>'
    data: dict[str, Any] = {
        "created_at": weibo_created_at(weibo.created_at, now),
        "id": str(weibo.mid),
        "idstr": str(weibo.mid),
        "mid": str(weibo.mid),
        "can_edit": False,
        "text": text,
        "textLength": len(weibo.text) * 2,
        "source": "",
        "favorited": False,
        "isLongText": long,
        "user": user_json(account),
        "reposts_count": weibo.reposts_count,
        "comments_count": weibo.comments_count,
        "attitudes_count": weibo.attitudes_count,
        "pic_num": 0,
    }
    if weibo.pinned:
        data["isTop"] = 1
    if weibo.retweet_of is not None:
        original = lookup(weibo.retweet_of)
        if original is not None:
            data["retweeted_status"] = mblog_json(original[0], original[1], now, lookup)
    return data


def container_page(
    account: WeiboAccount,
    timeline: Sequence[Weibo],
    since_id: str | None,
    host: str,
    now: datetime,
    lookup: WeiboLookup,
) -> dict[str, Any]:
    """One page of a profile's cards. The cursor is the mid of the next card to show, so weibos
    posted meanwhile never shift the later pages."""
    pinned = [w for w in timeline if w.pinned]
    regular = [w for w in timeline if not w.pinned]
    if since_id is None:
        shown = pinned + regular[: CARDS_PER_PAGE - len(pinned)]
        rest = regular[CARDS_PER_PAGE - len(pinned) :]
    else:
        try:
            cursor = int(since_id)
        except ValueError:
            return EXHAUSTED
        remaining = [w for w in regular if w.mid <= cursor]
        if not remaining:
            return EXHAUSTED
        shown, rest = remaining[:CARDS_PER_PAGE], remaining[CARDS_PER_PAGE:]
    info: dict[str, Any] = {
        "containerid": account.containerid,
        "v_p": 42,
        "show_style": 1,
        "total": len(timeline),
    }
    if rest:
        info["since_id"] = rest[0].mid
    cards = [
        {
            "card_type": 9,
            "itemid": f"{account.containerid}_-_{w.mid}",
            "scheme": f"http://{host}/status/{w.mid}",
            "mblog": mblog_json(w, account, now, lookup),
        }
        for w in shown
    ]
    return {"ok": 1, "data": {"cardlistInfo": info, "cards": cards}}


def extend_payload(weibo: Weibo) -> dict[str, Any]:
    return {
        "ok": 1,
        "data": {
            "ok": 1,
            "longTextContent": text_html(weibo.text),
            "reposts_count": weibo.reposts_count,
            "comments_count": weibo.comments_count,
            "attitudes_count": weibo.attitudes_count,
        },
    }


def comments_page(comments: Sequence[Comment], page: int, now: datetime) -> dict[str, Any]:
    pages = -(-len(comments) // COMMENTS_PER_PAGE)
    if page < 1 or page > pages:
        return NO_COMMENTS
    shown = comments[(page - 1) * COMMENTS_PER_PAGE : page * COMMENTS_PER_PAGE]
    return {
        "ok": 1,
        "msg": "数据获取成功",
        "data": {
            "data": [
                {
                    "id": c.cid,
                    "created_at": weibo_created_at(c.created_at, now),
                    "source": "",
                    "user": user_json(c.user),
                    "text": text_html(c.text),
                    "like_counts": (c.cid // 7) % 40,
                    "liked": False,
                }
                for c in shown
            ],
            "total_number": len(comments),
            "max": pages,
        },
    }
