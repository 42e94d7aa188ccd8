"""Audit entries: who read or changed what. Each entry carries the hash of the one before (a hash chain),
written under a lock so concurrent writers cannot fork the chain; `verify_chain` finds the first broken link."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import text
from sqlmodel import Session, select

from models import AuditLog
from models.base import utcnow

_PG_CHAIN_LOCK = 0x61657701   # advisory lock id of the chain's tail (held until the writer commits)


def audit(*, session: Session, actor: str, action: str, object_type: str | None = None,
          object_id: Any = None, user_id: int | None = None, ip: str | None = None,
          detail: dict[str, Any] | None = None) -> AuditLog:
    """Record one audit entry in the caller's transaction, linked to the previous entry."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
    # SQLite: every transaction starts with BEGIN IMMEDIATE, so writers are already serialised
    prev = session.exec(select(AuditLog.row_hash).where(AuditLog.row_hash.is_not(None))
                        .order_by(AuditLog.id.desc()).limit(1)).first()
    row = AuditLog(actor=actor[:128], action=action, object_type=object_type,
                   object_id=None if object_id is None else str(object_id)[:64], user_id=user_id,
                   ip=(ip or None) and ip[:64], detail=dict(detail or {}), created_at=utcnow(), prev_hash=prev)
    row.row_hash = row_digest(row)
    session.add(row)
    session.flush()
    return row


def _utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_digest(row: AuditLog) -> str:
    """SHA-256 over the previous hash and every field of the entry except its id."""
    body = [row.prev_hash, row.user_id, row.actor, row.action, row.object_type, row.object_id, row.ip,
            row.detail or {}, _utc(row.created_at)]
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass
class ChainReport:
    checked: int
    unchained: int                 # entries written before the chain existed (older schema)
    broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(rows: Iterable[AuditLog]) -> ChainReport:
    """Walk the entries in id order; report the first whose hash or link to its predecessor does not hold."""
    checked = unchained = 0
    prev_hash: str | None = None
    started = False
    for row in rows:
        if row.row_hash is None and not started:
            unchained += 1
            continue
        if row.row_hash is None:
            return ChainReport(checked, unchained, row.id, "hash missing (row written around the chain)")
        if row.prev_hash != prev_hash:
            return ChainReport(checked, unchained, row.id,
                               "link broken: the previous entry was deleted, replaced or reordered")
        if row_digest(row) != row.row_hash:
            return ChainReport(checked, unchained, row.id, "content changed after it was written")
        started, prev_hash = True, row.row_hash
        checked += 1
    return ChainReport(checked, unchained)


def verify_audit_log(*, session: Session, batch: int = 2000) -> ChainReport:
    """Verify the whole audit table, reading it in id order in batches."""
    def rows():
        last = 0
        while True:
            chunk = session.exec(select(AuditLog).where(AuditLog.id > last).order_by(AuditLog.id).limit(batch)).all()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].id
            session.expunge_all()
    return verify_chain(rows())


def audit_api_read(*, session: Session, client_name: str, action: str, ip: str | None, rows: int,
                   object_type: str | None = None, object_id: Any = None, query: dict[str, Any] | None = None) -> None:
    """Record an API read that returned patient data: which client, what, how many rows, from where."""
    detail: dict[str, Any] = {"rows": rows}
    if query:
        detail["query"] = {k: (v.value if hasattr(v, "value") else v) for k, v in query.items() if v not in (None, "")}
    audit(session=session, actor=f"api:{client_name}", action=action, object_type=object_type,
          object_id=object_id, ip=ip, detail=detail)
