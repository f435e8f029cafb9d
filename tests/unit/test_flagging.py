from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from patrol.thresholds import Thresholds
from patrol.workflow.db import WorkflowDb
from patrol.workflow.flagging import open_review_items, review_items_by_category
from patrol.workflow.models import ReviewItem
from tests.conftest import make_analysed

THRESHOLDS = Thresholds(default=0.5, categories={"self_harm": 0.45})
ORIGINAL = 0x5A5A_1234_0F0F_7777


def _db(tmp_path: Path) -> WorkflowDb:
    return WorkflowDb(f"sqlite:///{tmp_path / 'wf.db'}")


def test_reposts_make_one_item_listing_every_copy(tmp_path: Path) -> None:
    db = _db(tmp_path)
    copies = [
        make_analysed("1", "出售仿真枪", ["出售", "仿真枪"], scores={"weapons": 0.9}, simhash=ORIGINAL),
        make_analysed(
            "w1",
            "转：出售仿真枪",
            ["转", "出售", "仿真枪"],
            scores={"weapons": 0.8},
            simhash=ORIGINAL ^ 0b101,
            source_id="weibo",
            minutes=30,
        ),
        make_analysed("2", "出售冰毒", ["出售", "冰毒"], scores={"drugs": 0.9}, simhash=~ORIGINAL),
    ]
    with db.session() as session:
        report = open_review_items(session, copies, THRESHOLDS, max_distance=3)
    assert report.new_items == 2 and report.attached_copies == 1
    with db.session() as session:
        weapons = session.scalars(select(ReviewItem).where(ReviewItem.category == "weapons")).one()
        assert weapons.first_post_id == "test-forum:1"
        assert sorted(p.post_id for p in weapons.posts) == ["test-forum:1", "weibo:w1"]
        assert weapons.post_count == 2 and weapons.max_score == 0.9
        assert review_items_by_category(session) == {"weapons": 1, "drugs": 1}


def test_rerun_creates_nothing(tmp_path: Path) -> None:
    db = _db(tmp_path)
    batch = [make_analysed("1", "活着太累了", ["活着", "太累"], scores={"self_harm": 0.46}, simhash=ORIGINAL)]
    with db.session() as session:
        first = open_review_items(session, batch, THRESHOLDS, max_distance=3)
    with db.session() as session:
        second = open_review_items(session, batch, THRESHOLDS, max_distance=3)
    assert first.new_items == 1
    assert (second.new_items, second.attached_copies, second.already_flagged) == (0, 0, 1)
    with db.session() as session:
        item = session.scalars(select(ReviewItem)).one()
        assert item.life_safety and item.post_count == 1


def test_below_threshold_and_other_categories_are_not_flagged(tmp_path: Path) -> None:
    db = _db(tmp_path)
    batch = [
        make_analysed("1", "x", ["x"], scores={"fraud": 0.49}, simhash=1),
        make_analysed("2", "y", ["y"], scores={"self_harm": 0.44}, simhash=2),
    ]
    with db.session() as session:
        assert open_review_items(session, batch, THRESHOLDS, max_distance=3).new_items == 0


def test_one_post_in_two_categories_opens_two_items(tmp_path: Path) -> None:
    db = _db(tmp_path)
    batch = [make_analysed("1", "x", ["x"], scores={"fraud": 0.7, "gambling": 0.8}, simhash=ORIGINAL)]
    with db.session() as session:
        report = open_review_items(session, batch, THRESHOLDS, max_distance=3)
    assert report.new_items_by_category == {"fraud": 1, "gambling": 1}


def test_posts_without_fingerprint_never_group(tmp_path: Path) -> None:
    db = _db(tmp_path)
    batch = [make_analysed(str(i), "x", ["x"], scores={"fraud": 0.9}, simhash=0) for i in range(3)]
    with db.session() as session:
        assert open_review_items(session, batch, THRESHOLDS, max_distance=3).new_items == 3
