"""`patrol backup` and `patrol restore` for the embedded default: one verifiable archive.

A backup is `patrol-backup-<UTC time>.tar.gz` holding:

- `data/<name>.db`: every SQLite database of the data folder (posts, FTS, ledger and workflow in
  `patrol.db`; the console's saved searches), copied with SQLite's online backup API, so passes
  and the console keep working while it runs and the copy is one consistent snapshot;
- `data/...`: the landing, analysed and rejected batches, crawl state, the pseudonym salt, the
  models, evidence files and weekly reports (not crawl logs, locks or temporary files);
- `config/...`: the files the settings point at (sources, thresholds, lexicon, gazetteer, user
  dictionary, workflow policies, retention policy) and `patrol.toml`, with their original paths;
- `manifest.json`: the SHA-256 and size of every file, and the counts (posts, review items, batches,
  audit head) that `restore` checks the restored databases against.

The databases are copied before the files, so a restored ledger never lists a batch whose file is
missing from the archive; a batch that landed during the backup is found and processed by the next
pass. With the workflow database on PostgreSQL, the archive says so and the workflow is backed up
with `pg_dump` (docs/deploy.md). The archive holds raw posts and the pseudonym salt: keep it as
protected as the data folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from patrol.config import Settings
from patrol.schema import utcnow

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_HEADER = b"SQLite format 3\x00"
#: Folders of the data dir that a backup leaves out: locks, crawl logs, scratch, earlier backups.
EXCLUDED_DIRS = frozenset({"locks", "backups", "test-airflow-home", "tmp"})
EXCLUDED_SUFFIXES = (".tmp", ".lock", "-wal", "-shm", "-journal")


class BackupError(RuntimeError):
    """The archive is unreadable, damaged or does not fit; the message says what to do."""


class FileEntry(BaseModel):
    sha256: str
    size: int


class Counts(BaseModel):
    posts: int = 0
    batches: int = 0
    review_items: int = 0
    audit_seq: int = 0
    audit_hash: str = ""


class BackupManifest(BaseModel):
    format: int = BACKUP_FORMAT
    created_at: datetime
    source_data_dir: str
    workflow_database: str = Field(
        description="sqlite (in the archive) or external (back it up with pg_dump)"
    )
    databases: list[str] = Field(default_factory=list, description="archive paths of SQLite snapshots")
    files: dict[str, FileEntry] = Field(default_factory=dict)
    config: dict[str, str] = Field(default_factory=dict, description="archive path -> original path")
    counts: Counts = Counts()


class RestoreReport(BaseModel):
    data_dir: str
    moved_aside: str | None = None
    files: int
    databases: list[str]
    config_dir: str | None = None
    config: dict[str, str] = Field(default_factory=dict, description="original path -> restored copy")
    counts: Counts
    audit_ok: bool
    integrity_ok: bool


# -- helpers -------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def snapshot_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API; writers are not blocked in WAL)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        rel = here.relative_to(data_dir)
        dirs[:] = sorted(
            d
            for d in dirs
            if not (rel == Path(".") and d in EXCLUDED_DIRS)
            and not (rel == Path("reports") and d != "weekly")  # crawl logs: not worth restoring
            and (here / d).resolve() not in skip
        )
        for name in sorted(files):
            path = here / name
            if name.endswith(EXCLUDED_SUFFIXES) or path.is_symlink() or path.resolve() in skip:
                continue
            yield path


def config_files(settings: Settings) -> dict[str, Path]:
    """The user-edited files the settings point at, by a stable name in the archive."""
    from patrol.ops.retention import policy_file
    from patrol.workflow.policy import WorkflowFiles

    workflow = WorkflowFiles.from_settings(settings)
    files = {
        "sources.yaml": settings.sources_file,
        "thresholds.yaml": settings.thresholds_file,
        "lexicon.yaml": settings.lexicon_file,
        "gazetteer.yaml": settings.gazetteer_file,
        "userdict.txt": settings.user_dict_file,
        "sla.yaml": workflow.sla,
        "roster.yaml": workflow.roster,
        "dismiss_reasons.yaml": workflow.dismiss_reasons,
        "routing.yaml": workflow.routing,
        "evidence.yaml": workflow.evidence,
        "retention.yaml": policy_file(settings),
        "patrol.toml": Path("patrol.toml"),
    }
    return {name: path for name, path in files.items() if path.is_file()}


def _counts(sqlite_path: Path) -> Counts:
    counts = Counts()
    if not sqlite_path.exists():
        return counts
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        for field, sql in (
            ("posts", "SELECT count(*) FROM posts"),
            ("batches", "SELECT count(*) FROM batches"),
            ("review_items", "SELECT count(*) FROM review_items"),
            ("audit_seq", "SELECT coalesce(max(seq), 0) FROM audit_head"),
        ):
            with contextlib.suppress(sqlite3.OperationalError):  # that part never ran here
                setattr(counts, field, int(conn.execute(sql).fetchone()[0]))
        with contextlib.suppress(sqlite3.OperationalError):
            row = conn.execute("SELECT hash FROM audit_head").fetchone()
            counts.audit_hash = row[0] if row else ""
    finally:
        conn.close()
    return counts


# -- backup --------------------------------------------------------------------------------------


def default_backup_dir(settings: Settings) -> Path:
    return settings.data_dir.resolve().parent / "backups"


def create_backup(
    settings: Settings, destination: Path | None = None, *, now: datetime | None = None
) -> Path:
    """Write a backup archive into `destination` (default: `backups/` beside the data folder)."""
    now = now or utcnow()
    data_dir = settings.data_dir.resolve()
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir}: no data folder to back up; check --data-dir / PATROL_DATA_DIR")
    destination = (destination or default_backup_dir(settings)).resolve()
    destination.mkdir(parents=True, exist_ok=True)
    archive = destination / f"patrol-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz"
    external = not settings.workflow_url.startswith("sqlite")
    manifest = BackupManifest(
        created_at=now, source_data_dir=str(data_dir), workflow_database="external" if external else "sqlite"
    )
    with tempfile.TemporaryDirectory(prefix="patrol-backup-", dir=destination) as scratch_name:
        scratch = Path(scratch_name)
        members: list[tuple[str, Path]] = []
        # Databases first (see the module doc), each as one consistent snapshot.
        databases = [p for p in sorted(data_dir.iterdir()) if p.is_file() and is_sqlite_file(p)]
        for db in databases:
            copy = scratch / db.name
            snapshot_sqlite(db, copy)
            members.append((f"data/{db.name}", copy))
            manifest.databases.append(f"data/{db.name}")
        manifest.counts = _counts(scratch / settings.sqlite_path.name)
        skip = {p.resolve() for p in databases} | {destination}
        for path in _data_files(data_dir, skip):
            members.append((f"data/{path.relative_to(data_dir).as_posix()}", path))
        model_dir = settings.risk_model_dir.resolve()
        if model_dir.is_dir() and data_dir not in model_dir.parents:
            for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
                members.append((f"models/risk/{path.relative_to(model_dir).as_posix()}", path))
        for name, path in config_files(settings).items():
            members.append((f"config/{name}", path))
            manifest.config[f"config/{name}"] = str(path.resolve())
        tmp = archive.with_name(archive.name + ".tmp")
        with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            for arcname, path in members:
                manifest.files[arcname] = FileEntry(sha256=_sha256(path), size=path.stat().st_size)
                tar.add(path, arcname=arcname, recursive=False)
            body = manifest.model_dump_json(indent=1).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(now.timestamp())
            tar.addfile(info, io.BytesIO(body))
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(archive)
    archive.chmod(0o600)  # raw posts and the pseudonym salt are inside
    return archive


# -- restore -------------------------------------------------------------------------------------


def read_manifest(archive: Path) -> BackupManifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = BackupManifest.model_validate_json(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(
            f"{archive}: not a patrol backup archive ({exc}); pick a patrol-backup-*.tar.gz"
        ) from exc
    if manifest.format != BACKUP_FORMAT:
        raise BackupError(f"{archive}: backup format {manifest.format}, this version reads {BACKUP_FORMAT}")
    return manifest


def _extract_verified(archive: Path, manifest: BackupManifest, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()} - {MANIFEST}
        missing = sorted(set(manifest.files) - names)
        extra = sorted(names - set(manifest.files))
        if missing or extra:
            raise BackupError(f"{archive}: damaged archive (missing {missing[:5]}, unexpected {extra[:5]})")
        tar.extractall(into, filter="data")  # refuses absolute paths, '..', links out of the tree
    for name, entry in manifest.files.items():
        path = into / name
        if path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
            raise BackupError(f"{archive}: {name} does not match its checksum; the archive is damaged")


def _check_restored(settings: Settings, manifest: BackupManifest) -> tuple[Counts, bool, bool]:
    integrity = True
    for name in manifest.databases:
        path = settings.data_dir / Path(name).relative_to("data")
        conn = sqlite3.connect(path)
        try:
            integrity &= conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    counts = _counts(settings.sqlite_path)
    audit_ok = True
    if manifest.workflow_database == "sqlite" and settings.sqlite_path.exists():
        from patrol.workflow.audit import verify_chain
        from patrol.workflow.db import WorkflowDb

        db = WorkflowDb(f"sqlite:///{settings.sqlite_path}")
        try:
            with db.read_session() as session:
                audit_ok = verify_chain(session).ok
        finally:
            db.dispose()
    return counts, audit_ok, integrity


def restore_backup(archive: Path, settings: Settings, *, force: bool = False) -> RestoreReport:
    """Restore `archive` into `settings.data_dir`; with `force`, the current folder is moved aside first."""
    manifest = read_manifest(archive)
    data_dir = settings.data_dir.resolve()
    moved_aside: Path | None = None
    if data_dir.exists() and any(data_dir.iterdir()):
        if not force:
            raise BackupError(
                f"{data_dir} is not empty; stop every patrol process, then run restore with --force (the"
                " current folder is moved aside, not deleted), or restore into an empty --data-dir"
            )
        moved_aside = data_dir.with_name(f"{data_dir.name}.pre-restore-{utcnow().strftime('%Y%m%dT%H%M%SZ')}")
        data_dir.rename(moved_aside)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".patrol-restore-", dir=data_dir.parent) as scratch_name:
        scratch = Path(scratch_name)
        _extract_verified(archive, manifest, scratch)
        (scratch / "data").mkdir(exist_ok=True)
        (scratch / "data").rename(data_dir)
        config_dir: Path | None = None
        restored_config: dict[str, str] = {}
        if (scratch / "config").is_dir():
            config_dir = data_dir / "restored-config"
            shutil.move(str(scratch / "config"), config_dir)
            restored_config = {
                original: str(config_dir / Path(arcname).name)
                for arcname, original in manifest.config.items()
            }
        if (scratch / "models").is_dir():
            target = settings.risk_model_dir
            if target.exists():
                target = data_dir / "restored-models" / "risk"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(scratch / "models" / "risk"), target)
    counts, audit_ok, integrity = _check_restored(settings, manifest)
    if counts.model_dump() != manifest.counts.model_dump():
        raise BackupError(
            f"restored databases hold {counts.model_dump()}, the backup recorded"
            f" {manifest.counts.model_dump()}; the archive does not match its manifest"
        )
    return RestoreReport(
        data_dir=str(data_dir),
        moved_aside=str(moved_aside) if moved_aside else None,
        files=len(manifest.files),
        databases=manifest.databases,
        config_dir=str(config_dir) if config_dir else None,
        config=restored_config,
        counts=counts,
        audit_ok=audit_ok,
        integrity_ok=integrity,
    )
