"""Pages of a forum described by a site profile (`crawlers.site_profile`) to plain records."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

from parsel import Selector

from crawlers.site_profile import SiteProfile, select
from crawlers.traps import canonical_url

_INT = re.compile(r"\d+")


class NotProfilePage(ValueError):
    """A page on which the profile's selectors find nothing (a redesign, an error page)."""


@dataclass(frozen=True)
class ProfileRow:
    key: str
    url: str
    title: str | None
    sticky: bool
    replies: int | None
    last_post_at: datetime | None
    #: Everything on the row that changes when the thread does (reply count, last post, status).
    signature: str


@dataclass(frozen=True)
class ProfileListPage:
    rows: list[ProfileRow]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProfilePost:
    native_id: str | None
    floor: int | None
    author: str | None
    published_at: datetime
    text: str
    quote: str | None


@dataclass(frozen=True)
class ProfileThreadPage:
    title: str | None
    posts: list[ProfilePost]
    next_url: str | None
    problems: list[str] = field(default_factory=list)


def thread_key(profile: SiteProfile, url: str) -> str:
    """The thread's id: the profile's `thread_id` group on its URL, else a hash of the canonical URL."""
    if profile.thread_id and (match := re.search(profile.thread_id, url)):
        return match.group(1) if match.groups() else match.group(0)
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()[:16]


def _int(text: str | None) -> int | None:
    match = _INT.search(text or "")
    return int(match.group(0)) if match else None


def parse_profile_list(profile: SiteProfile, page: Selector, base_url: str, now: datetime) -> ProfileListPage:
    rules = profile.listing
    items = select(page, rules.item)
    if not items:
        raise NotProfilePage(f"the list selector {rules.item!r} finds no threads on the page")
    rows: list[ProfileRow] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        link = rules.link.first(item)
        if not link:
            problems.append(f"item {index}: no link ({rules.link.select!r})")
            continue
        url = urljoin(base_url, link)
        replies_text = rules.replies.first(item) if rules.replies else None
        last_text = rules.last_post.first(item) if rules.last_post else None
        status_text = rules.status.first(item) if rules.status else None
        rows.append(
            ProfileRow(
                key=thread_key(profile, url),
                url=url,
                title=rules.title.first(item) if rules.title else None,
                sticky=bool(rules.sticky and select(item, rules.sticky)),
                replies=_int(replies_text),
                last_post_at=profile.read_time(last_text, now=now) if last_text else None,
                signature="|".join(part or "" for part in (replies_text, last_text, status_text)),
            )
        )
    next_href = rules.next_page.first(page) if rules.next_page else None
    return ProfileListPage(rows, urljoin(base_url, next_href) if next_href else None, problems)


def parse_profile_thread(
    profile: SiteProfile, page: Selector, url: str, now: datetime, *, first_floor: int = 1
) -> ProfileThreadPage:
    rules = profile.thread
    blocks = select(page, rules.post)
    if not blocks:
        raise NotProfilePage(f"the post selector {rules.post!r} finds no posts on the page")
    posts: list[ProfilePost] = []
    problems: list[str] = []
    for index, block in enumerate(blocks):
        time_text = rules.time.first(block)
        published = profile.read_time(time_text, now=now) if time_text else None
        if published is None:
            problems.append(f"post {index + 1}: no readable time ({rules.time.select!r} gave {time_text!r})")
            continue
        words = profile.text_of(block)
        if words is None:
            problems.append(f"post {index + 1}: no text element ({rules.text!r})")
            continue
        floor_text = rules.floor.first(block) if rules.floor else None
        posts.append(
            ProfilePost(
                native_id=rules.id.first(block) if rules.id else None,
                floor=_int(floor_text) if floor_text else first_floor + index,
                author=rules.author.first(block) if rules.author else None,
                published_at=published,
                text=words[0],
                quote=words[1],
            )
        )
    next_href = rules.next_page.first(page) if rules.next_page else None
    return ProfileThreadPage(
        title=rules.title.first(page) if rules.title else None,
        posts=posts,
        next_url=urljoin(url, next_href) if next_href else None,
        problems=problems,
    )
