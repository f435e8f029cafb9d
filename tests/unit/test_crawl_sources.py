"""The sources file: defaults, derived domains, and errors naming the file, entry, field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.sources import SourcesFileError, find_source, load_sources

GOOD = """\
sources:
  - id: harbin_forum
    kind: discuz
    start_urls: ["http://bbs.example.cn:8080/forum.php"]
    jurisdiction_hint: xiangfang
  - id: harbin-weibo
    kind: weibo
    start_urls:
      - https://m.example.cn/api/container/getIndex?containerid=1076031
    allowed_domains: [example.cn]
    interval_s: 300
    max_pages: 50
    enabled: false
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sources_load_with_defaults_and_derived_domains(tmp_path: Path) -> None:
    forum, weibo = load_sources(write(tmp_path, GOOD))
    assert forum.id == "harbin_forum" and forum.kind == "discuz"
    assert forum.allowed_domains == ["bbs.example.cn"]  # host only: Scrapy's offsite check ignores ports
    assert (forum.interval_s, forum.max_pages, forum.enabled) == (600, 2000, True)
    assert forum.jurisdiction_hint == "xiangfang"
    assert weibo.allowed_domains == ["example.cn"]
    assert (weibo.interval_s, weibo.max_pages, weibo.enabled) == (300, 50, False)


def test_wrong_kind_names_file_entry_id_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("kind: weibo", "kind: forum"))
    with pytest.raises(SourcesFileError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert str(path) in message
    assert "entry 1 (id 'harbin-weibo')" in message
    assert "field 'kind' (line 7)" in message
    assert "discuz" in message and "weibo" in message  # says what would be accepted


def test_misspelt_field_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("interval_s: 300", "intervel_s: 300"))
    with pytest.raises(SourcesFileError, match=r"field 'intervel_s' \(line 11\)"):
        load_sources(path)


@pytest.mark.parametrize(
    ("replace", "by", "field"),
    [
        ('start_urls: ["http://bbs.example.cn:8080/forum.php"]', "start_urls: []", "start_urls"),
        ('start_urls: ["http://bbs.example.cn:8080/forum.php"]', 'start_urls: ["/forum.php"]', "start_urls"),
        ("id: harbin_forum", "id: harbin forum", "id"),
        ("max_pages: 50", "max_pages: 0", "max_pages"),
    ],
)
def test_invalid_values_name_their_field(tmp_path: Path, replace: str, by: str, field: str) -> None:
    with pytest.raises(SourcesFileError, match=f"field '{field}'"):
        load_sources(write(tmp_path, GOOD.replace(replace, by)))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError, match=r"entry 1 \(line 6\): field 'id': 'harbin_forum' is already used"):
        load_sources(write(tmp_path, GOOD.replace("id: harbin-weibo", "id: harbin_forum")))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    # YAML notices the unclosed bracket where the next line starts.
    with pytest.raises(SourcesFileError, match=r"not valid YAML at line 5, column 5: expected ',' or ']'"):
        load_sources(write(tmp_path, GOOD.replace('start_urls: ["http', 'start_urls: [["http')))


def test_wrong_shape_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError, match="'sources:' list"):
        load_sources(write(tmp_path, "- id: x\n"))
    with pytest.raises(SourcesFileError, match="cannot read"):
        load_sources(tmp_path / "absent.yaml")


def test_find_source_lists_known_ids(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert find_source(path, "harbin-weibo").kind == "weibo"
    with pytest.raises(SourcesFileError, match=r"no source with id 'ghost' \(known: harbin_forum, harbin-weibo\)"):
        find_source(path, "ghost")
