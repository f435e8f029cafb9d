"""Bytes to text for Chinese pages, without mojibake.

Chinese sites declare `gb2312` or `gbk` but write characters outside those sets, so GB declarations
are decoded as GB18030 (a superset); Big5 declarations likewise as CP950 (Big5 with Microsoft's
additions) or, failing that, Big5-HKSCS (Hong Kong's). Undeclared bytes that are not UTF-8 often
decode cleanly both as GB18030 and as Big5: the candidate whose text is more coherent wins.

Some pages declare a GB charset but are really UTF-8 (a template copied from an older site): when
the declared charset fails or the bytes are valid UTF-8 full of multi-byte sequences, trust the
bytes and say so (`charset_mismatch`), so the crawl report shows the lie while the text stays right.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_GB_FAMILY = {
    "gb2312",
    "gbk",
    "gb18030",
    "x-gbk",
    "cp936",
    "ms936",
    "euc-cn",
    "gb_2312-80",
    "csgb2312",
    "hz-gb-2312",
}
_BIG5_FAMILY = {"big5", "big5-tw", "csbig5", "x-x-big5", "cp950", "ms950", "big5hkscs", "big5-hkscs"}
#: Codecs tried in order for a Big5 declaration: supersets first, the declared name last.
_BIG5_CODECS = ("cp950", "big5hkscs")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


@dataclass(frozen=True)
class DecodedPage:
    """A page's text and how it was decoded."""

    text: str
    encoding: str
    declared: str | None
    charset_mismatch: bool = False

    @property
    def mismatch_message(self) -> str:
        return (
            f"page declares charset {self.declared!r} but its bytes are {self.encoding}; "
            f"decoded as {self.encoding} (ask the site owner to fix the declaration)"
        )


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset; GB family -> gb18030; unknown -> None."""
    if not name:
        return None
    lowered = name.strip().strip("\"'").lower()
    if lowered in _GB_FAMILY:
        return "gb18030"
    if lowered in _BIG5_FAMILY:
        return "big5"
    try:
        codec = codecs.lookup(lowered).name
    except LookupError:
        return None
    if codec in ("big5", "cp950", "big5hkscs"):
        return "big5"
    return "gb18030" if codec in ("gb2312", "gbk", "gb18030") else codec


def charset_from_content_type(content_type: bytes | str | None) -> str | None:
    if not content_type:
        return None
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    match = _HEADER_CHARSET.search(text)
    return match.group(1) if match else None


def declared_charset(body: bytes, content_type: bytes | str | None = None) -> str | None:
    """The charset a page claims: the HTTP header first, then `<meta>`, then the XML declaration."""
    if header := charset_from_content_type(content_type):
        return header
    head = body[:4096]
    if match := _META_CHARSET.search(head):
        return match.group(1).decode("ascii")
    if match := _XML_ENCODING.search(head):
        return match.group(1).decode("ascii")
    return None


def _strict(body: bytes, codec: str) -> str | None:
    if codec == "big5":
        for superset in _BIG5_CODECS:
            if (text := _strict(body, superset)) is not None:
                return text
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _has_multibyte_utf8(body: bytes) -> bool:
    # Any byte >= 0x80 in a body that decoded as UTF-8 means real multi-byte sequences; long GB18030
    # text is practically never valid UTF-8 by accident.
    return any(byte >= 0x80 for byte in body)


def decode_page(body: bytes, content_type: bytes | str | None = None) -> DecodedPage:
    """Decode a page's bytes, trusting the bytes over a declaration that contradicts them."""
    raw_declared = declared_charset(body, content_type)
    declared = normalise_charset(raw_declared)
    for bom, codec in _BOMS:
        if body.startswith(bom):
            # A byte order mark is unambiguous; a declaration naming another charset is the lie.
            bom_text = body[len(bom) :].decode(codec, errors="replace")
            mismatch = declared is not None and not codec.startswith(declared.removesuffix("-sig"))
            return DecodedPage(bom_text, codec, raw_declared, charset_mismatch=mismatch)

    utf8 = _strict(body, "utf-8")
    if declared and declared not in ("utf-8", "ascii"):
        if utf8 is not None and _has_multibyte_utf8(body):
            return DecodedPage(utf8, "utf-8", raw_declared, charset_mismatch=True)
        if (declared_text := _mostly(body, declared)) is not None:
            return DecodedPage(declared_text, declared, raw_declared)
        return _guess(body, raw_declared, mismatch=True)
    if utf8 is not None:
        return DecodedPage(utf8, "utf-8", raw_declared)
    if (damaged_utf8 := _mostly(body, "utf-8")) is not None:
        # A few broken sequences (a truncated page) in otherwise good UTF-8.
        return DecodedPage(damaged_utf8, "utf-8", raw_declared)
    # Declared UTF-8 (or nothing) but not UTF-8: Chinese sites' usual other charsets are GB18030 and Big5.
    mismatch = raw_declared is not None
    gb_text = _mostly(body, "gb18030")
    if gb_text is not None and (big5_text := _strict(body, "big5")) is not None and _big5_reads_better(body):
        return DecodedPage(big5_text, "big5", raw_declared, charset_mismatch=mismatch)
    if gb_text is not None:
        return DecodedPage(gb_text, "gb18030", raw_declared, charset_mismatch=mismatch)
    return _guess(body, raw_declared, mismatch=mismatch)


def _big5_reads_better(body: bytes) -> bool:
    """Bytes valid both as GB18030 and as Big5: the statistically more coherent reading."""
    best = from_bytes(body, cp_isolation=["gb18030", "big5"]).best()
    return best is not None and normalise_charset(best.encoding) == "big5"


def _mostly(body: bytes, codec: str) -> str | None:
    """The text when `body` is `codec` with at most a few damaged bytes (a cut-off page), else None."""
    strict = _strict(body, codec)
    if strict is not None:
        return strict
    try:
        text = body.decode(_BIG5_CODECS[-1] if codec == "big5" else codec, errors="replace")
    except LookupError:
        return None
    non_ascii = sum(1 for char in text if ord(char) >= 0x80)
    damaged = text.count("\ufffd")
    return text if damaged <= max(2, non_ascii // 200) else None


def _guess(body: bytes, raw_declared: str | None, *, mismatch: bool) -> DecodedPage:
    best = from_bytes(body).best()
    codec = normalise_charset(best.encoding) if best is not None else None
    if codec is not None and (text := _strict(body, codec)) is not None:
        return DecodedPage(text, codec, raw_declared, charset_mismatch=mismatch)
    # Nothing decodes cleanly: keep what is readable and mark the rest, never guess characters.
    fallback = normalise_charset(raw_declared) or "utf-8"
    codec = _BIG5_CODECS[-1] if fallback == "big5" else fallback
    return DecodedPage(body.decode(codec, errors="replace"), fallback, raw_declared, charset_mismatch=True)
