"""Site profiles: a forum no built-in spider knows, described in YAML instead of code.

A profile says where, on the site's pages, the things a forum crawl needs are: the threads on a
list page and its next page; on a thread page the posts, and in each post its id, author, time,
text and quoted text; and the thread page's next page. See `docs/crawlers.md` for how to write
one and `crawlers/profiles/*.yaml` for the shipped ones.

A selector is CSS (parsel's, with `::text` and `::attr(name)`), or XPath when it starts with `/`,
`./`, `(` or `xpath:`. A field is a selector, or a mapping `{select: SELECTOR, pattern: REGEX}`
whose regex's first group (or whole match) is taken from the selected text. Selectors run inside
their item (a list row, a post); `title` and `next_page` of a thread run on the whole page.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from parsel import Selector, SelectorList
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawlers.html_text import element_text, tidy_text
from crawlers.timeparse import SiteTimeError, parse_site_time

_XPATH_START = ("/", "./", "(", "xpath:")


class ProfileError(ValueError):
    """A site profile that is missing, not YAML, or does not fit the schema."""


def _is_xpath(selector: str) -> bool:
    return selector.startswith(_XPATH_START)


def select(scope: Selector, selector: str) -> SelectorList[Selector]:
    """Run a profile selector (CSS or XPath) inside `scope`."""
    if _is_xpath(selector):
        return scope.xpath(selector.removeprefix("xpath:"))
    return scope.css(selector)


class FieldRule(BaseModel):
    """Where a value is: a selector, and optionally a regex applied to the selected text."""

    model_config = ConfigDict(extra="forbid")

    select: str = Field(min_length=1)
    pattern: str | None = None

    @field_validator("select")
    @classmethod
    def _selector_compiles(cls, value: str) -> str:
        probe = Selector(text="<html><body></body></html>")
        try:
            select(probe, value)
        except Exception as exc:  # parsel raises several kinds for a bad expression
            raise ValueError(f"selector {value!r} does not parse: {exc}") from exc
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from exc
        return value

    def values(self, scope: Selector) -> list[str]:
        """Every value the rule finds in `scope` (element text, or the strings a selector returns)."""
        found = []
        for item in select(scope, self.select):
            root = item.root
            text = tidy_text(root) if isinstance(root, str) else tidy_text(" ".join(item.xpath(".//text()").getall()))
            if self.pattern is not None:
                match = re.search(self.pattern, text)
                if match is None:
                    continue
                text = match.group(1) if match.groups() else match.group(0)
            if text.strip():
                found.append(text.strip())
        return found

    def first(self, scope: Selector) -> str | None:
        values = self.values(scope)
        return values[0] if values else None


def _rule(value: Any) -> Any:
    return {"select": value} if isinstance(value, str) else value


class ListRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(description="one thread on a list page")
    link: FieldRule = Field(description="the thread's URL, inside the item")
    title: FieldRule | None = None
    replies: FieldRule | None = Field(None, description="reply count: a number in the text")
    last_post: FieldRule | None = Field(None, description="last post time")
    status: FieldRule | None = Field(None, description="any other text that changes with the thread (已回复)")
    sticky: str | None = Field(None, description="a selector that matches inside sticky items only")
    next_page: FieldRule | None = None
    rescan_pages: int = Field(
        1,
        ge=1,
        le=100,
        description="list pages read every pass even when they show nothing new: for lists ordered by "
        "creation, where an old thread changes in place instead of moving to the top",
    )

    @field_validator("link", "title", "replies", "last_post", "status", "next_page", mode="before")
    @classmethod
    def _as_rule(cls, value: Any) -> Any:
        return _rule(value)


class ThreadRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post: str = Field(description="one post (floor) on a thread page")
    id: FieldRule | None = Field(None, description="the post's id on the site (inside the post)")
    author: FieldRule | None = None
    time: FieldRule = Field(description="the post time (inside the post)")
    text: str = Field(description="the element holding the post's words (inside the post)")
    quote: str | None = Field(None, description="quoted text inside `text`, kept apart from the reply")
    skip: str | None = Field(
        None, description="elements inside `text` that are nobody's words (signatures, quote headers)"
    )
    floor: FieldRule | None = Field(None, description="the floor number, when the site prints one")
    title: FieldRule | None = Field(None, description="the thread title (on the page)")
    next_page: FieldRule | None = None

    @field_validator("id", "author", "time", "floor", "title", "next_page", mode="before")
    @classmethod
    def _as_rule(cls, value: Any) -> Any:
        return _rule(value)


class SiteProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    description: str = ""
    timezone: str = Field("Asia/Shanghai", description="zone of the times the site prints")
    time_formats: list[str] = Field(
        default_factory=list, description="strptime formats tried before the built-in site-time reader"
    )
    thread_id: str | None = Field(None, description="regex on the thread URL; its first group is the thread id")
    listing: ListRules = Field(alias="list", description="the thread list pages")
    thread: ThreadRules

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)") from exc
        return value

    @model_validator(mode="after")
    def _thread_id_compiles(self) -> SiteProfile:
        if self.thread_id is not None:
            try:
                re.compile(self.thread_id)
            except re.error as exc:
                raise ValueError(f"thread_id {self.thread_id!r} is not a valid regular expression: {exc}") from exc
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def read_time(self, text: str, *, now: datetime) -> datetime | None:
        """A post time: the profile's formats first, then the built-in reader (relative times too)."""
        cleaned = tidy_text(text)
        for fmt in self.time_formats:
            try:
                parsed = datetime.strptime(cleaned, fmt)
            except ValueError:
                continue
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)).astimezone(UTC)
        try:
            return parse_site_time(cleaned, now=now, tz=self.zone)
        except SiteTimeError:
            return None

    def text_of(self, post: Selector) -> tuple[str, str | None] | None:
        """A post's words and, apart, its quoted text; None when the post has no text element."""
        found = select(post, self.thread.text)
        if not found:
            return None
        root = found[0].root
        skipped = frozenset(e.root for e in select(found[0], self.thread.skip)) if self.thread.skip else frozenset()
        quotes = [q.root for q in select(found[0], self.thread.quote)] if self.thread.quote else []
        quote_text = "\n".join(element_text(q, skip=skipped) for q in quotes if not isinstance(q, str)) or None
        return element_text(root, skip=skipped | frozenset(quotes)), quote_text


def _lines(text: str) -> dict[tuple[str, ...], int]:
    """Line of every mapping key path in the YAML text, for errors that say where to look."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                lines[(*path, str(key.value))] = key.start_mark.line + 1
                walk(value, (*path, str(key.value)))

    with contextlib.suppress(yaml.YAMLError):  # unreadable YAML is reported by the loader itself
        root = yaml.compose(text)
        if root is not None:
            walk(root, ())
    return lines


def load_profile(path: Path) -> SiteProfile:
    """Read and validate a site profile; `ProfileError` names the file, field and line when wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the site profile ({exc.strerror or exc}).") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}. Fix the file.") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a site profile is a mapping with name, list and thread sections.")
    try:
        return SiteProfile.model_validate(data)
    except ValidationError as exc:
        lines = _lines(text)
        problems = []
        for error in exc.errors():
            loc = tuple(str(part) for part in error["loc"])
            if loc and loc[-1] == "select" and loc not in lines:
                loc = loc[:-1]  # written as the short form `field: SELECTOR`
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
            where = f" (line {line})" if line else ""
            problems.append(f"field {'.'.join(loc) or '(profile)'!r}{where}: {error['msg']}")
        raise ProfileError(f"{path}: " + "; ".join(problems) + ". Fix the profile and run again.") from exc
