"""The sources file that points the crawlers at a running demo site."""

from __future__ import annotations

from pathlib import Path

import yaml

from demo.content import DemoContent


def demo_sources(base_url: str, content: DemoContent) -> dict[str, list[dict[str, object]]]:
    base = base_url.rstrip("/")
    return {
        "sources": [
            {
                "id": "demo-forum",
                "kind": "discuz",
                "start_urls": [f"{base}/forum.php"],
                "interval_s": 600,
                "jurisdiction_hint": "xf-branch",
                # Our own site on loopback: no need to be as gentle as with someone else's server.
                "concurrency": 8,
                "delay_s": 0,
            },
            {
                "id": "demo-weibo",
                "kind": "weibo",
                "start_urls": [
                    f"{base}/api/container/getIndex?containerid=107603{account.uid}"
                    for account in content.weibo_accounts
                ],
                "interval_s": 300,
                "jurisdiction_hint": "xf-branch",
                "concurrency": 8,
                "delay_s": 0,
            },
        ]
    }


def write_demo_sources(path: Path, base_url: str, content: DemoContent) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `patrol demo` for the demo site it started; regenerated on every start.\n"
        + yaml.safe_dump(demo_sources(base_url, content), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path
