"""`patrol backup` / `patrol restore` round trip: databases (copied online while a writer works), landing
files, models, evidence and configuration come back identical, and a damaged archive is refused."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrol.commands.ops import app
from patrol.config import DEFAULTS_DIR, Settings, load_settings
from patrol.ledger import batch_id_of
from patrol.ops.backup import BackupError, create_backup, read_manifest, restore_backup
from patrol.runtime import Runtime
from patrol.schema import AnalysedPost
from patrol.thresholds import Thresholds
from patrol.workflow.audit import verify_chain
from patrol.workflow.flagging import open_review_items
from patrol.workflow.models import AuditHead, ReviewItem
from tests.conftest import BASE_TIME, make_analysed


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _posts(prefix: str, count: int) -> list[AnalysedPost]:
    posts = []
    for n in range(count):
        scores = {"fraud": 0.9} if n % 4 == 0 else {}
        text = f"冒充公检法 转账 {prefix}{n}" if scores else f"今天 天气 {prefix}{n}"
        posts.append(
            make_analysed(f"{prefix}{n}", text, text.split(), scores=scores, simhash=n + 1, minutes=n)
        )
    return posts


@pytest.fixture
def live(tmp_path: Path) -> Settings:
    """A data folder as a running patrol leaves it, with its own sources file."""
    sources = tmp_path / "etc" / "sources.yaml"
    sources.parent.mkdir()
    sources.write_text((DEFAULTS_DIR / "sources.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", sources_file=sources)
    runtime = Runtime(settings)
    posts = _posts("p", 40)
    runtime.store.upsert(posts)
    with runtime.workflow.session() as session:
        open_review_items(session, posts, Thresholds(), max_distance=0, now=BASE_TIME)
    landing = settings.landing_dir / "test-forum" / "p1-0001.jsonl"
    landing.parent.mkdir(parents=True)
    landing.write_text("".join(p.post.model_dump_json() + "\n" for p in posts), encoding="utf-8")
    runtime.ledger.register(landing)
    runtime.ledger.mark(batch_id_of(landing), "analysed", posts=len(posts))
    runtime.close()
    data = settings.data_dir
    for rel, content in {
        "models/risk/model.safetensors": b"\x00weights" * 1000,
        "models/risk/card.json": b'{"name": "risk"}',
        "state/test-forum.json": b'{"source_id": "test-forum"}',
        "state/report-author-salt": b"s" * 32,
        "evidence/ab/" + "ab" * 32: b"photo",
        "reports/weekly/2026-W48/report.html": b"<html></html>",
        "reports/20261128T000000Z-abcdef/test-forum.log": b"crawl log",
        "locks/source-test-forum.lock": b"",
    }.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(content)
    console = sqlite3.connect(data / "console.db")
    with console:
        console.execute("CREATE TABLE saved_searches (name TEXT, query TEXT)")
        console.execute("INSERT INTO saved_searches VALUES ('gas', '燃气')")
    console.close()
    return settings


def test_round_trip_while_a_writer_is_busy(live: Settings, tmp_path: Path) -> None:
    stop = threading.Event()

    def keep_writing() -> None:
        runtime = Runtime(live)
        batch = 0
        while not stop.is_set():
            runtime.store.upsert(_posts(f"w{batch}-", 20))
            batch += 1
        runtime.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        archive = create_backup(live, tmp_path / "backups")
    finally:
        stop.set()
        writer.join()
    manifest = read_manifest(archive)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert manifest.workflow_database == "sqlite" and manifest.counts.posts >= 40
    assert manifest.counts.review_items == 10 and manifest.counts.audit_seq == 10
    assert sorted(manifest.databases) == ["data/console.db", "data/patrol.db"]
    assert "data/locks/source-test-forum.lock" not in manifest.files
    assert "data/reports/20261128T000000Z-abcdef/test-forum.log" not in manifest.files
    assert manifest.config["config/sources.yaml"] == str(live.sources_file.resolve())

    target = load_settings(data_dir=tmp_path / "restored" / "data", sources_file=live.sources_file)
    report = restore_backup(archive, target)
    assert report.audit_ok and report.integrity_ok
    assert report.counts == manifest.counts
    original, restored = Runtime(live), Runtime(target)
    try:
        # every restored post is the original, and the snapshot holds whole write batches only
        restored_ids = [p.post.id for batch in restored.store.iter_posts() for p in batch]  # type: ignore[attr-defined]
        assert len(restored_ids) == manifest.counts.posts and (len(restored_ids) - 40) % 20 == 0
        mentions = 0
        for post_id in restored_ids:
            post = restored.store.get(post_id)
            assert post is not None and post == original.store.get(post_id)
            mentions += "转账" in post.post.text
        assert restored.store.search("转账").total == mentions >= 10  # the full-text index came back too
        with original.workflow.read_session() as a, restored.workflow.read_session() as b:
            assert {i.id for i in a.query(ReviewItem)} == {i.id for i in b.query(ReviewItem)}
            head_a, head_b = a.get(AuditHead, 1), b.get(AuditHead, 1)
            assert (
                head_a is not None
                and head_b is not None
                and (head_a.seq, head_a.hash) == (head_b.seq, head_b.hash)
            )
            assert verify_chain(b).ok
        assert restored.ledger.get("test-forum/p1-0001") is not None
    finally:
        original.close()
        restored.close()
    before, after = _tree(live.data_dir), _tree(target.data_dir)
    for rel in (
        "landing/test-forum/p1-0001.jsonl",
        "models/risk/model.safetensors",
        "models/risk/card.json",
        "state/test-forum.json",
        "state/report-author-salt",
        "evidence/ab/" + "ab" * 32,
        "reports/weekly/2026-W48/report.html",
    ):
        assert after[rel] == before[rel], rel
    assert "locks/source-test-forum.lock" not in after
    conn = sqlite3.connect(target.data_dir / "console.db")
    assert conn.execute("SELECT query FROM saved_searches").fetchall() == [("燃气",)]
    conn.close()
    restored_sources = Path(report.config[str(live.sources_file.resolve())])
    assert restored_sources.read_bytes() == live.sources_file.read_bytes()


def test_restore_refuses_a_used_folder_unless_forced(live: Settings, tmp_path: Path) -> None:
    archive = create_backup(live, tmp_path / "backups")
    with pytest.raises(BackupError, match="--force"):
        restore_backup(archive, live)
    report = restore_backup(archive, live, force=True)
    assert report.moved_aside is not None and Path(report.moved_aside, "patrol.db").exists()
    assert report.audit_ok and report.counts.review_items == 10


def test_damaged_archive_is_refused(live: Settings, tmp_path: Path) -> None:
    archive = create_backup(live, tmp_path / "backups")
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(damaged, "w:gz") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == "data/state/test-forum.json":
                data = data.replace(b"test-forum", b"tampered!!")
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    with pytest.raises(BackupError, match="does not match its checksum"):
        restore_backup(damaged, load_settings(data_dir=tmp_path / "elsewhere"))
    with pytest.raises(BackupError, match="not a patrol backup"):
        read_manifest(live.sources_file)


def test_cli_round_trip(live: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["backup", "--to", str(tmp_path / "b"), "--json", "--data-dir", str(live.data_dir)]
    )
    assert made.exit_code == 0, made.output
    archive = json.loads(made.stdout)["archive"]
    target = tmp_path / "new" / "data"
    done = runner.invoke(app, ["restore", archive, "--json", "--data-dir", str(target)])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["audit_ok"] and report["counts"]["review_items"] == 10
    again = runner.invoke(app, ["restore", archive, "--data-dir", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
