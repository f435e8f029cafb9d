"""Decoding Chinese pages: GB declarations read as GB18030, lying declarations detected, no mojibake."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from crawlers.encoding import declared_charset, decode_page, normalise_charset

PAGES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages").resolve()


def shared(*parts: str) -> Path:
    path = PAGES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/data absent: {path} is needed for this real-page test")
    return path


def title_of(text: str) -> str:
    match = re.search(r"<title>(.*?)</title>", text, re.S)
    assert match, "page has no <title>"
    return match.group(1).strip()


@pytest.mark.shared_data
def test_real_page_declaring_gb2312_but_written_in_utf8_is_detected() -> None:
    body = shared("news", "tests", "163", "9.html").read_bytes()
    assert b"charset=gb2312" in body[:2048]
    page = decode_page(body, b"text/html; charset=gb2312")
    assert page.charset_mismatch
    assert page.encoding == "utf-8"
    assert page.declared == "gb2312"
    assert title_of(page.text) == "5月20日至31日，京沪高速无锡至江阴大桥至广陵枢纽段封闭！_网易订阅"
    assert "\ufffd" not in page.text
    assert "gb2312" in page.mismatch_message and "utf-8" in page.mismatch_message


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["cnblog.org.xml", "lily.blogsome.com.xml", "_mozilla_bug171813_text.html"])
def test_real_gb2312_pages_decode_as_gb18030_without_mismatch(name: str) -> None:
    body = shared("feeds", "GB2312", name).read_bytes()
    page = decode_page(body)
    assert page.encoding == "gb18030"
    assert not page.charset_mismatch
    assert page.text == body.decode("gb18030")
    assert re.search(r"[\u4e00-\u9fff]{4}", page.text), "expected running Chinese text"


@pytest.mark.shared_data
def test_real_big5_feed_is_not_forced_into_gb() -> None:
    path = shared("feeds", "Big5", "sinica.edu.tw.xml")
    body = path.read_bytes()
    page = decode_page(body)
    assert page.encoding == "big5"
    assert not page.charset_mismatch
    assert "\ufffd" not in page.text


def test_gbk_declaration_reads_characters_outside_gb2312() -> None:
    # 镕 and 𠮷 are not in GB2312; sites declaring gb2312/gbk still write them.
    text = "<html><head><meta charset=gb2312></head><body>朱镕基 𠮷野家 哈尔滨南岗区</body></html>"
    page = decode_page(text.encode("gb18030"), b"text/html; charset=gb2312")
    assert page.text == text
    assert page.encoding == "gb18030"
    assert not page.charset_mismatch


def test_header_charset_wins_over_meta() -> None:
    body = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">道里区'.encode("gbk")
    assert declared_charset(body, b"text/html; charset=GBK") == "GBK"
    page = decode_page(body, b"text/html; charset=GBK")
    assert page.text.endswith("道里区")


def test_utf8_declared_but_gbk_bytes_is_a_mismatch_decoded_as_gb18030() -> None:
    body = "<html><body>香坊区燃气泄漏，请大家注意安全，已经通知物业和燃气公司。</body></html>".encode("gbk")
    page = decode_page(body, b"text/html; charset=utf-8")
    assert page.encoding == "gb18030"
    assert page.charset_mismatch
    assert "香坊区燃气泄漏" in page.text


def test_undeclared_pages_are_read_by_their_bytes_without_a_mismatch() -> None:
    text = "<html><body>道外区 老道外 中华巴洛克</body></html>"
    assert decode_page(text.encode("utf-8")).text == text
    gbk = decode_page(text.encode("gbk"))
    assert gbk.text == text and gbk.encoding == "gb18030" and not gbk.charset_mismatch


def test_a_cut_off_gbk_page_keeps_its_declared_charset() -> None:
    body = ("<html><head><meta charset=gbk></head><body>" + "南岗区哈西大街" * 50).encode("gbk")[:-1]
    page = decode_page(body)
    assert page.encoding == "gb18030"
    assert not page.charset_mismatch
    assert page.text.count("南岗区哈西大街") == 49


def test_byte_order_mark_beats_a_wrong_declaration() -> None:
    body = codecs.BOM_UTF8 + '<meta charset="gbk">松北区'.encode()
    page = decode_page(body)
    assert page.text.endswith("松北区")
    assert page.charset_mismatch


@pytest.mark.parametrize(
    ("name", "codec"),
    [("GB2312", "gb18030"), ("gbk", "gb18030"), ("x-gbk", "gb18030"), ("UTF-8", "utf-8"), ("nonsense", None)],
)
def test_charset_names_normalise(name: str, codec: str | None) -> None:
    assert normalise_charset(name) == codec


def test_undeclared_big5_is_not_read_as_gb18030() -> None:
    # Traditional Chinese in Big5 also decodes "cleanly" as GB18030, into nonsense: coherence decides.
    text = "維基大典者，網路為礎；集天下知、四海言、眾人志，書百科焉。始作者，維基媒體基金會也。" * 3
    page = decode_page(text.encode("big5"))
    assert page.encoding == "big5" and page.text == text and not page.charset_mismatch
    simplified = "哈尔滨市道里区中央大街今晚二十点起封闭施工，请市民绕行。" * 3
    gb = decode_page(simplified.encode("gb18030"))
    assert gb.encoding == "gb18030" and gb.text == simplified


def test_big5_declaration_reads_cp950_extensions() -> None:
    text = "<html><head><meta charset=big5></head><body>價格 €5，碁</body></html>"  # € and 碁 are CP950 additions
    page = decode_page(text.encode("cp950"), b"text/html; charset=big5")
    assert page.text == text and page.encoding == "big5" and not page.charset_mismatch
