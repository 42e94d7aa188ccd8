"""Manual reports (web form, DingTalk bot, approval forms) land in the same queue as NLP findings."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from models import AdverseEvent, EventSource, EventStatus
from models.base import utcnow
from notifications.outbox import enqueue_event_notice
from service.services.events import MERGEABLE, SEVERITY_RANK, record_action
from service.settings import Settings


def _merge_key(*, source_system: str | None, encounter_id: str | None, patient_id: str | None, fallback: str) -> str:
    src = source_system or "manual"
    if encounter_id:
        return f"enc:{src}:{encounter_id}"
    if patient_id:
        return f"pat:{src}:{patient_id}"
    return f"report:{fallback}"


def file_manual_report(*, session: Session, settings: Settings, category: str, severity: str, description: str,
                       source: EventSource, department: str | None = None, bed: str | None = None,
                       occurred_at: datetime | None = None, encounter_id: str | None = None,
                       patient_id: str | None = None, source_system: str | None = None,
                       reporter_user_id: int | None = None, reporter_name: str | None = None,
                       anonymous: bool = False, external_ref: str | None = None,
                       draft: bool = False) -> tuple[AdverseEvent, bool]:
    """File a person's report. An open NLP event of the same encounter and category within the merge window
    absorbs it (returns (event, False)); otherwise a new event is created (returns (event, True)).
    A report with the same external_ref (e.g. DingTalk msgId) is filed once."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"未知严重程度 / unknown severity: {severity}")
    if external_ref:
        prev = session.exec(select(AdverseEvent).where(AdverseEvent.external_ref == external_ref)).first()
        if prev is not None:
            return prev, False
    now = utcnow()
    when = occurred_at or now
    actor = "匿名" if anonymous else (reporter_name or "unknown")
    key = _merge_key(source_system=source_system, encounter_id=encounter_id, patient_id=patient_id,
                     fallback=external_ref or f"{source.value}:{now.timestamp()}")
    if not draft and (encounter_id or patient_id):
        ev = session.exec(select(AdverseEvent).where(
            AdverseEvent.merge_key == key, AdverseEvent.category == category, AdverseEvent.kind == "event",
            AdverseEvent.status.in_(MERGEABLE),
            AdverseEvent.last_evidence_at >= when - timedelta(hours=settings.merge_window_hours))
            .order_by(AdverseEvent.id.desc())).first()
        if ev is not None:
            record_action(session=session, event=ev, action="report_merged", actor_name=actor,
                          actor_user_id=None if anonymous else reporter_user_id, comment=description,
                          detail={"source": source.value, "external_ref": external_ref})
            if SEVERITY_RANK[severity] < SEVERITY_RANK.get(ev.severity, 4):
                ev.severity = severity
                enqueue_event_notice(session=session, event=ev, topic="event_upgraded")
            ev.updated_at = now
            session.add(ev)
            return ev, False
    ev = AdverseEvent(kind="event", category=category, severity=severity,
                      status=EventStatus.draft if draft else EventStatus.new, source=source, department=department,
                      patient_id=patient_id, encounter_id=encounter_id, bed=bed, summary=description,
                      occurred_at=when, merge_key=key, detected_at=now, last_evidence_at=when,
                      deadline_at=None if draft else now + timedelta(hours=settings.deadline_hours(severity)),
                      reporter_user_id=None if anonymous else reporter_user_id,
                      reporter_name=None if anonymous else reporter_name, anonymous=anonymous,
                      external_ref=external_ref)
    session.add(ev)
    session.flush()
    record_action(session=session, event=ev, action="reported", actor_name=actor,
                  actor_user_id=None if anonymous else reporter_user_id, to_status=ev.status.value,
                  comment=description, detail={"source": source.value, "external_ref": external_ref})
    if not draft:
        enqueue_event_notice(session=session, event=ev, topic="event_created")
    return ev, True


def submit_draft(*, session: Session, settings: Settings, event: AdverseEvent, actor_name: str,
                 actor_user_id: int | None = None) -> AdverseEvent:
    """A completed draft enters the queue: deadline starts, notifications go out."""
    if event.status != EventStatus.draft:
        return event
    now = utcnow()
    event.status, event.detected_at, event.updated_at = EventStatus.new, now, now
    event.deadline_at = now + timedelta(hours=settings.deadline_hours(event.severity))
    session.add(event)
    record_action(session=session, event=event, action="submitted", actor_name=actor_name,
                  actor_user_id=actor_user_id, from_status="draft", to_status="new")
    enqueue_event_notice(session=session, event=event, topic="event_created")
    return event
