"""Made-up screen names for forum members, spam accounts and weibo commenters."""

from __future__ import annotations

import random

_PLACES = (
    "香坊",
    "南岗",
    "冰城",
    "松花江",
    "学府路",
    "老道外",
    "群力",
    "哈尔滨",
    "东北",
    "和平路",
    "中央大街",
)
_SUFFIXES = (
    "老李",
    "老王",
    "张姐",
    "刘哥",
    "的猫",
    "的风",
    "吃货",
    "跑者",
    "打工人",
    "宝妈",
    "大爷",
    "小雪",
    "小鱼",
    "看客",
    "路人甲",
    "老铁",
    "司机",
    "阿姨",
    "胖子",
    "少年",
    "二姐",
    "钓鱼佬",
    "小学生家长",
    "退休老师",
)
_LATIN = ("momo", "sunny", "xiaoyu", "tiger", "lucky", "snow", "kevin", "lily", "hrb", "ice")
_SPAM = ("顺风兼职", "好运来", "vip客服小美", "老司机带路", "阿杰", "东北虎哥", "日结小助手", "客服晓晓")
_WEIBO_FIRST = ("冰城", "松花江畔", "哈尔滨", "东北", "北国", "雪乡", "香坊", "南岗")
_WEIBO_SECOND = ("小确幸", "的风", "吃货团", "追光者", "一只猫", "打工仔", "摄影师", "老张", "姑娘", "冬天")


def forum_member_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        roll = rng.random()
        if roll < 0.6:
            name = rng.choice(_PLACES) + rng.choice(_SUFFIXES)
        elif roll < 0.85:
            name = f"{rng.choice(_LATIN)}{rng.randint(1, 2025)}"
        else:
            name = rng.choice(_PLACES) + rng.choice(_SUFFIXES) + str(rng.randint(1, 99))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def spam_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_SPAM)}{rng.randint(100, 9999)}"
        if name not in names:
            names.append(name)
    return names


def weibo_commenter_names(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        if rng.random() < 0.3:
            name = f"用户{rng.randint(5_000_000_000, 7_999_999_999)}"
        else:
            name = rng.choice(_WEIBO_FIRST) + rng.choice(_WEIBO_SECOND)
            if rng.random() < 0.5:
                name += f"_{rng.randint(1, 999)}"
        if name not in names:
            names.append(name)
    return names
