"""Scheme alerts: real-time (per new near-duplicate group), digest (hourly or daily) and spike.

Every alert is addressed to one subscriber and goes through the workflow's notification outbox
(`patrol.workflow.outbox.enqueue_notification`): a unit subscriber's alert carries the unit id, so
only that unit's channels (and channels for every unit) get it; a user subscriber's carries the
user's e-mail address for channels that write to the recipient.

An alert that falls in its subscriber's quiet hours is held in `scheme_alerts` and put in the
outbox when they end (`release_held_alerts`); an alert about a life-safety post never waits.
Each alert has an idempotency key (scheme, mode, group or window, subscriber), shared with the
outbox event, so re-running the live stage or a tick never sends anything twice.

Times come from the caller (`now`), so tests drive all three modes with a manual clock.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from patrol.schema import AnalysedPost
from patrol.schemes.document import title_of
from patrol.schemes.models import Scheme, SchemeAlert, SchemeMatch, SchemeSubscriber
from patrol.schemes.quiet_hours import LOCAL_ZONE, quiet_until
from patrol.workflow.ids import new_id
from patrol.workflow.models import User
from patrol.workflow.outbox import TOPICS, enqueue_notification

REALTIME_TOPIC = "scheme.match"
DIGEST_TOPIC = "scheme.digest"
SPIKE_TOPIC = "scheme.spike"
SCHEME_TOPICS: dict[str, str] = {topic: TOPICS[topic] for topic in (REALTIME_TOPIC, DIGEST_TOPIC, SPIKE_TOPIC)}
_MODE_TOPICS = {"realtime": REALTIME_TOPIC, "digest": DIGEST_TOPIC, "spike": SPIKE_TOPIC}

#: How many windows a late tick catches up on, so a stopped scheduler does not lose digests.
DIGEST_CATCH_UP = {"hourly": 24, "daily": 7}
SPIKE_BASELINE = timedelta(days=7)
SPIKE_MIN_HISTORY = timedelta(hours=24)
EXAMPLES = 5


class SchemeAlertReport(BaseModel):
    queued: int = Field(default=0, description="alerts put in the outbox now")
    held: int = Field(default=0, description="alerts waiting for their subscriber's quiet hours to end")
    released: int = Field(default=0, description="held alerts whose quiet hours ended, now in the outbox")
    digests: int = 0
    spikes: int = 0
    by_mode: dict[str, int] = Field(default_factory=dict)

    def add(self, alert: SchemeAlert | None) -> None:
        if alert is None:
            return
        if alert.status == "queued":
            self.queued += 1
        else:
            self.held += 1
        self.by_mode[alert.mode] = self.by_mode.get(alert.mode, 0) + 1


def _short(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:16]


def alert_key(mode: str, scheme_id: str, part: str, subscriber: SchemeSubscriber) -> str:
    return f"scheme.{mode}:{scheme_id}:{part}:{subscriber.kind}:{subscriber.subscriber}"


def _scheme_payload(scheme: Scheme) -> dict[str, Any]:
    return {"id": scheme.id, "name": scheme.name, "purpose": scheme.purpose, "version": scheme.version}


def queue_alert(
    session: Session,
    *,
    scheme: Scheme,
    subscriber: SchemeSubscriber,
    mode: str,
    key: str,
    payload: dict[str, Any],
    life_safety: bool,
    now: datetime,
) -> SchemeAlert | None:
    """Record one alert; into the outbox now, or held until the subscriber's quiet hours end.

    Returns None when an alert with this key exists (the stage or tick ran before).
    """
    if session.scalar(select(SchemeAlert.id).where(SchemeAlert.key == key)) is not None:
        return None
    held_until = None if life_safety else quiet_until(subscriber.quiet_start, subscriber.quiet_end, now)
    alert = SchemeAlert(
        id=new_id("sa"),
        key=key,
        scheme_id=scheme.id,
        mode=mode,
        subscriber_kind=subscriber.kind,
        subscriber=subscriber.subscriber,
        life_safety=life_safety,
        created_at=now,
        deliver_at=held_until or now,
        status="held",
        payload_json=json.dumps(
            payload | {"subscriber": f"{subscriber.kind}:{subscriber.subscriber}", "mode": mode},
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        ),
    )
    session.add(alert)
    if held_until is None:
        _to_outbox(session, alert, now)
    session.flush()
    return alert


def _to_outbox(session: Session, alert: SchemeAlert, now: datetime) -> None:
    unit_id: str | None = None
    email: str | None = None
    if alert.subscriber_kind == "unit":
        unit_id = alert.subscriber
    else:
        user = session.get(User, alert.subscriber)
        email = user.email if user is not None and user.active else None
    payload = json.loads(alert.payload_json)
    if alert.deliver_at > alert.created_at:
        payload["held_for_quiet_hours_until"] = alert.deliver_at.isoformat()
    event = enqueue_notification(
        session,
        topic=_MODE_TOPICS[alert.mode],
        key=alert.key,
        payload=payload,
        at=now,
        unit_id=unit_id,
        recipient_email=email,
    )
    alert.status = "queued"
    alert.outbox_event_id = event.id if event is not None else None


def release_held_alerts(session: Session, now: datetime) -> int:
    """Put every held alert whose quiet hours have ended into the outbox."""
    due = session.scalars(
        select(SchemeAlert)
        .where(SchemeAlert.status == "held", SchemeAlert.deliver_at <= now)
        .order_by(SchemeAlert.deliver_at, SchemeAlert.id)
    ).all()
    for alert in due:
        _to_outbox(session, alert, now)
    session.flush()
    return len(due)


# -- real-time ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewMatch:
    """A match the live stage just stored, with the post it is about."""

    match: SchemeMatch
    post: AnalysedPost


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def queue_realtime_alerts(
    session: Session, scheme: Scheme, matches: Sequence[NewMatch], now: datetime, report: SchemeAlertReport
) -> None:
    """One alert per new near-duplicate group of a real-time scheme, to each subscriber."""
    for new in matches:
        if new.match.group_post_id != new.match.post_id:
            continue  # a copy of a group already alerted on; it shows in the scheme's page and digests
        post = new.post.post
        headline = title_of(post) or post.text
        payload = {
            "summary": f"监测方案「{scheme.name}」新匹配：{_snippet(headline, 40)}",
            "scheme": _scheme_payload(scheme),
            "life_safety": new.match.life_safety,
            "post": {
                "id": post.id,
                "source_id": post.source_id,
                "url": post.url,
                "published_at": post.published_at.isoformat(),
                "title": title_of(post) or None,
                "snippet": _snippet(post.text),
                "terms": json.loads(new.match.terms_json),
                "jurisdiction": new.match.jurisdiction,
            },
        }
        for subscriber in scheme.subscribers:
            key = alert_key("realtime", scheme.id, _short(new.match.group_post_id), subscriber)
            report.add(
                queue_alert(
                    session,
                    scheme=scheme,
                    subscriber=subscriber,
                    mode="realtime",
                    key=key,
                    payload=payload,
                    life_safety=new.match.life_safety,
                    now=now,
                )
            )


# -- digest -------------------------------------------------------------------------------------


def window_end(now: datetime, period: str) -> datetime:
    """The end of the last complete hour or local day before `now`."""
    local = now.astimezone(LOCAL_ZONE)
    if period == "hourly":
        end = local.replace(minute=0, second=0, microsecond=0)
    else:
        end = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return end.astimezone(UTC)


def _step(period: str) -> timedelta:
    return timedelta(hours=1) if period == "hourly" else timedelta(days=1)


def _examples(rows: Sequence[SchemeMatch]) -> list[dict[str, Any]]:
    groups = Counter(row.group_post_id for row in rows)
    firsts: dict[str, SchemeMatch] = {}
    for row in rows:
        firsts.setdefault(row.group_post_id, row)
    ranked = sorted(firsts.values(), key=lambda r: (-groups[r.group_post_id], not r.life_safety, r.published_at))
    return [
        {
            "post_id": row.post_id,
            "source_id": row.source_id,
            "published_at": row.published_at.isoformat(),
            "copies": groups[row.group_post_id],
            "terms": json.loads(row.terms_json),
            "life_safety": row.life_safety,
        }
        for row in ranked[:EXAMPLES]
    ]


def send_digests(session: Session, now: datetime, report: SchemeAlertReport | None = None) -> SchemeAlertReport:
    """Summaries for digest schemes, one per complete window with matches, to each subscriber."""
    report = report or SchemeAlertReport()
    schemes = session.scalars(
        select(Scheme).options(selectinload(Scheme.subscribers)).where(Scheme.alert_mode == "digest")
    ).all()
    for scheme in schemes:
        if not scheme.subscribers:
            continue
        period = scheme.digest_period
        step = _step(period)
        last_end = window_end(now, period)
        first_start = max(last_end - step * DIGEST_CATCH_UP[period], window_end(scheme.created_at, period))
        rows = session.scalars(
            select(SchemeMatch)
            .where(
                SchemeMatch.scheme_id == scheme.id,
                SchemeMatch.matched_at >= first_start,
                SchemeMatch.matched_at < last_end,
            )
            .order_by(SchemeMatch.matched_at, SchemeMatch.id)
        ).all()
        start = first_start
        while start < last_end:
            end = start + step
            in_window = [r for r in rows if start <= r.matched_at < end]
            if in_window:
                _queue_digest(session, scheme, start, end, in_window, now, report)
            start = end
    return report


def _queue_digest(
    session: Session,
    scheme: Scheme,
    start: datetime,
    end: datetime,
    rows: Sequence[SchemeMatch],
    now: datetime,
    report: SchemeAlertReport,
) -> None:
    label = "小时" if scheme.digest_period == "hourly" else "日"
    local_start = start.astimezone(LOCAL_ZONE)
    when = local_start.strftime("%Y-%m-%d %H:00") if scheme.digest_period == "hourly" else f"{local_start:%Y-%m-%d}"
    groups = len({r.group_post_id for r in rows})
    life_safety = any(r.life_safety for r in rows)
    payload = {
        "summary": f"监测方案「{scheme.name}」{label}摘要 {when}：{len(rows)} 条（{groups} 组）",
        "scheme": _scheme_payload(scheme),
        "window": {"start": start.isoformat(), "end": end.isoformat(), "period": scheme.digest_period},
        "matches": len(rows),
        "groups": groups,
        "life_safety": life_safety,
        "examples": _examples(rows),
    }
    part = start.strftime("%Y%m%dT%H%MZ")
    for subscriber in scheme.subscribers:
        alert = queue_alert(
            session,
            scheme=scheme,
            subscriber=subscriber,
            mode="digest",
            key=alert_key("digest", scheme.id, part, subscriber),
            payload=payload,
            life_safety=life_safety,
            now=now,
        )
        if alert is not None:
            report.digests += 1
        report.add(alert)


# -- spike --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeCheck:
    scheme_id: str
    window_start: datetime
    count: int
    baseline_per_hour: float
    baseline_hours: float
    spike: bool


def spike_check(session: Session, scheme: Scheme, now: datetime) -> SpikeCheck | None:
    """The last complete hour's volume (by publication time) against the scheme's own baseline.

    The baseline is the mean hourly volume over the week before that hour, counted from the
    scheme's first match or creation, whichever is earlier; with less than a day of history
    there is no baseline yet and no spike (None).
    """
    end = window_end(now, "hourly")
    start = end - timedelta(hours=1)
    baseline_from = start - SPIKE_BASELINE
    rows = session.scalars(
        select(SchemeMatch.published_at).where(
            SchemeMatch.scheme_id == scheme.id,
            SchemeMatch.published_at >= baseline_from,
            SchemeMatch.published_at < end,
        )
    ).all()
    first = session.scalar(
        select(SchemeMatch.published_at)
        .where(SchemeMatch.scheme_id == scheme.id)
        .order_by(SchemeMatch.published_at)
        .limit(1)
    )
    history_from = max(baseline_from, min(scheme.created_at, first) if first is not None else scheme.created_at)
    history = start - history_from
    if history < SPIKE_MIN_HISTORY:
        return None
    count = sum(1 for at in rows if at >= start)
    before = sum(1 for at in rows if history_from <= at < start)
    hours = history.total_seconds() / 3600
    mean = before / hours
    spike = count >= scheme.spike_min_count and count >= scheme.spike_ratio * mean
    return SpikeCheck(scheme.id, start, count, mean, hours, spike)


def check_spikes(session: Session, now: datetime, report: SchemeAlertReport | None = None) -> SchemeAlertReport:
    report = report or SchemeAlertReport()
    schemes = session.scalars(
        select(Scheme).options(selectinload(Scheme.subscribers)).where(Scheme.alert_mode == "spike")
    ).all()
    for scheme in schemes:
        if not scheme.subscribers:
            continue
        check = spike_check(session, scheme, now)
        if check is None or not check.spike:
            continue
        end = check.window_start + timedelta(hours=1)
        rows = session.scalars(
            select(SchemeMatch)
            .where(
                SchemeMatch.scheme_id == scheme.id,
                SchemeMatch.published_at >= check.window_start,
                SchemeMatch.published_at < end,
            )
            .order_by(SchemeMatch.published_at, SchemeMatch.id)
        ).all()
        life_safety = any(r.life_safety for r in rows)
        local = check.window_start.astimezone(LOCAL_ZONE)
        payload = {
            "summary": (
                f"监测方案「{scheme.name}」声量突增 {local:%m-%d %H}时：{check.count} 条/小时"
                f"（近一周平均 {check.baseline_per_hour:.1f} 条/小时）"
            ),
            "scheme": _scheme_payload(scheme),
            "window": {"start": check.window_start.isoformat(), "end": end.isoformat()},
            "count": check.count,
            "baseline_per_hour": round(check.baseline_per_hour, 3),
            "baseline_hours": round(check.baseline_hours, 1),
            "ratio": scheme.spike_ratio,
            "life_safety": life_safety,
            "examples": _examples(rows),
        }
        part = check.window_start.strftime("%Y%m%dT%H%MZ")
        for subscriber in scheme.subscribers:
            alert = queue_alert(
                session,
                scheme=scheme,
                subscriber=subscriber,
                mode="spike",
                key=alert_key("spike", scheme.id, part, subscriber),
                payload=payload,
                life_safety=life_safety,
                now=now,
            )
            if alert is not None:
                report.spikes += 1
            report.add(alert)
    return report


def run_scheme_alerts(session: Session, now: datetime) -> SchemeAlertReport:
    """The periodic part: release alerts whose quiet hours ended, then digests, then spikes.

    Call it every few minutes (each pass, or a scheduler tick); running it more often is harmless.
    """
    report = SchemeAlertReport()
    report.released = release_held_alerts(session, now)
    send_digests(session, now, report)
    check_spikes(session, now, report)
    return report
