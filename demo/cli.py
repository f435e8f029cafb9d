"""`python -m demo`: serve the demo site in the foreground until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from types import FrameType

import yaml

from demo.clock import DEFAULT_NOW, SITE_TZ
from demo.server import DemoSite


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Serve the bundled demo site.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default 8080)")
    parser.add_argument("--threads", type=int, default=60, help="forum threads to generate (default 60)")
    parser.add_argument("--seed", type=int, default=7, help="content seed; same seed, same site (default 7)")
    parser.add_argument(
        "--fixed-clock",
        action="store_true",
        help=f"use the fixed test clock ({DEFAULT_NOW:%Y-%m-%d %H:%M %z}) instead of the real time",
    )
    parser.add_argument(
        "--print-sources", action="store_true", help="print a sources.yaml for this site before serving"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        print("--threads must be at least 1", file=sys.stderr)
        return 2
    now = DEFAULT_NOW if args.fixed_clock else datetime.now(SITE_TZ).replace(microsecond=0)
    site = DemoSite(seed=args.seed, threads=args.threads, now=now, verbose=args.verbose)
    try:
        url = site.start(args.host, args.port)
    except OSError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.print_sources:
        print(yaml.safe_dump({"sources": site.source_entries()}, allow_unicode=True, sort_keys=False), end="")
    print(f"demo site serving at {url}/ (forum: {url}/forum.php); Ctrl-C to stop", flush=True)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        site.stop()
    print("demo site stopped", flush=True)
    return 0
