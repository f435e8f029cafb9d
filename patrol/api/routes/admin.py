"""/api/v1/users, /channels and /outbox: accounts, notification channels and delivery status (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import select

from patrol.api.deps import ChannelsManager, Ctx, UsersManager
from patrol.api.schemas import ChannelIn, ChannelOut, DeliveryOut, UserIn, UserOut, UserPatchIn, user_out
from patrol.workflow.audit import record_audit
from patrol.workflow.auth import create_user, list_users, update_user
from patrol.workflow.models import NotificationChannel, OutboxDelivery, OutboxEvent
from patrol.workflow.outbox import add_channel, deactivate_channel

router = APIRouter(tags=["admin"])
UsernamePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]


@router.get("/users", response_model=list[UserOut], summary="All accounts")
def get_users(ctx: Ctx, actor: UsersManager) -> list[UserOut]:
    with ctx.db.read_session() as session:
        return [user_out(u) for u in list_users(session, actor)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create an account")
def post_user(ctx: Ctx, actor: UsersManager, body: UserIn) -> UserOut:
    with ctx.db.session() as session:
        user = create_user(
            session,
            actor,
            username=body.username,
            password=body.password,
            role=body.role,
            units=ctx.policy.units,
            now=ctx.clock.now(),
            unit_id=body.unit_id,
            email=body.email,
            display_name=body.display_name,
            hasher=ctx.hasher,
        )
        return user_out(user)


@router.patch(
    "/users/{username}",
    response_model=UserOut,
    summary="Change role, unit, e-mail, password or deactivate (revokes the account's sessions)",
)
def patch_user(ctx: Ctx, actor: UsersManager, username: UsernamePath, body: UserPatchIn) -> UserOut:
    with ctx.db.session() as session:
        user = update_user(
            session,
            actor,
            username,
            units=ctx.policy.units,
            now=ctx.clock.now(),
            role=body.role,
            unit_id=body.unit_id,
            email=body.email,
            active=body.active,
            password=body.password,
            hasher=ctx.hasher,
        )
        return user_out(user)


@router.get("/channels", response_model=list[ChannelOut], tags=["notifications"], summary="Notification channels")
def get_channels(ctx: Ctx, actor: ChannelsManager) -> list[ChannelOut]:
    with ctx.db.read_session() as session:
        return [
            ChannelOut.of(c) for c in session.scalars(select(NotificationChannel).order_by(NotificationChannel.name))
        ]


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=status.HTTP_201_CREATED,
    tags=["notifications"],
    summary="Add a webhook (HMAC-signed JSON) or e-mail channel",
)
def post_channel(ctx: Ctx, actor: ChannelsManager, body: ChannelIn) -> ChannelOut:
    if body.unit_id is not None:
        ctx.policy.units.get(body.unit_id)
    with ctx.db.session() as session:
        channel = add_channel(
            session,
            name=body.name,
            kind=body.kind,
            config=body.config,
            topics=body.topics,
            at=ctx.clock.now(),
            unit_id=body.unit_id,
        )
        record_audit(
            session,
            at=ctx.clock.now(),
            actor=actor,
            action="channel.created",
            entity_type="channel",
            entity_id=channel.id,
            after={"name": channel.name, "kind": channel.kind, "topics": body.topics, "unit_id": body.unit_id},
        )
        return ChannelOut.of(channel)


@router.delete(
    "/channels/{channel_id}",
    response_model=ChannelOut,
    tags=["notifications"],
    summary="Deactivate a channel (pending deliveries to it are kept)",
)
def delete_channel(
    ctx: Ctx, actor: ChannelsManager, channel_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
) -> ChannelOut:
    with ctx.db.session() as session:
        channel = deactivate_channel(session, channel_id)
        record_audit(
            session,
            at=ctx.clock.now(),
            actor=actor,
            action="channel.deactivated",
            entity_type="channel",
            entity_id=channel.id,
            before={"active": True},
            after={"active": False},
        )
        return ChannelOut.of(channel)


@router.get(
    "/outbox/deliveries",
    response_model=list[DeliveryOut],
    tags=["notifications"],
    summary="Notification deliveries, newest first",
)
def deliveries(
    ctx: Ctx,
    actor: ChannelsManager,
    status_: Annotated[Literal["pending", "delivered", "dead"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    query = select(OutboxDelivery, OutboxEvent.topic).join(OutboxEvent, OutboxDelivery.event_id == OutboxEvent.id)
    if status_:
        query = query.where(OutboxDelivery.status == status_)
    with ctx.db.read_session() as session:
        rows = session.execute(query.order_by(OutboxDelivery.id.desc()).limit(limit)).tuples()
        return [
            DeliveryOut(
                id=d.id,
                event_id=d.event_id,
                topic=topic,
                channel_id=d.channel_id,
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at,
                last_error=d.last_error,
                delivered_at=d.delivered_at,
            )
            for d, topic in rows
        ]
