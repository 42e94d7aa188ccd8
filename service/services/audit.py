"""Audit entries: who read or changed what."""
from typing import Any

from sqlmodel import Session

from models import AuditLog


def audit(*, session: Session, actor: str, action: str, object_type: str | None = None,
          object_id: Any = None, user_id: int | None = None, ip: str | None = None,
          detail: dict[str, Any] | None = None) -> AuditLog:
    """Record one audit entry in the caller's transaction."""
    row = AuditLog(actor=actor, action=action, object_type=object_type,
                   object_id=None if object_id is None else str(object_id), user_id=user_id, ip=ip,
                   detail=dict(detail or {}))
    session.add(row)
    return row
