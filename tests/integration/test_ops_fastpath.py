"""The life-safety fast path: a life-safety post's review item and page exist before the rest of its
batch is analysed, indexed and flagged, and the batch's counts still add up."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from patrol.config import load_settings
from patrol.ledger import batch_id_of
from patrol.runtime import Runtime
from patrol.stages import process_batch
from patrol.workflow.flagging import FlagReport
from patrol.workflow.models import OutboxEvent, ReviewItem, ReviewItemPost
from tests.conftest import make_post

CALM = "今天{n}号楼下新开了一家烤冷面，味道还行，大家可以去尝尝"
FRAUD = "我是公安局的，你的银行卡涉嫌洗钱，马上把钱转到安全账户，不要告诉家人{n}"
BRIDGE = "活着太累了 今晚就从桥上跳下去 别找我"


def test_life_safety_item_opens_before_the_batch_is_done(tmp_path: Path) -> None:
    runtime = Runtime(load_settings(data_dir=tmp_path / "data", analyse_batch_size=8))
    texts = [CALM.format(n=n) for n in range(3)] + [BRIDGE] + [CALM.format(n=n) for n in range(3, 20)]
    texts += [FRAUD.format(n=n) for n in range(3)]
    posts = [make_post(f"{n}", text, minutes=n) for n, text in enumerate(texts)]
    landing = runtime.settings.landing_dir / "test-forum" / "p1-0001.jsonl"
    landing.parent.mkdir(parents=True)
    landing.write_text("".join(p.model_dump_json() + "\n" for p in posts), encoding="utf-8")
    seen: list[dict[str, object]] = []

    def on_urgent(report: FlagReport) -> None:
        record = runtime.ledger.get(batch_id_of(landing))
        with runtime.workflow.read_session() as session:
            items = session.scalars(select(ReviewItem)).all()
            pages = session.scalars(select(OutboxEvent.topic)).all()
        seen.append(
            {
                "report": report,
                "analysed": record.analysed_at if record else None,
                "items": [(i.category, i.life_safety) for i in items],
                "pages": pages,
                "posts_in_store": runtime.store.count(),
            }
        )

    try:
        result = process_batch(runtime, landing, on_urgent=on_urgent)
        assert len(seen) == 1, "one chunk holds the life-safety post"
        early = seen[0]
        assert early["analysed"] is None and early["posts_in_store"] == 0  # the batch had not got that far
        assert early["items"] == [("self_harm", True)] and early["pages"] == ["item.life_safety"]
        with runtime.workflow.read_session() as session:
            links = session.execute(select(ReviewItemPost.post_id, ReviewItemPost.category)).tuples().all()
            items = len(session.scalars(select(ReviewItem.id)).all())
        assert ("test-forum:3", "self_harm") in links
        assert any(category == "fraud" for _, category in links), "the other categories come with the batch"
        # counts add up as if there were no fast path: every item and copy counted once
        assert result.flags.new_items == items >= 2
        assert result.flags.new_items + result.flags.attached_copies == len(links)
        assert result.flags.new_items_by_category.get("self_harm") == 1
        assert result.flags.already_flagged == 0
        assert runtime.ledger.get(batch_id_of(landing)).done  # type: ignore[union-attr]
        again = process_batch(runtime, landing, on_urgent=on_urgent)
        assert again.flags.new_items == 0 and len(seen) == 1
    finally:
        runtime.close()
