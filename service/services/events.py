"""The adverse-event queue: file findings into events (merged per incident), record every action."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlmodel import Session, select

from models import AdverseEvent, EventAction, EventFinding, EventSource, EventStatus, Finding, Note
from models.base import utcnow
from notifications.outbox import enqueue_event_notice
from service.settings import Settings

SEVERITY_RANK = {"I": 1, "II": 2, "III": 3, "IV": 4}
MERGEABLE = (EventStatus.draft, EventStatus.new, EventStatus.in_review, EventStatus.confirmed)


def merge_key_for(note: Note) -> str:
    """Incidents are merged within an encounter; without one, within a patient; else within the note."""
    if note.encounter_id:
        return f"enc:{note.source_system}:{note.encounter_id}"
    if note.patient_id:
        return f"pat:{note.source_system}:{note.patient_id}"
    return f"note:{note.source_system}:{note.external_id}"


def more_severe(a: str, b: str) -> bool:
    return SEVERITY_RANK.get(a, 4) < SEVERITY_RANK.get(b, 4)


def record_action(*, session: Session, event: AdverseEvent, action: str, actor_name: str,
                  actor_user_id: int | None = None, from_status: str | None = None, to_status: str | None = None,
                  comment: str | None = None, detail: dict[str, Any] | None = None) -> EventAction:
    """Append one row to an event's history."""
    row = EventAction(event_id=event.id, actor_user_id=actor_user_id, actor_name=actor_name, action=action,
                      from_status=from_status, to_status=to_status, comment=comment, detail=dict(detail or {}))
    session.add(row)
    return row


def _find_open_event(*, session: Session, note: Note, kind: str, category: str, since: datetime) -> AdverseEvent | None:
    # A new version of the same note always lands on the event its earlier version made, whatever its status.
    same_note = (select(AdverseEvent).join(EventFinding, EventFinding.event_id == AdverseEvent.id)
                 .join(Finding, Finding.id == EventFinding.finding_id).join(Note, Note.id == Finding.note_id)
                 .where(Note.source_system == note.source_system, Note.external_id == note.external_id,
                        AdverseEvent.kind == kind, AdverseEvent.category == category)
                 .order_by(AdverseEvent.id.desc()).limit(1))
    ev = session.exec(same_note).first()
    while ev is not None and ev.status == EventStatus.merged and ev.merged_into_id:
        ev = session.get(AdverseEvent, ev.merged_into_id)
    if ev is not None:
        return ev
    q = (select(AdverseEvent).where(AdverseEvent.merge_key == merge_key_for(note), AdverseEvent.kind == kind,
                                    AdverseEvent.category == category, AdverseEvent.status.in_(MERGEABLE),
                                    AdverseEvent.last_evidence_at >= since)
         .order_by(AdverseEvent.id.desc()).limit(1))
    return session.exec(q).first()


def file_findings(*, session: Session, note: Note, findings: Iterable[Finding], settings: Settings) -> list[AdverseEvent]:
    """Attach stored findings of one note to events (same merge key + category within the window), creating
    events and outbox rows as needed. Runs inside the caller's transaction."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.kind, f.category), []).append(f)
    when = note.note_time or note.received_at
    since = when - timedelta(hours=settings.merge_window_hours)
    touched = []
    for (kind, category), group in groups.items():
        severity = min((f.severity for f in group), key=lambda s: SEVERITY_RANK.get(s, 4))
        ev = _find_open_event(session=session, note=note, kind=kind, category=category, since=since)
        now = utcnow()
        if ev is None:
            ev = AdverseEvent(kind=kind, category=category, severity=severity, status=EventStatus.new,
                              source=EventSource.nlp, department=note.department, patient_id=note.patient_id,
                              encounter_id=note.encounter_id, bed=note.bed, occurred_at=when,
                              merge_key=merge_key_for(note), detected_at=now, last_evidence_at=when,
                              summary=group[0].explanation,
                              deadline_at=now + timedelta(hours=settings.deadline_hours(severity)))
            session.add(ev)
            session.flush()
            record_action(session=session, event=ev, action="created", actor_name="system",
                          to_status=ev.status.value, detail={"note_id": note.id, "rules": [f.rule for f in group]})
            enqueue_event_notice(session=session, event=ev, topic="event_created")
        else:
            ev.last_evidence_at = max(ev.last_evidence_at, when)
            ev.updated_at = now
            record_action(session=session, event=ev, action="evidence_added", actor_name="system",
                          detail={"note_id": note.id, "rules": [f.rule for f in group]})
            if more_severe(severity, ev.severity) and ev.status in (EventStatus.new, EventStatus.in_review):
                old = ev.severity
                ev.severity = severity
                deadline = ev.detected_at + timedelta(hours=settings.deadline_hours(severity))
                ev.deadline_at = min(ev.deadline_at or deadline, deadline)
                record_action(session=session, event=ev, action="severity_raised", actor_name="system",
                              detail={"from": old, "to": severity, "note_id": note.id})
                enqueue_event_notice(session=session, event=ev, topic="event_upgraded")
            session.add(ev)
        for f in group:
            session.add(EventFinding(event_id=ev.id, finding_id=f.id))
        touched.append(ev)
    return touched


def event_note_ids(*, session: Session, event_id: int) -> list[int]:
    q = (select(Finding.note_id).join(EventFinding, EventFinding.finding_id == Finding.id)
         .where(EventFinding.event_id == event_id).distinct())
    return sorted(session.exec(q).all())


def event_findings(*, session: Session, event_id: int) -> list[Finding]:
    q = (select(Finding).join(EventFinding, EventFinding.finding_id == Finding.id)
         .where(EventFinding.event_id == event_id).order_by(Finding.id))
    return list(session.exec(q).all())
