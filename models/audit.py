"""Audit trail: every read of a note or an event page, every login, every administrative change.

Append-only: triggers refuse UPDATE and DELETE (created with the table and by the migration), and each row
carries the hash of the previous row, so an edit made around the triggers is found by `aew audit verify`."""
from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, Column, event
from sqlmodel import Field, SQLModel

from models.base import utcnow


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor: str = Field(max_length=128)              # username, "api:<client>", "system"
    action: str = Field(index=True, max_length=64)  # view_note, view_event, login, login_failed, export, ...
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    prev_hash: str | None = Field(default=None, max_length=64)
    row_hash: str | None = Field(default=None, max_length=64)


# The statements that make the table append-only, per dialect (used by create_all and by the migration).
APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS auditlog_no_update BEFORE UPDATE ON auditlog "
        "BEGIN SELECT RAISE(ABORT, 'auditlog is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS auditlog_no_delete BEFORE DELETE ON auditlog "
        "BEGIN SELECT RAISE(ABORT, 'auditlog is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION auditlog_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'auditlog is append-only'; END $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS auditlog_append_only ON auditlog",
        "CREATE TRIGGER auditlog_append_only BEFORE UPDATE OR DELETE ON auditlog "
        "FOR EACH ROW EXECUTE FUNCTION auditlog_append_only()",
    ],
}

for _dialect, _stmts in APPEND_ONLY_DDL.items():
    for _sql in _stmts:
        event.listen(AuditLog.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))
