"""Escalation: an event still `new` after its deadline gets exactly one escalation message."""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Callable

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AdverseEvent, EventStatus
from models.base import utcnow
from notifications.outbox import enqueue_event_notice
from service.db import session_scope
from service.services.events import record_action

log = logging.getLogger("aew.notify.escalation")


def escalate_overdue(*, session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Mark overdue untriaged events escalated and write their outbox rows, in the caller's transaction.
    The conditional UPDATE makes this safe with many processes: each event is escalated once."""
    ids = session.exec(select(AdverseEvent.id).where(AdverseEvent.status == EventStatus.new,
                                                     AdverseEvent.deadline_at.is_not(None),
                                                     AdverseEvent.deadline_at < now,
                                                     AdverseEvent.escalated_at.is_(None))
                       .order_by(AdverseEvent.deadline_at).limit(limit)).all()
    done = []
    for event_id in ids:
        res = session.exec(update(AdverseEvent).where(AdverseEvent.id == event_id, AdverseEvent.escalated_at.is_(None),
                                                      AdverseEvent.status == EventStatus.new)
                           .values(escalated_at=now))
        if res.rowcount != 1:
            continue
        ev = session.get(AdverseEvent, event_id)
        session.refresh(ev)
        record_action(session=session, event=ev, action="escalated", actor_name="system",
                      detail={"deadline_at": ev.deadline_at.isoformat() if ev.deadline_at else None})
        enqueue_event_notice(session=session, event=ev, topic="event_escalated")
        done.append(event_id)
    return done


class Escalator:
    def __init__(self, *, engine: Engine, poll_seconds: float, clock: Callable[[], datetime] = utcnow):
        self.engine, self.poll_seconds, self.clock = engine, poll_seconds, clock

    def run_once(self) -> int:
        with session_scope(self.engine) as s:
            done = escalate_overdue(session=s, now=self.clock())
        if done:
            log.info("events escalated", extra={"count": len(done)})
        return len(done)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as e:  # noqa: BLE001 — retried next poll
                log.error("escalation loop error", extra={"error": repr(e)})
            stop.wait(self.poll_seconds)
