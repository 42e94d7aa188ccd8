"""Find the EMR encounter a report is about (bed + ward, or name), so the report merges with an NLP event."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from models import AdverseEvent, Note
from service.services.events import MERGEABLE


def _bed_variants(bed: str) -> list[str]:
    b = bed.strip()
    return [b, f"{b}床", f"{b}号床", f"+{b.lstrip('加')}" if b.startswith("加") else b]


def find_encounter(*, session: Session, bed: str | None, department: str | None, patient: str | None,
                   when: datetime, window_hours: float) -> tuple[str, str | None, str | None] | None:
    """(source_system, encounter_id, patient_id) of the one encounter matching the report, else None.
    A bed alone matches only when exactly one encounter had notes from that bed (and ward) in the window."""
    if not bed:
        return None
    since = when - timedelta(hours=window_hours)
    q = select(Note.source_system, Note.encounter_id, Note.patient_id, Note.department, Note.patient_name).where(
        Note.bed.in_(_bed_variants(bed)), or_(Note.encounter_id.is_not(None), Note.patient_id.is_not(None)),
        or_(Note.note_time >= since, Note.note_time.is_(None) & (Note.received_at >= since)))
    rows = session.exec(q.limit(200)).all()
    if department:
        rows = [r for r in rows if r[3] and (r[3] == department or r[3].startswith(department)
                                             or department.startswith(r[3]))]
    if patient and "某" not in patient and "*" not in patient:
        named = [r for r in rows if r[4] == patient]
        rows = named or rows
    groups = {(r[0], r[1], r[2]) for r in rows}
    return groups.pop() if len(groups) == 1 else None


def merge_key(source_system: str, encounter_id: str | None, patient_id: str | None) -> str:
    return f"enc:{source_system}:{encounter_id}" if encounter_id else f"pat:{source_system}:{patient_id}"


def open_event_for(*, session: Session, key: str, category: str, since: datetime,
                   exclude_id: int | None = None) -> AdverseEvent | None:
    """An open event of the same encounter and category within the merge window."""
    q = (select(AdverseEvent).where(AdverseEvent.merge_key == key, AdverseEvent.category == category,
                                    AdverseEvent.kind == "event", AdverseEvent.status.in_(MERGEABLE[1:]),
                                    AdverseEvent.last_evidence_at >= since)
         .order_by(AdverseEvent.id.desc()))
    for ev in session.exec(q).all():
        if ev.id != exclude_id:
            return ev
    return None
