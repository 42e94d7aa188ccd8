"""SQLModel tables and their Create/Update/Public schemas. Importing this package registers every table:
each module of the package is imported, so a new table only needs its own module (and a migration)."""
import importlib
import pkgutil

from models.base import utcnow
from models.org import Department, User, UserCreate, UserPublic, ApiClient, Role
from models.note import Note, NoteCreate, NotePublic, ScanJob, JobStatus, NoteStatus
from models.event import (AdverseEvent, AdverseEventPublic, AdverseEventUpdate, EventAction, EventFinding,
                          EventSource, EventStatus, Finding, FindingPublic)
from models.audit import AuditLog
from models.outbox import OutboxMessage, OutboxStatus

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "migrations" and not _m.name.startswith("_"):
        importlib.import_module(f"models.{_m.name}")

__all__ = [
    "utcnow", "Department", "User", "UserCreate", "UserPublic", "ApiClient", "Role",
    "Note", "NoteCreate", "NotePublic", "ScanJob", "JobStatus", "NoteStatus",
    "AdverseEvent", "AdverseEventPublic", "AdverseEventUpdate", "EventAction", "EventFinding", "EventSource",
    "EventStatus", "Finding", "FindingPublic", "AuditLog", "OutboxMessage", "OutboxStatus",
]
