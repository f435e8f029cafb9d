"""The item page and the triage actions (from the queue or the item page).

Dismiss, duplicate and escalate are one click each: an item nobody holds (or that the officer holds)
is claimed on the way in the same transaction, so the decision still has exactly one holder and
the audit log shows the claim and the decision.

Post authors are shown pseudonymised. A reviewer or admin may reveal one raw handle with a form
post; the handle is audited and shown only on the page that post answers, never in a URL or cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from patrol.ops.privacy import author_pseudonyms, may_reveal_authors, reveal_author
from patrol.web.item_view import ItemView, load_item_view
from patrol.web.routes.common import ObjectId, run_change
from patrol.web.session import FormRequest, Viewer, console_of, form_guard, page_guard
from patrol.web.templating import render
from patrol.workflow import items as review
from patrol.workflow.actors import Actor, Permission
from patrol.workflow.models import ReviewItem

router = APIRouter()
Triage = Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_TRIAGE))]


@dataclass(frozen=True)
class RevealedAuthor:
    post_id: str
    handle: str | None


def _item_page_response(
    request: Request, viewer: Viewer, view: ItemView, revealed: RevealedAuthor | None = None
) -> Response:
    policy = console_of(request).api.policy
    return render(
        request,
        "item.html",
        {
            "view": view,
            "item": view.item,
            "reasons": policy.dismiss_reasons.reasons,
            "priorities": policy.sla.priorities,
            "default_priority": policy.sla.priority_for(view.item.category),
            "self_path": f"/items/{view.item.id}",
            "may_reveal": may_reveal_authors(viewer.actor),
            "revealed": revealed,
        },
    )


@router.get("/items/{item_id}")
def item_page(
    request: Request,
    item_id: ObjectId,
    viewer: Annotated[Viewer, Depends(page_guard(Permission.ITEMS_VIEW_DETAIL))],
) -> Response:
    console = console_of(request)
    with console.api.db.session() as session:
        view = load_item_view(
            session,
            console.posts,
            console.post_reader,
            viewer.actor,
            item_id,
            names=author_pseudonyms(console.settings),
            now=console.api.clock.now(),
        )
    return _item_page_response(request, viewer, view)


@router.post("/items/{item_id}/reveal-author")
def reveal_post_author(
    request: Request,
    item_id: ObjectId,
    form: Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_VIEW_DETAIL))],
) -> Response:
    """The item page with one post's raw author handle; reviewers and admins only, audited.

    `reveal_author` refuses every other role (403) before anything is read; the audit row commits
    in the same transaction as the page view.
    """
    console = console_of(request)
    post_id = form.text("post_id")
    now = console.api.clock.now()
    with console.api.db.session() as session:
        handle = reveal_author(
            session, form.viewer.actor, console.posts, item_id=item_id, post_id=post_id, now=now
        )
        view = load_item_view(
            session,
            console.posts,
            console.post_reader,
            form.viewer.actor,
            item_id,
            names=author_pseudonyms(console.settings),
            now=now,
        )
    return _item_page_response(request, form.viewer, view, RevealedAuthor(post_id=post_id, handle=handle))


def _claim_on_the_way(session: Session, request: Request, actor: Actor, item_id: str) -> None:
    console = console_of(request)
    now = console.api.clock.now()
    item = session.get(ReviewItem, item_id)
    if item is None or item.status in review.TERMINAL_STATES:
        return  # the decision itself reports "not found" or "already decided"
    if review.effective_status(item, now) == "new" or item.claimed_by == actor.username:
        review.claim_item(session, console.api.policy, actor, item_id, now=now)


@router.post("/items/{item_id}/claim")
def claim(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        item = review.claim_item(
            session, console.api.policy, form.viewer.actor, item_id, now=console.api.clock.now()
        )
        return f"You hold item {item.id} until {item.claim_expires_at:%H:%M} UTC"

    return run_change(request, form, f"/items/{item_id}", change)


@router.post("/items/{item_id}/release")
def release(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        review.release_item(session, form.viewer.actor, item_id, now=console.api.clock.now())
        return f"Item {item_id} is back in the queue"

    return run_change(request, form, "/queue", change)


@router.post("/items/{item_id}/acknowledge")
def acknowledge(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        review.acknowledge_item(session, form.viewer.actor, item_id, now=console.api.clock.now())
        return f"Life-safety item {item_id} acknowledged"

    return run_change(request, form, f"/items/{item_id}", change)


@router.post("/items/{item_id}/dismiss")
def dismiss(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        _claim_on_the_way(session, request, form.viewer.actor, item_id)
        review.dismiss_item(
            session,
            console.api.policy,
            form.viewer.actor,
            item_id,
            reason=form.text("reason"),
            note=form.optional("note"),
            now=console.api.clock.now(),
        )
        return f"Item {item_id} dismissed ({form.text('reason')})"

    return run_change(request, form, "/queue", change)


@router.post("/items/{item_id}/duplicate")
def duplicate(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        _claim_on_the_way(session, request, form.viewer.actor, item_id)
        item = review.mark_duplicate(
            session,
            form.viewer.actor,
            item_id,
            of=form.text("of"),
            note=form.optional("note"),
            now=console.api.clock.now(),
        )
        return f"Item {item_id} marked a duplicate of {item.duplicate_of}"

    return run_change(request, form, "/queue", change)


@router.post("/items/{item_id}/escalate")
def escalate(request: Request, item_id: ObjectId, form: Triage) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        _claim_on_the_way(session, request, form.viewer.actor, item_id)
        task = review.escalate_item(
            session,
            console.api.policy,
            form.viewer.actor,
            item_id,
            now=console.api.clock.now(),
            unit=form.optional("unit"),
            priority=form.optional("priority"),
            instructions=form.optional("instructions"),
        )
        return f"Item {item_id} escalated: task {task.id} ({task.priority}) for {task.unit_id}"

    return run_change(request, form, "/queue", change)


@router.post("/items/{item_id}/reopen")
def reopen(
    request: Request,
    item_id: ObjectId,
    form: Annotated[FormRequest, Depends(form_guard(Permission.ITEMS_REOPEN))],
) -> Response:
    console = console_of(request)

    def change(session: Session) -> str:
        review.reopen_item(
            session, form.viewer.actor, item_id, reason=form.text("reason"), now=console.api.clock.now()
        )
        return f"Item {item_id} is back in the queue"

    return run_change(request, form, f"/items/{item_id}", change)
