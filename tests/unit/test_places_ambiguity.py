"""Place tagging at every level of the gazetteer, with aliases, and the ambiguity rules: the most
specific place decides the jurisdiction, the source's hint breaks ties, and a name shared by two
places means the one the rest of the post (or else the hint) points to."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.normalize import Normalizer
from nlp.places import PlaceTagger
from nlp.segment import RjiebaSegmenter
from patrol.schema import PlaceTag

# A small gazetteer of its own: two districts that each have a 万达广场 and a 建设街 (as real cities
# do), streets, communities and landmarks with aliases.
GAZETTEER = """\
version: 1
city: 测试市
units:
  - {id: east, name: 东区分局, kind: branch}
  - {id: east-a, name: 东一派出所, kind: station, parent: east}
  - {id: east-b, name: 东二派出所, kind: station, parent: east}
  - {id: west, name: 西区分局, kind: branch}
  - {id: west-a, name: 西一派出所, kind: station, parent: west}
places:
  - {name: 东城区, level: district, unit: east, aliases: [东城]}
  - {name: 西城区, level: district, unit: west, aliases: [西城]}
  - {name: 建设街, level: street, unit: east-a, district: 东城区}
  - {name: 建设街, level: street, unit: west-a, district: 西城区}
  - {name: 光明路街道, level: street, unit: east-b, district: 东城区, aliases: [光明路]}
  - {name: 幸福里社区, level: community, unit: east-b, district: 东城区, aliases: [幸福里]}
  - {name: 桃园小区, level: community, unit: west-a, district: 西城区, aliases: [桃园]}
  - {name: 万达广场, level: landmark, unit: east-a, district: 东城区, aliases: [万达]}
  - {name: 万达广场, level: landmark, unit: west-a, district: 西城区, aliases: [万达]}
  - {name: 人民公园, level: landmark, unit: west-a, district: 西城区}
"""


class Tagger:
    def __init__(self, gazetteer_file: Path | None = None) -> None:
        self.normalizer = Normalizer()
        self.places = PlaceTagger(gazetteer_file, self.normalizer) if gazetteer_file else PlaceTagger()
        self.segmenter = RjiebaSegmenter(extra_words=self.places.surface_forms)

    def tag(self, text: str, hint: str | None = None) -> list[PlaceTag]:
        normalized = self.normalizer(text)
        return self.places.tag(normalized, self.segmenter.tokenize(normalized.text), hint)

    def named(self, text: str, hint: str | None = None) -> list[tuple[str, str, str]]:
        return [(t.name, t.level, t.unit) for t in self.tag(text, hint)]

    def jurisdiction(self, text: str, hint: str | None = None) -> str | None:
        return self.places.jurisdiction(self.tag(text, hint), hint)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    path = tmp_path_factory.mktemp("gazetteer") / "gazetteer.yaml"
    path.write_text(GAZETTEER, encoding="utf-8")
    return Tagger(path)


@pytest.fixture(scope="module")
def harbin() -> Tagger:
    return Tagger()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("香坊区今天停电", ("香坊区", "district", "xf-branch")),
        ("南岗这边堵车", ("南岗区", "district", "ng-branch")),  # alias
        ("和平路街道发通知了", ("和平路街道", "street", "xf-heping")),
        ("和平路上有积水", ("和平路街道", "street", "xf-heping")),  # alias
        ("群力家园门口", ("群力家园", "community", "dl-qunli")),
        ("幸福家园东门", ("幸福家园小区", "community", "xf-dalian")),  # alias
        ("靖宇公园的冰灯", ("靖宇公园", "landmark", "dw-jingyu")),
        ("在黑大上学", ("黑龙江大学", "landmark", "ng-xuefu")),  # two-character alias, cut as a word
        ("香坊站出站口", ("香坊火车站", "landmark", "xf-xiangfang")),  # alias
        ("中华巴洛克拍照", ("老道外中华巴洛克", "landmark", "dw-jingyu")),  # alias
    ],
)
def test_every_level_and_alias_of_the_gazetteer_is_tagged(harbin: Tagger, text: str, expected: tuple) -> None:
    assert harbin.named(text) == [expected]


def test_traditional_and_full_width_spellings_are_tagged(harbin: Tagger) -> None:
    text = "哈爾濱工業大學和中央大街"
    assert [t.name for t in harbin.tag(text)] == ["哈尔滨工业大学", "中央大街"]


def test_the_most_specific_place_wins_whatever_the_order(local: Tagger) -> None:
    assert local.jurisdiction("东城区光明路幸福里") == "east-b"  # community
    assert local.jurisdiction("幸福里，光明路，东城区") == "east-b"
    assert local.jurisdiction("人民公园旁边的光明路") == "west-a"  # landmark beats street


def test_the_hint_breaks_a_tie_between_units_at_the_most_specific_level(local: Tagger) -> None:
    text = "从幸福里搬到了桃园"  # two communities: east-b and west-a
    assert local.jurisdiction(text) == "east-b"  # no hint: the first mention
    assert local.jurisdiction(text, "west") == "west-a"  # the hint's branch contains west-a
    assert local.jurisdiction(text, "西一派出所") == "west-a"  # a unit name
    assert local.jurisdiction(text, "西城区") == "west-a"  # a place name


def test_a_shared_name_means_the_place_the_post_points_to(local: Tagger) -> None:
    assert local.named("西城区万达广场停车场") == [
        ("西城区", "district", "west"),
        ("万达广场", "landmark", "west-a"),
    ]
    assert local.named("桃园旁边的万达") == [
        ("桃园小区", "community", "west-a"),
        ("万达广场", "landmark", "west-a"),
    ]
    assert local.named("光明路那个万达广场")[-1] == ("万达广场", "landmark", "east-a")  # same district


def test_without_a_clue_in_the_post_the_hint_resolves_a_shared_name(local: Tagger) -> None:
    assert local.named("建设街修路") == [("建设街", "street", "east-a")]  # the first defined
    assert local.named("建设街修路", "west") == [("建设街", "street", "west-a")]
    assert local.named("建设街修路", "西一派出所") == [("建设街", "street", "west-a")]
    assert local.jurisdiction("万达门口打起来了", "west") == "west-a"
    # The post's own clue outranks the hint: a forum of the east branch can talk about the west.
    assert local.named("西城区建设街修路", "east")[-1] == ("建设街", "street", "west-a")


def test_a_hint_that_names_nothing_known_changes_nothing(local: Tagger) -> None:
    assert local.named("建设街修路", "北城区") == [("建设街", "street", "east-a")]
    assert local.jurisdiction("今天天气不错", "北城区") is None


def test_the_pipeline_passes_the_source_hint_to_the_tagger(tmp_path: Path) -> None:
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    path = tmp_path / "gazetteer.yaml"
    path.write_text(GAZETTEER, encoding="utf-8")
    pipeline = NlpPipeline.from_settings(load_settings(data_dir=tmp_path / "data", gazetteer_file=path))
    analysis = pipeline.analyse_text("万达广场门口有人打架", jurisdiction_hint="west")
    assert [(p.name, p.unit) for p in analysis.places] == [("万达广场", "west-a")]
    assert analysis.jurisdiction == "west-a"
