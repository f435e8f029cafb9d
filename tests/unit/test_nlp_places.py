"""Gazetteer tagging and the jurisdiction rule (most specific place, then the hint, then first mention)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.normalize import Normalizer
from nlp.places import PlaceTagger
from nlp.segment import RjiebaSegmenter
from patrol.datafiles import ConfigFileError
from patrol.schema import PlaceTag


class Tagger:
    def __init__(self, gazetteer_file: Path | None = None) -> None:
        self.normalizer = Normalizer()
        self.places = PlaceTagger(gazetteer_file, self.normalizer) if gazetteer_file else PlaceTagger()
        self.segmenter = RjiebaSegmenter(extra_words=self.places.surface_forms)

    def tag(self, text: str) -> list[PlaceTag]:
        normalized = self.normalizer(text)
        return self.places.tag(normalized, self.segmenter.tokenize(normalized.text))

    def jurisdiction(self, text: str, hint: str | None = None) -> str | None:
        return self.places.jurisdiction(self.tag(text), hint)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def test_places_are_tagged_with_level_unit_and_original_span(tagger: Tagger) -> None:
    text = "香坊区幸福家园小区燃气泄漏了"
    tags = tagger.tag(text)
    assert [(t.name, t.level, t.unit) for t in tags] == [
        ("香坊区", "district", "xf-branch"),
        ("幸福家园小区", "community", "xf-dalian"),
    ]
    assert [text[t.start : t.end] for t in tags] == ["香坊区", "幸福家园小区"]


def test_aliases_resolve_to_the_canonical_place_and_spans_survive_obfuscation(tagger: Tagger) -> None:
    text = "在 哈 工 大 门口，还有圣索菲亚大教堂"
    tags = tagger.tag(text)
    assert [t.name for t in tags] == ["哈尔滨工业大学", "索菲亚教堂"]
    assert text[tags[0].start : tags[0].end] == "哈 工 大"
    assert text[tags[1].start : tags[1].end] == "圣索菲亚大教堂"


def test_the_longest_name_wins_over_a_name_inside_it(tagger: Tagger) -> None:
    tags = tagger.tag("香坊火车站出站口人很多")
    assert [(t.name, t.level) for t in tags] == [("香坊火车站", "landmark")]


def test_short_names_count_only_as_whole_words(tagger: Tagger) -> None:
    assert tagger.tag("我知道里面有人，群策群力，知道外面冷") == []
    assert [t.name for t in tagger.tag("周末去道里玩")] == ["道里区"]


def test_jurisdiction_is_the_unit_of_the_most_specific_place(tagger: Tagger) -> None:
    assert tagger.jurisdiction("南岗区学府路哈工大东门") == "ng-xuefu"  # landmark beats street and district
    assert tagger.jurisdiction("香坊区和平路街道") == "xf-heping"
    assert tagger.jurisdiction("道外区发生的事") == "dw-branch"


def test_a_tie_at_the_most_specific_level_is_broken_by_the_hint(tagger: Tagger) -> None:
    text = "从中央大街一直走到红旗大街"  # two streets: dl-zhongyang, ng-hongqi
    assert tagger.jurisdiction(text) == "dl-zhongyang"  # first mention
    assert tagger.jurisdiction(text, "ng-branch") == "ng-hongqi"  # the hint's branch contains ng-hongqi
    assert tagger.jurisdiction(text, "南岗区") == "ng-hongqi"  # a place name as hint
    assert tagger.jurisdiction(text, "南岗公安分局") == "ng-hongqi"  # a unit name as hint
    assert tagger.jurisdiction(text, "unknown-unit") == "dl-zhongyang"


def test_the_hint_never_overrides_a_more_specific_place(tagger: Tagger) -> None:
    assert tagger.jurisdiction("道里区的朋友来靖宇公园玩", "dl-branch") == "dw-jingyu"


def test_without_places_the_hint_is_the_jurisdiction_when_it_names_a_unit(tagger: Tagger) -> None:
    assert tagger.jurisdiction("楼下着火了", "xf-branch") == "xf-branch"
    assert tagger.jurisdiction("楼下着火了", "somewhere") is None
    assert tagger.jurisdiction("楼下着火了") is None


def test_gazetteer_errors_name_the_file_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.yaml"
    path.write_text(
        "version: 1\nunits:\n  - {id: a, name: 甲所}\nplaces:\n  - {name: 某小区, level: community, unit: b}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match=r"gazetteer\.yaml.*某小区: unknown unit 'b'"):
        Tagger(path).tag("某小区")
    path.write_text(
        "version: 1\nunits:\n  - {id: a, name: 甲所}\nplaces:\n  - {name: 某小区, level: village, unit: a}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match="level 'village'"):
        Tagger(path).tag("某小区")
