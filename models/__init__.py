"""SQLModel tables and their Create/Update/Public schemas. Importing this package registers every table."""
from models.base import utcnow
from models.org import Department, User, UserCreate, UserPublic, ApiClient, Role
from models.note import Note, NoteCreate, NotePublic, ScanJob, JobStatus, NoteStatus
from models.event import (AdverseEvent, AdverseEventPublic, AdverseEventUpdate, EventAction, EventFinding,
                          EventSource, EventStatus, Finding, FindingPublic)
from models.audit import AuditLog
from models.outbox import OutboxMessage, OutboxStatus

__all__ = [
    "utcnow", "Department", "User", "UserCreate", "UserPublic", "ApiClient", "Role",
    "Note", "NoteCreate", "NotePublic", "ScanJob", "JobStatus", "NoteStatus",
    "AdverseEvent", "AdverseEventPublic", "AdverseEventUpdate", "EventAction", "EventFinding", "EventSource",
    "EventStatus", "Finding", "FindingPublic", "AuditLog", "OutboxMessage", "OutboxStatus",
]
