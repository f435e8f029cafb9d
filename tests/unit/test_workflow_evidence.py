"""Evidence files: type from the bytes, size limit, content addressing, integrity on read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from patrol.workflow.errors import EvidenceCorrupted, EvidenceRejected, EvidenceTooLarge
from patrol.workflow.evidence import EvidenceStore, sniff_content_type
from patrol.workflow.policy import EvidencePolicy

POLICY = EvidencePolicy(max_bytes=64, allowed_types=["image/jpeg", "application/pdf", "text/plain"])


@pytest.mark.parametrize(
    ("head", "text", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", False, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", False, "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", False, "image/webp"),
        (b"%PDF-1.7", False, "application/pdf"),
        (b"ID3\x04rest", False, "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypisom", False, "video/mp4"),
        (b"\x00\x00\x00\x20ftypM4A ", False, "audio/mp4"),
        ("现场无异常".encode(), True, "text/plain"),
        (b"MZ\x90\x00", False, None),
    ],
)
def test_type_comes_from_the_signature(head: bytes, text: bool, expected: str | None) -> None:
    assert sniff_content_type(head, is_utf8_text=text) == expected


def test_store_keeps_files_by_hash_and_checks_them_on_read(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, POLICY)
    note = "民警到场核实，无人员伤亡".encode()
    blob = store.save([note[:5], note[5:]])
    assert blob.sha256 == hashlib.sha256(note).hexdigest() and blob.size == len(note)
    assert blob.content_type == "text/plain" and blob.path == tmp_path / blob.sha256[:2] / blob.sha256
    assert store.save([note]).path == blob.path, "the same bytes are stored once"
    assert store.read_verified(blob.sha256) == note
    blob.path.write_bytes(note + b"!")
    with pytest.raises(EvidenceCorrupted, match="altered"):
        store.read_verified(blob.sha256)
    blob.path.unlink()
    with pytest.raises(EvidenceCorrupted, match="missing"):
        store.read_verified(blob.sha256)


def test_limits_and_refusals_leave_nothing_behind(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, POLICY)
    with pytest.raises(EvidenceTooLarge):
        store.save([b"%PDF-" + b"x" * 60])
    with pytest.raises(EvidenceRejected, match="image/png"):
        store.save([b"\x89PNG\r\n\x1a\n"])
    with pytest.raises(EvidenceRejected, match="empty"):
        store.save([])
    with pytest.raises(EvidenceRejected, match="unrecognised"):
        store.save([b"caf\xe9 latin-1 is not utf-8"])
    with pytest.raises(EvidenceRejected, match="not a SHA-256"):
        store.path_of("../../etc/passwd")
    assert list(tmp_path.rglob("*")) == []
