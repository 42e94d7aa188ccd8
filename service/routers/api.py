"""The EMR-facing JSON API (/api/v1): ingest notes, sync scan, read notes and events."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import select

from models import (AdverseEvent, AdverseEventPublic, EventSource, EventStatus, Finding, FindingPublic, JobStatus,
                    Note, NoteCreate, ScanJob)
from models.note import PatientIn
from nlp.types import NoteInput
from service.deps import ApiClientDep, ScannerDep, SessionDep, SettingsDep
from service.edge import Offset, RowId
from service.errors import http_error
from service.services.audit import audit, audit_api_read
from service.services.events import event_findings, event_note_ids
from service.services.jobs import retry_failed
from service.services.notes import ingest_note

router = APIRouter(prefix="/api/v1", tags=["api"])


class NoteBatch(BaseModel):
    notes: list[NoteCreate] = Field(min_length=1)


class ScanRequest(BaseModel):
    id: str = Field(default="sync", min_length=1, max_length=128)
    text: str
    note_type: str | None = Field(default=None, max_length=64)
    patient_id: str | None = Field(default=None, max_length=64)
    encounter_id: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=64)
    time: str | None = Field(default=None, max_length=64)
    patient: PatientIn = Field(default_factory=PatientIn)


Short = Annotated[str | None, Query(max_length=64)]


def _check_text(text: str, limit: int, where: str = "text") -> None:
    if len(text) > limit:
        raise http_error(413, "note_too_long", f"{where} 超过 {limit} 字符上限", f"{where} exceeds {limit} characters")
    if not text.strip():
        raise http_error(422, "empty_text", f"{where} 不能为空", f"{where} must not be empty")


def _accepted(note: Note, created: bool) -> dict[str, Any]:
    return {"id": note.id, "url": f"/api/v1/notes/{note.id}", "external_id": note.external_id,
            "source_system": note.source_system, "version": note.version,
            "status": "accepted" if created else "duplicate"}


@router.post("/notes", status_code=202,
             responses={200: {"description": "the same note was posted before: its first copy"}})
def post_note(data: NoteCreate, client: ApiClientDep, session: SessionDep, settings: SettingsDep,
              request: Request, response: Response) -> dict[str, Any]:
    """Store one note and queue it for scanning (202); the same note again returns the first (200)."""
    _check_text(data.text, settings.max_note_chars)
    note, created = ingest_note(session=session, data=data, client_name=client.name, tz_name=settings.timezone)
    session.commit()
    _count(request, created)
    response.headers["Location"] = f"/api/v1/notes/{note.id}"
    if not created:
        response.status_code = 200
    return _accepted(note, created)


@router.post("/notes:batch", status_code=202)
def post_notes_batch(batch: NoteBatch, client: ApiClientDep, session: SessionDep, settings: SettingsDep,
                     request: Request) -> dict[str, Any]:
    """Store up to AEW_MAX_BATCH notes in one transaction; all or nothing."""
    if len(batch.notes) > settings.max_batch:
        raise http_error(413, "batch_too_large", f"一批最多 {settings.max_batch} 条",
                         f"a batch holds at most {settings.max_batch} notes")
    for i, n in enumerate(batch.notes):
        _check_text(n.text, settings.max_note_chars, f"notes[{i}].text")
    items = []
    for i, n in enumerate(batch.notes):
        note, created = ingest_note(session=session, data=n, client_name=client.name, tz_name=settings.timezone)
        items.append({"index": i, **_accepted(note, created)})
    session.commit()
    for it in items:
        _count(request, it["status"] == "accepted")
    return {"accepted": sum(it["status"] == "accepted" for it in items),
            "duplicates": sum(it["status"] == "duplicate" for it in items), "items": items}


def _count(request: Request, created: bool) -> None:
    request.app.state.metrics.notes_ingested.labels("accepted" if created else "duplicate").inc()


@router.get("/notes/{note_id}")
def get_note(note_id: RowId, client: ApiClientDep, session: SessionDep, request: Request) -> dict[str, Any]:
    """A note with its scan status and findings (the read is audited)."""
    note = session.get(Note, note_id)
    if note is None:
        raise http_error(404, "note_not_found", "未找到该病历", f"note {note_id} not found")
    job = session.exec(select(ScanJob).where(ScanJob.note_id == note_id)).first()
    findings = session.exec(select(Finding).where(Finding.note_id == note_id).order_by(Finding.start)).all()
    audit_api_read(session=session, client_name=client.name, action="view_note", object_type="note",
                   object_id=note_id, ip=request.client.host if request.client else None, rows=1 + len(findings))
    session.commit()
    return {"id": note.id, "source_system": note.source_system, "external_id": note.external_id,
            "version": note.version, "status": note.status.value, "note_type": note.note_type,
            "patient_id": note.patient_id, "encounter_id": note.encounter_id, "department": note.department,
            "text": note.text, "received_at": note.received_at, "scanned_at": note.scanned_at,
            "scanner_version": note.scanner_version,
            "job": {"status": job.status.value, "attempts": job.attempts, "last_error": job.last_error} if job else None,
            "findings": [FindingPublic.model_validate(f, from_attributes=True).model_dump() for f in findings]}


@router.post("/notes/{note_id}:retry")
def retry_note(note_id: RowId, client: ApiClientDep, session: SessionDep) -> dict[str, Any]:
    """Queue a note whose scan failed for good once more."""
    if not retry_failed(session=session, note_id=note_id):
        raise http_error(409, "not_failed", "该病历不是扫描失败状态", "the note's scan has not failed")
    audit(session=session, actor=f"api:{client.name}", action="retry_note", object_type="note", object_id=note_id)
    session.commit()
    return {"id": note_id, "status": JobStatus.pending.value}


@router.post("/scan")
def scan_now(req: ScanRequest, client: ApiClientDep, scanner: ScannerDep, settings: SettingsDep) -> dict[str, Any]:
    """Scan one note synchronously without storing it (in-editor reminders)."""
    _check_text(req.text, settings.max_note_chars)
    from nlp.types import InputError
    try:
        note = NoteInput.from_dict(req.model_dump())
    except InputError as e:
        raise http_error(422, "invalid_note", str(e).split(" / ")[0], str(e).split(" / ")[-1]) from e
    result = scanner.scan(note, ())
    return {**result.to_dict(), "scanner_version": getattr(scanner, "version", None)}


def event_public(session, ev: AdverseEvent) -> dict[str, Any]:
    out = AdverseEventPublic.model_validate(ev, from_attributes=True)
    out.note_ids = event_note_ids(session=session, event_id=ev.id)
    out.findings = [FindingPublic.model_validate(f, from_attributes=True)
                    for f in event_findings(session=session, event_id=ev.id)]
    return out.model_dump(mode="json")


@router.get("/events")
def list_events(request: Request, client: ApiClientDep, session: SessionDep,
                status: EventStatus | None = None, category: Short = None,
                severity: Literal["I", "II", "III", "IV"] | None = None, department: Short = None,
                source: EventSource | None = None, encounter_id: Short = None,
                limit: int = Query(100, ge=1, le=1000), offset: Offset = 0) -> list[dict[str, Any]]:
    """Events, newest first, filtered (the read is audited: client, filter, rows, address)."""
    q = select(AdverseEvent)
    for col, val in ((AdverseEvent.status, status), (AdverseEvent.category, category),
                     (AdverseEvent.severity, severity), (AdverseEvent.department, department),
                     (AdverseEvent.source, source), (AdverseEvent.encounter_id, encounter_id)):
        if val:
            q = q.where(col == val)
    q = q.order_by(AdverseEvent.created_at.desc(), AdverseEvent.id.desc()).offset(offset).limit(limit)
    out = [event_public(session, ev) for ev in session.exec(q).all()]
    audit_api_read(session=session, client_name=client.name, action="api_list_events", object_type="events",
                   ip=request.client.host if request.client else None, rows=len(out),
                   query=dict(status=status, category=category, severity=severity, department=department,
                              source=source, encounter_id=encounter_id, limit=limit, offset=offset))
    session.commit()
    return out


@router.get("/events/{event_id}")
def get_event(event_id: RowId, client: ApiClientDep, session: SessionDep, request: Request) -> dict[str, Any]:
    """One event with its notes and findings (the read is audited)."""
    ev = session.get(AdverseEvent, event_id)
    if ev is None:
        raise http_error(404, "event_not_found", "未找到该事件", f"event {event_id} not found")
    out = event_public(session, ev)
    audit_api_read(session=session, client_name=client.name, action="api_view_event", object_type="event",
                   object_id=ev.id, ip=request.client.host if request.client else None, rows=1)
    session.commit()
    return out
