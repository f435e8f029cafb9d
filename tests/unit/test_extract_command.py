"""`patrol extract FILE [--json]` on saved pages: the article, a Discuz thread's opening post."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from patrol.commands.extract import extract

# Mounted here as `patrol` mounts it (`app.command(name="extract")(extract)`).
app = typer.Typer()
app.callback()(lambda: None)
app.command(name="extract")(extract)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crawl"
NEWS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages" / "news" / "tests").resolve()


@pytest.mark.shared_data
def test_json_for_a_real_news_page_with_a_lying_charset() -> None:
    page = NEWS / "163" / "9.html"
    if not page.exists():
        pytest.skip(f"../shared/data absent: {page} is needed")
    result = CliRunner().invoke(app, ["extract", str(page), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == "5月20日至31日，京沪高速无锡至江阴大桥至广陵枢纽段封闭！"
    assert data["published_at"] == "2019-05-17T20:33:49+08:00"
    assert data["extractor"] == "article" and data["charset_mismatch"] is True
    assert "京沪高速" in data["content"]


def test_text_for_a_gbk_discuz_thread_page() -> None:
    result = CliRunner().invoke(app, ["extract", str(FIXTURES / "discuz_thread_5001_p1.html")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "title: 香坊区某小区楼道有煤气味"
    assert lines[1] == "author: 老张头"
    assert lines[2] == "published_at: 2026-11-26T08:15:00+08:00"
    assert lines[3] == "content:" and lines[4] == "早上下楼闻到很重的煤气味，"


def test_neither_file_nor_url_is_refused_with_a_reason() -> None:
    result = CliRunner().invoke(app, ["extract", "no/such/page.html"])
    assert result.exit_code == 2 and "neither an existing file nor an http(s) URL" in result.output
