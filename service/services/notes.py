"""Ingest: store the raw note and its pending scan job in one transaction; duplicates return the first."""
from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import Note, NoteCreate, ScanJob
from models.base import utcnow


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest_version(*, session: Session, source_system: str, external_id: str) -> Note | None:
    """The newest stored version of a note of the source system."""
    q = (select(Note).where(Note.source_system == source_system, Note.external_id == external_id)
         .order_by(Note.version.desc()).limit(1))
    return session.exec(q).first()


def ingest_note(*, session: Session, data: NoteCreate, client_name: str,
                tz_name: str = "Asia/Shanghai") -> tuple[Note, bool]:
    """Store a note and its scan job (caller commits). Returns (note, created); same text → the first note."""
    source = data.source_system or client_name
    digest = text_hash(data.text)
    for _ in range(3):  # a concurrent insert of the same key loses the race at most a couple of times
        prev = latest_version(session=session, source_system=source, external_id=data.id)
        if prev is not None and prev.text_sha256 == digest:
            return prev, False
        note = Note(source_system=source, external_id=data.id, version=(prev.version + 1) if prev else 1,
                    text=data.text, text_sha256=digest, note_type=data.note_type, patient_id=data.patient_id,
                    patient_name=data.patient.name, encounter_id=data.encounter_id, department=data.department,
                    bed=data.bed, note_time=_aware(data.time, tz_name), patient_sex=data.patient.sex,
                    patient_age=data.patient.age, patient_allergies=list(data.patient.allergies))
        try:
            with session.begin_nested():
                session.add(note)
                session.flush()
                session.add(ScanJob(note_id=note.id, available_at=utcnow()))
                session.flush()
        except IntegrityError:
            continue
        return note, True
    raise RuntimeError("could not store note after concurrent conflicts")


def _aware(dt, tz_name: str):
    """EMR times without an offset are the hospital's local time."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        from zoneinfo import ZoneInfo
        dt = dt.replace(tzinfo=ZoneInfo(tz_name))
    return dt
