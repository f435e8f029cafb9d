"""The workflow's background work, one `tick` at a time: what nobody clicks but must happen.

Each tick: lapsed claims return to the queue, ended shifts get their handover, missed deadlines are
escalated, and pending notifications are delivered. Every step is its own transaction and is safe
to run from several processes at once, so the worker may run beside the API or on its own
(`patrol workflow worker`).
"""

from __future__ import annotations

import logging
import threading

from pydantic import BaseModel

from patrol.workflow.actors import SYSTEM
from patrol.workflow.clock import Clock
from patrol.workflow.db import WorkflowDb
from patrol.workflow.delivery import DeliveryReport, DeliveryWorker
from patrol.workflow.items import expire_claims
from patrol.workflow.policy import WorkflowPolicy
from patrol.workflow.shifts import run_shift_changes
from patrol.workflow.sla import detect_breaches

log = logging.getLogger("patrol.workflow.worker")


class TickReport(BaseModel):
    expired_claims: int = 0
    handovers: list[str] = []
    breaches: list[str] = []
    deliveries: DeliveryReport = DeliveryReport()


class WorkflowWorker:
    def __init__(
        self, db: WorkflowDb, policy: WorkflowPolicy, clock: Clock, delivery: DeliveryWorker | None = None
    ) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        self.delivery = delivery or DeliveryWorker(db, clock)

    def tick(self) -> TickReport:
        report = TickReport()
        with self.db.session() as session:
            report.expired_claims = expire_claims(session, SYSTEM, now=self.clock.now())
        with self.db.session() as session:
            report.handovers = [h.id for h in run_shift_changes(session, self.policy, now=self.clock.now())]
        with self.db.session() as session:
            report.breaches = [
                f"{b.subject_type}:{b.subject_id}:{b.kind}"
                for b in detect_breaches(session, self.policy, now=self.clock.now())
            ]
        report.deliveries = self.delivery.run_once()
        if report.expired_claims or report.handovers or report.breaches or report.deliveries.leased:
            log.info("worker tick", extra=report.model_dump())
        return report

    def run(self, *, interval_s: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # one bad tick (database restart, ...) must not end the worker
                log.exception("worker tick failed; retrying next interval")
            stop.wait(interval_s)
