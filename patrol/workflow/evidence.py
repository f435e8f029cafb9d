"""Evidence files: stored content-addressed by SHA-256, with size and type limits.

The type is decided from the bytes (file signatures), never from the name or the declared content
type, and must be in the policy's allow-list. Bytes are written under a temporary name and renamed
into place, and every read checks them against their recorded hash, so a corrupted or swapped file
is refused rather than shown.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from patrol.workflow.errors import EvidenceCorrupted, EvidenceRejected, EvidenceTooLarge
from patrol.workflow.policy import EvidencePolicy

_SNIFF_BYTES = 64


def sniff_content_type(head: bytes, *, is_utf8_text: bool) -> str | None:
    """The media type the bytes' signature says, or None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:12] in (b"M4A ", b"M4B ") else "video/mp4"
    if is_utf8_text and head:
        return "text/plain"
    return None


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str
    path: Path


class EvidenceStore:
    def __init__(self, root: Path, policy: EvidencePolicy) -> None:
        self.root = root
        self.policy = policy

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise EvidenceRejected(f"{sha256!r} is not a SHA-256")
        return self.root / sha256[:2] / sha256

    def save(self, chunks: Iterable[bytes]) -> StoredBlob:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        decoder = codecs.getincrementaldecoder("utf-8")()
        is_text, size, head = True, 0, b""
        handle, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > self.policy.max_bytes:
                        raise EvidenceTooLarge(
                            f"the file is larger than {self.policy.max_bytes} bytes; send a smaller or compressed copy"
                        )
                    if len(head) < _SNIFF_BYTES:
                        head += chunk[: _SNIFF_BYTES - len(head)]
                    if is_text:
                        try:
                            decoder.decode(chunk)
                            is_text = b"\x00" not in chunk
                        except UnicodeDecodeError:
                            is_text = False
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if is_text:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    is_text = False
            if size == 0:
                raise EvidenceRejected("the file is empty")
            content_type = sniff_content_type(head, is_utf8_text=is_text)
            if content_type is None or content_type not in self.policy.allowed_types:
                seen = content_type or "an unrecognised type"
                raise EvidenceRejected(f"the file is {seen}; allowed are {', '.join(self.policy.allowed_types)}")
            sha = digest.hexdigest()
            final = self.path_of(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            return StoredBlob(sha256=sha, size=size, content_type=content_type, path=final)
        finally:
            tmp.unlink(missing_ok=True)

    def read_verified(self, sha256: str) -> bytes:
        path = self.path_of(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise EvidenceCorrupted(f"evidence {sha256} is missing from {self.root}; restore it from backup") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceCorrupted(f"evidence {sha256} no longer matches its hash: the file was altered or corrupted")
        return data
