"""`patrol report weekly` on 100k demo posts: wall time of the command, in a fresh process.

    python -m bench.report [--posts 100000] [--keep-dates]

Preparation (not timed): the demo site's forum floors analysed by the real NLP pipeline (as
`bench.index` does), stored in SQLite, flagged by the real flag stage, a share of the report week's
review items dismissed or escalated and completed through the real workflow functions, and one
crawl run a day per source in the ledger. By default the posts' times are spread over the report's
window (its week and the four before it, the most a report reads) in their order, evenly, so
every post is in play and a fifth of them fall in the report's week; with
--keep-dates they keep the demo's own dates (mostly older than the window).

Then `patrol report weekly --week <W> --format html,pdf,xlsx` runs as a subprocess and is timed end
to end (interpreter start and imports included). Figures go to bench/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.index import analyse_demo, demo_posts
from patrol.config import Settings, load_settings
from patrol.ledger import Ledger
from patrol.reports.week import REPORT_ZONE, ReportWeek
from patrol.schema import AnalysedPost, CrawlReport
from patrol.store.sqlite import SqlitePostStore
from patrol.thresholds import load_thresholds

RESULTS = Path(__file__).resolve().parent / "results" / "report.json"
WEEK = ReportWeek(2026, 48)
LIMIT_S = 60.0


def spread_over_window(posts: list[AnalysedPost], week: ReportWeek) -> list[AnalysedPost]:
    """Keep the posts' order, space them evenly over the report's five-week window (the demo's own
    dates cluster in its last weeks, with a long thin tail of old threads)."""
    ordered = sorted(posts, key=lambda p: (p.post.published_at, p.post.id))
    start, end = week.shifted(-4).start_utc, week.end_utc
    step = (end - start) / max(1, len(ordered))
    moved = []
    for n, item in enumerate(ordered):
        at = start + step * n
        post = item.post.model_copy(update={"published_at": at, "fetched_at": at + timedelta(minutes=5)})
        moved.append(AnalysedPost(post=post, analysis=item.analysis))
    return moved


def store_posts(settings: Settings, posts: list[AnalysedPost]) -> None:
    store = SqlitePostStore(settings.sqlite_path, thresholds=load_thresholds(settings.thresholds_file))
    try:
        for offset in range(0, len(posts), 2000):
            store.upsert(posts[offset : offset + 2000])
    finally:
        store.close()


def flag_and_work(settings: Settings, posts: list[AnalysedPost], week: ReportWeek, worked: int) -> dict[str, int]:
    from sqlalchemy import select

    from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE
    from patrol.workflow import items as review
    from patrol.workflow import tasks as field
    from patrol.workflow.actors import Actor, Role
    from patrol.workflow.db import WorkflowDb
    from patrol.workflow.flagging import open_review_items
    from patrol.workflow.models import ReviewItem
    from patrol.workflow.policy import WorkflowFiles, load_workflow_policy

    thresholds = load_thresholds(settings.thresholds_file)
    policy = load_workflow_policy(WorkflowFiles.from_settings(settings))
    risky = sorted((p for p in posts if thresholds.flagged(p.analysis.risk_scores)), key=lambda p: p.post.published_at)
    db = WorkflowDb(settings.workflow_url)
    officer = Actor("bench-officer", Role.PATROL_OFFICER)
    outcomes = ("confirmed", "unfounded", "referred", "unreachable")
    counts = {"flagged_posts": len(risky), "dismissed": 0, "escalated": 0}
    try:
        for offset in range(0, len(risky), 500):
            chunk = risky[offset : offset + 500]
            with db.session() as s:
                open_review_items(
                    s,
                    chunk,
                    thresholds,
                    max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
                    now=chunk[-1].post.published_at,
                )
        with db.session() as s:
            items = s.execute(
                select(ReviewItem.id, ReviewItem.created_at)
                .where(ReviewItem.created_at >= week.start_utc, ReviewItem.created_at < week.end_utc)
                .order_by(ReviewItem.created_at, ReviewItem.id)
            ).all()
        for n, (item_id, created) in enumerate(items[:worked]):
            at = created + timedelta(minutes=10)
            with db.session() as s:
                review.claim_item(s, policy, officer, item_id, now=at)
                if n % 2:
                    review.dismiss_item(s, policy, officer, item_id, reason="false_positive", note=None, now=at)
                    counts["dismissed"] += 1
                    continue
                task = review.escalate_item(s, policy, officer, item_id, now=at, unit="xf-heping")
            unit = Actor("heping-desk", Role.FIELD_UNIT, "xf-heping")
            with db.session() as s:
                field.accept_task(s, unit, task.id, now=at + timedelta(minutes=5 + n % 40))
                field.start_task(s, unit, task.id, now=at + timedelta(minutes=50 + n % 40))
                field.complete_task(
                    s,
                    unit,
                    task.id,
                    outcome=outcomes[n % 4],
                    note=None,
                    now=at + timedelta(minutes=120 + 7 * (n % 50)),
                )
            counts["escalated"] += 1
    finally:
        db.dispose()
    return counts


def record_runs(settings: Settings, week: ReportWeek) -> None:
    ledger = Ledger(settings.sqlite_path)
    try:
        for day in week.days:
            started = datetime(day.year, day.month, day.day, 9, tzinfo=REPORT_ZONE).astimezone(UTC)
            ledger.record_crawl(
                CrawlReport(
                    source_id="demo-forum",
                    pass_id=f"bench-{day}",
                    started_at=started,
                    finished_at=started + timedelta(minutes=3),
                    items=500,
                    new_items=400,
                )
            )
    finally:
        ledger.close()


def report_command() -> list[str]:
    """The installed `patrol report weekly` when the command group is mounted, else the same typer app."""
    patrol = Path(sys.executable).with_name("patrol")
    if patrol.exists():
        probe = subprocess.run([str(patrol), "report", "--help"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return [str(patrol), "report"]
    return [sys.executable, "-c", "from patrol.commands.report import app; app()"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--keep-dates", action="store_true", help="keep the demo's own post dates")
    parser.add_argument("--keep", type=Path, help="copy the built report here")
    args = parser.parse_args()

    started = time.perf_counter()
    analysed, _, corpus = analyse_demo(demo_posts(args.posts))
    if not args.keep_dates:
        analysed = spread_over_window(analysed, WEEK)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = load_settings(data_dir=data_dir)
        settings.ensure_dirs()
        store_posts(settings, analysed)
        work = flag_and_work(settings, analysed, WEEK, worked=300)
        record_runs(settings, WEEK)
        prepare_s = time.perf_counter() - started
        print(f"prepared {len(analysed)} posts ({corpus}) in {prepare_s:.0f} s; workflow: {work}")

        command = [
            *report_command(),
            "weekly",
            "--week",
            WEEK.label,
            "--format",
            "html,pdf,xlsx",
            "--data-dir",
            str(data_dir),
            "--json",
        ]
        env = os.environ | {"PATROL_DATA_DIR": str(data_dir)}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        wall_s = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"report failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        record: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{") :])
        if args.keep:
            shutil.copytree(record["directory"], args.keep, dirs_exist_ok=True)

    in_window = sum(1 for p in analysed if WEEK.shifted(-4).start <= p.post.published_at < WEEK.end)
    figures = {
        "posts_in_store": len(analysed),
        "posts_in_report_window": in_window,
        "posts_in_report_week": record["headline"]["posts"]["this_week"],
        "corpus": corpus,
        "workflow": work,
        "command": " ".join(command[:3]) + " weekly --week ... --format html,pdf,xlsx",
        "wall_s": round(wall_s, 1),
        "build_s_in_process": record["seconds"],
        "build_steps_s": record.get("timings", {}),
        "limit_s": LIMIT_S,
        "under_limit": wall_s < LIMIT_S,
        "files": {f["format"]: f["bytes"] for f in record["files"]},
        "prepare_s": round(prepare_s, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, CPython {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.1f} at the end",
    }
    print(
        f"patrol report weekly: {wall_s:.1f} s wall ({record['seconds']:.1f} s building) over"
        f" {in_window} posts in the window, {figures['posts_in_report_week']} in the week"
        f" -> {'PASS' if wall_s < LIMIT_S else 'FAIL'} (limit {LIMIT_S:.0f} s)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
