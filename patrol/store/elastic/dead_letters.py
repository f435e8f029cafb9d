"""Documents the cluster did not take, kept on disk with the reason until a later call indexes them."""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from patrol.schema import AnalysedPost, utcnow


class DeadLetter(BaseModel):
    post_id: str
    reason: str
    attempts: int = Field(1, description="calls that tried and failed to index it")
    overwrite: bool = Field(True, description="False for a reindex write, which must not replace newer data")
    first_failed_at: AwareDatetime
    last_failed_at: AwareDatetime
    document: dict[str, Any] = Field(description="the AnalysedPost, as JSON")

    def analysed_post(self) -> AnalysedPost:
        return AnalysedPost.model_validate(self.document)

    def failed_again(self, reason: str) -> DeadLetter:
        return self.model_copy(update={"reason": reason, "attempts": self.attempts + 1, "last_failed_at": utcnow()})


def new_letter(item: AnalysedPost, reason: str, *, overwrite: bool, previous: DeadLetter | None) -> DeadLetter:
    now = utcnow()
    return DeadLetter(
        post_id=item.post.id,
        reason=reason,
        attempts=previous.attempts + 1 if previous else 1,
        overwrite=overwrite,
        first_failed_at=previous.first_failed_at if previous else now,
        last_failed_at=now,
        document=item.model_dump(mode="json"),
    )


@dataclass
class ClaimedLetters:
    """The letters one call took over, and what it found still failing (written back at the end)."""

    letters: list[DeadLetter]
    still_failing: list[DeadLetter] = field(default_factory=list)


class DeadLetterFile:
    """JSON lines of `DeadLetter`, shared safely by concurrent writers (Airflow maps index tasks).

    A call claims the file by renaming it, so two processes never retry the same letters; what still
    fails is appended back and the claimed copy removed, both under a lock. A claimed copy left by a
    process that died is taken over once it is older than `stale_after_s`.
    """

    def __init__(self, path: Path, *, stale_after_s: float = 3600.0) -> None:
        self.path = path
        self.stale_after_s = stale_after_s

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _claimed_copies(self) -> list[Path]:
        return sorted(self.path.parent.glob(self.path.name + ".*.claimed"))

    def _claim_paths(self) -> list[Path]:
        claimed: list[Path] = []
        with self._locked():
            candidates = [self.path] if self.path.exists() else []
            now = time.time()
            candidates += [p for p in self._claimed_copies() if now - p.stat().st_mtime > self.stale_after_s]
            for path in candidates:
                mine = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.claimed")
                path.rename(mine)
                os.utime(mine)  # fresh mtime: this claim is alive
                claimed.append(mine)
        return claimed

    @staticmethod
    def _read(paths: Iterable[Path]) -> list[DeadLetter]:
        latest: dict[str, DeadLetter] = {}
        for path in paths:
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if not line.strip():
                        continue
                    letter = DeadLetter.model_validate(json.loads(line))
                    # A crash between append and unlink leaves a letter in two files: keep the latest.
                    known = latest.get(letter.post_id)
                    if known is None or letter.last_failed_at >= known.last_failed_at:
                        latest[letter.post_id] = letter
        return list(latest.values())

    def _append(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        with self.path.open("a", encoding="utf-8") as out:
            for letter in letters:
                # ensure_ascii: a lone surrogate in crawled text is written as an escape, never lost.
                out.write(json.dumps(letter.model_dump(mode="json"), ensure_ascii=True) + "\n")
            out.flush()
            os.fsync(out.fileno())

    @contextmanager
    def claim(self) -> Iterator[ClaimedLetters]:
        """Take every waiting letter; on exit write back `still_failing` (or, on an error, all of them)."""
        paths = self._claim_paths()
        claimed = ClaimedLetters(letters=self._read(paths))
        try:
            yield claimed
        except BaseException:
            with self._locked():
                self._append(claimed.letters)
                for path in paths:
                    path.unlink(missing_ok=True)
            raise
        with self._locked():
            self._append(claimed.still_failing)
            for path in paths:
                path.unlink(missing_ok=True)

    def pending(self) -> list[DeadLetter]:
        """Every letter waiting for a retry, claimed or not (for summaries and the CLI)."""
        with self._locked():
            paths = [self.path] if self.path.exists() else []
            return self._read(paths + self._claimed_copies())
