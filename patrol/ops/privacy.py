"""Author handles are pseudonymised by default; the raw handle is a privileged, audited read.

Everything that leaves the patrol as an export or report shows an author as `作者-<keyed hash>`:
the same keyed hash (HMAC-SHA256 over source and handle, with the installation's salt in
`<data_dir>/state/report-author-salt`) the weekly report uses, so one author has one pseudonym
everywhere, and nobody without the salt can go from a pseudonym back to a handle.

Only a reviewer (duty supervisor) or an admin may see a raw handle, only of a post that belongs
to a flagged review item, and each such view is written to the audit log (`item.author_revealed`,
with the post id, never the handle itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrol.config import Settings
from patrol.reports.pseudonyms import AuthorNames, load_or_create_salt
from patrol.schema import AnalysedPost, Post
from patrol.store.base import PostStore, SearchHit, SearchPage
from patrol.workflow.actors import Actor, Role
from patrol.workflow.audit import record_audit
from patrol.workflow.errors import NotFound, PermissionDenied
from patrol.workflow.models import ReviewItemPost

#: Roles that may see a raw author handle on a flagged item.
AUTHOR_REVEAL_ROLES: frozenset[Role] = frozenset({Role.REVIEWER, Role.ADMIN})
REVEAL_ACTION = "item.author_revealed"


def author_pseudonyms(settings: Settings) -> AuthorNames:
    """The installation's pseudonymiser (the salt is made on first use, readable by its owner only)."""
    return AuthorNames(load_or_create_salt(settings.state_dir))


def pseudonymise_post(post: Post, names: AuthorNames) -> Post:
    return post.model_copy(update={"author": names(post.source_id, post.author)})


def pseudonymise_analysed(items: Iterable[AnalysedPost], names: AuthorNames) -> list[AnalysedPost]:
    return [item.model_copy(update={"post": pseudonymise_post(item.post, names)}) for item in items]


def pseudonymise_hit(hit: SearchHit, names: AuthorNames) -> SearchHit:
    return hit.model_copy(update={"author": names(hit.source_id, hit.author)})


def pseudonymise_page(page: SearchPage, names: AuthorNames) -> SearchPage:
    """A search page fit for export: every hit's author replaced by its pseudonym."""
    return page.model_copy(update={"hits": [pseudonymise_hit(h, names) for h in page.hits]})


def may_reveal_authors(actor: Actor) -> bool:
    return actor.role in AUTHOR_REVEAL_ROLES


def reveal_author(
    session: Session, actor: Actor, store: PostStore, *, item_id: str, post_id: str, now: datetime
) -> str | None:
    """The raw handle of `post_id` on flagged item `item_id`, for a reviewer or admin; audited.

    Call it in the session (transaction) that serves the request, so the audit row commits with it.
    """
    if not may_reveal_authors(actor):
        raise PermissionDenied(
            f"{actor.username} ({actor.role.value}) may not see raw author handles; they are shown"
            " pseudonymised. Ask a duty supervisor if the handle is needed for the case"
        )
    link = session.scalar(
        select(ReviewItemPost.id).where(ReviewItemPost.item_id == item_id, ReviewItemPost.post_id == post_id)
    )
    if link is None:
        raise NotFound(
            f"post {post_id} is not part of flagged item {item_id}; raw handles are shown only there"
        )
    found = store.get(post_id)
    record_audit(
        session,
        at=now,
        actor=actor,
        action=REVEAL_ACTION,
        entity_type="review_item",
        entity_id=item_id,
        after={"post_id": post_id, "source_id": found.post.source_id if found else None},
    )
    return found.post.author if found else None
