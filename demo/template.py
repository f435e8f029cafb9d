"""Text templates with `{slot}` holes, filled from a seeded random generator.

Slots name what goes there (`{community}`, `{street}`, `{wx}`...); one text uses one value per slot
name, so "{community}...{community}" names the same place twice.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from demo.model import NO_RISK
from demo.places import Place, PlaceBook

_SLOT = re.compile(r"\{([a-z_0-9]+)\}")


@dataclass(frozen=True, slots=True)
class TextTemplate:
    """One kind of post. `title` is used when it opens a thread; `boards` are the board keys it fits."""

    key: str
    text: str
    title: str = ""
    label: str = NO_RISK
    near_miss: bool = False
    boards: tuple[str, ...] = ()


SURNAMES = "王李张刘陈杨赵黄周吴孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
PETS = ("泰迪", "金毛", "柯基", "萨摩耶", "橘猫", "狸花猫", "二哈", "比熊", "布偶猫", "柴犬")
PET_NAMES = ("豆豆", "球球", "大黄", "旺财", "咪咪", "煤球", "年糕", "可乐", "花卷", "团子")
COLORS = ("白色", "黑色", "黄白相间", "灰色", "棕色", "奶油色")
FOODS = ("锅包肉", "红肠", "烤冷面", "杀猪菜", "铁锅炖", "大列巴", "烧烤", "酸菜饺子", "地三鲜", "溜肉段")
SCHOOLS = ("香坊区实验小学", "哈平路小学", "学府路小学", "南岗区第二中学", "群力第一小学", "靖宇街小学")
GAMES = ("王者荣耀", "和平精英", "原神", "英雄联盟", "金铲铲之战", "蛋仔派对")
PERSONS = ("张大爷", "李姐", "王老师", "刘师傅", "赵阿姨", "陈哥", "孙大妈")
TIMES = ("昨晚十点多", "今天早上六点", "下午三点左右", "凌晨两点", "傍晚五点多", "中午十二点")
NIGHT_TIMES = ("九点半左右", "十点多", "十一点左右", "八点四十左右")
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def fake_wechat_id(rng: random.Random) -> str:
    prefix = rng.choice(("hrb", "xf", "bc", "vip", "kk", "dd"))
    letters = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(rng.randint(2, 4)))
    return f"{prefix}{letters}{rng.randint(100, 9999)}"


def _choice(values: tuple[str, ...]) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(values)


#: Non-place slots: each draws its value from the random generator it is given.
_VALUE_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "building": lambda rng: f"{rng.randint(1, 24)}号楼",
    "unit": lambda rng: f"{rng.randint(1, 6)}单元",
    "room": lambda rng: f"{rng.randint(1, 18)}0{rng.randint(1, 4)}",
    "n": lambda rng: str(rng.randint(2, 9)),
    "big": lambda rng: str(rng.randint(120, 980)),
    "price": _choice(("20", "30", "50", "80", "100", "150", "200", "300", "450", "600", "800", "1200")),
    "surname": _choice(tuple(SURNAMES)),
    "person": _choice(PERSONS),
    "pet": _choice(PETS),
    "petname": _choice(PET_NAMES),
    "color": _choice(COLORS),
    "food": _choice(FOODS),
    "school": _choice(SCHOOLS),
    "game": _choice(GAMES),
    "time": _choice(TIMES),
    "night": _choice(NIGHT_TIMES),
    "weekday": _choice(WEEKDAYS),
    "bus": _choice(("11路", "29路", "51路", "66路", "84路", "104路", "115路", "338路")),
    "wx": fake_wechat_id,
    "qq": lambda rng: str(rng.randint(800_000_000, 999_999_999)),
    "code": lambda rng: "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
    "temp": lambda rng: str(rng.randint(8, 16)),
    "cold": lambda rng: str(-rng.randint(12, 28)),
}
_PLACE_SLOTS = ("district", "street", "community", "landmark")


class SlotFiller:
    """Chooses slot values; places favour `district` when given (a Xiangfang board names Xiangfang)."""

    def __init__(self, places: PlaceBook, rng: random.Random, district: str | None = None) -> None:
        self._places = places
        self._rng = rng
        self._district = district

    def _make(self, slot: str) -> str:
        if slot in _PLACE_SLOTS:
            return self._place_name(slot)
        maker = _VALUE_MAKERS.get(slot)
        if maker is None:
            raise KeyError(f"unknown slot {{{slot}}}: use one of {sorted([*_PLACE_SLOTS, *_VALUE_MAKERS])}")
        return maker(self._rng)

    def _place_name(self, level: str) -> str:
        nearby = self._district is not None and self._rng.random() < 0.75
        candidates: tuple[Place, ...] = self._places.of_level(level, self._district if nearby else None)
        place = self._rng.choice(candidates)
        # Posts name places the way people do: sometimes the short alias (哈工大, 香坊).
        if place.aliases and self._rng.random() < 0.4:
            return self._rng.choice(place.aliases)
        return place.name

    def fill(self, text: str) -> str:
        return self.fill_all([text])[0]

    def fill_all(self, texts: list[str]) -> list[str]:
        """Fill several texts that share slot values (a thread title and its opening post)."""
        chosen: dict[str, str] = {}

        def value(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot not in chosen:
                base = slot.rstrip("0123456789")
                # A numbered slot ({street2}) differs from the plain one whenever it can.
                candidate = self._make(base)
                for _ in range(5):
                    if candidate not in chosen.values():
                        break
                    candidate = self._make(base)
                chosen[slot] = candidate
            return chosen[slot]

        return [_SLOT.sub(value, text) for text in texts]


_PUNCTUATION_SWAPS = (("，", ","), ("！", "!"), ("。", "."), ("：", ":"), ("？", "?"), (" ", "，"))
_REPOST_PREFIXES = ("转：", "转发：", "【转】", "扩散：", "看到的转一下：")
_WORD_SWAPS = (
    ("大家", "各位"),
    ("今晚", "今天晚上"),
    ("明天", "明儿"),
    ("私聊", "私信"),
    ("还没人管", "没人管"),
    ("加V", "加微"),
    ("电话", "手机号"),
    ("味道很大", "味儿很冲"),
    ("马上", "赶紧"),
    ("别找我", "不用找我"),
)


def light_edit(text: str, rng: random.Random, *, prefix: bool = True) -> str:
    """A near-duplicate of `text`: changed punctuation, maybe a swapped word, maybe a repost prefix."""
    edited = text
    swaps = [pair for pair in _PUNCTUATION_SWAPS if pair[0] in edited]
    for old, new in rng.sample(swaps, k=min(len(swaps), rng.randint(1, 2))):
        edited = edited.replace(old, new, 1 if old == " " else -1)
    words = [pair for pair in _WORD_SWAPS if pair[0] in edited]
    if words:
        old, new = rng.choice(words)
        edited = edited.replace(old, new, 1)
    if edited == text:
        edited = edited.rstrip("。.!！") + "！！"
    if prefix:
        edited = rng.choice(_REPOST_PREFIXES) + edited
    return edited
