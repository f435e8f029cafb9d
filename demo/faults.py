"""Bodies for the bad-input endpoints under /fault/ (documented in demo/README.md)."""

from __future__ import annotations

import random

#: How long /fault/slow holds a request before giving up (unless the site stops first).
SLOW_HOLD_S = 120.0

#: Forums served under these prefixes show only the first board's first few threads.
FAULT_FORUM_THREADS = {"garbage": 3, "lying-charset": 5}


def garbage_bytes(tid: int) -> bytes:
    """Binary noise that a server labels text/html: a broken image dump with NULs."""
    noise = random.Random(f"demo:garbage:{tid}").randbytes(3000)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise


def not_html_bytes(tid: int) -> bytes:
    """A document that is not HTML at all (a PDF preamble), still labelled text/html."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        + f"% thread {tid} was exported to PDF\n".encode("ascii")
        + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
