"""Try a site profile on a saved page before crawling with it.

    python -m crawlers.profile_check PROFILE PAGE [--url URL]

PROFILE is a shipped profile's name or a YAML file; PAGE a saved list or thread page. Prints what
the profile finds: the threads of a list page (and its next page), or the posts of a thread page;
a page on which it finds neither says which selector came back empty.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parsel import Selector

from crawlers.encoding import decode_page
from crawlers.parsers.profile import NotProfilePage, parse_profile_list, parse_profile_thread
from crawlers.site_profile import ProfileError, load_profile
from crawlers.sources import resolve_profile
from crawlers.timeparse import SITE_TZ
from patrol.schema import utcnow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", help="a shipped profile's name or a profile YAML file")
    parser.add_argument("page", type=Path, help="a saved list or thread page")
    parser.add_argument("--url", default="http://example.invalid/", help="the page's URL (for relative links)")
    args = parser.parse_args(argv)
    try:
        profile = load_profile(resolve_profile(args.profile, Path.cwd()))
    except (ProfileError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    page = Selector(text=decode_page(args.page.read_bytes()).text)
    now = utcnow()
    problems: list[str] = []
    try:
        listing = parse_profile_list(profile, page, args.url, now)
    except NotProfilePage as exc:
        problems.append(f"as a list page: {exc}")
    else:
        for row in listing.rows:
            when = row.last_post_at.astimezone(SITE_TZ).isoformat() if row.last_post_at else "-"
            print(f"thread {row.key}{' (sticky)' if row.sticky else ''}: {row.title} | replies {row.replies} | {when}")
            print(f"  {row.url}")
        print(f"next page: {listing.next_url}")
        for problem in listing.problems:
            print(f"problem: {problem}")
        return 0
    try:
        thread = parse_profile_thread(profile, page, args.url, now)
    except NotProfilePage as exc:
        problems.append(f"as a thread page: {exc}")
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"title: {thread.title}")
    for post in thread.posts:
        print(f"#{post.floor} id={post.native_id} {post.author} {post.published_at.astimezone(SITE_TZ).isoformat()}")
        if post.quote:
            print(f"  quote: {post.quote[:80]}")
        print(f"  {post.text[:200]}")
    print(f"next page: {thread.next_url}")
    for problem in thread.problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
