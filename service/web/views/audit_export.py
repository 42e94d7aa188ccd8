"""The audit log as CSV for admins (the filters of /admin/audit), with each entry's chain hashes; audited."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select

from models import AuditLog
from service.deps import SessionDep
from service.services.audit import audit
from service.web.auth import AdminUser
from service.web.exports import to_csv
from service.web.render import local_time
from service.web.views.login import client_ip

router = APIRouter(include_in_schema=False)
AUDIT_EXPORT_MAX = 100_000
AUDIT_COLUMNS = ["id", "时间", "用户", "用户编号", "操作", "对象类型", "对象编号", "IP", "详情", "prev_hash", "row_hash"]


def audit_query(*, tz: str, actor: str, action: str, object_type: str, object_id: str, day: str):
    stmt = select(AuditLog)
    for col, val, n in ((AuditLog.actor, actor, 128), (AuditLog.action, action, 64),
                        (AuditLog.object_type, object_type, 32), (AuditLog.object_id, object_id, 64)):
        if val:
            stmt = stmt.where(col == val[:n])
    try:
        d = date.fromisoformat(day) if day else None
    except ValueError:
        d = None
    if d:
        start = datetime.combine(d, time(), ZoneInfo(tz))
        stmt = stmt.where(AuditLog.created_at >= start, AuditLog.created_at < start + timedelta(days=1))
    return stmt


@router.get("/admin/audit/export.csv")
def audit_export(request: Request, session: SessionDep, user: AdminUser, actor: str = "", action: str = "",
                 object_type: str = "", object_id: str = "", day: str = ""):
    """The filtered audit log as CSV (UTF-8 with BOM for Excel), oldest first, at most 100,000 entries."""
    f = dict(actor=actor, action=action, object_type=object_type, object_id=object_id, day=day)
    stmt = audit_query(tz=request.app.state.settings.timezone, **f)
    rows = session.exec(stmt.order_by(AuditLog.id).limit(AUDIT_EXPORT_MAX)).all()
    fmt = local_time(request)
    body = to_csv([[r.id, fmt(r.created_at, "%Y-%m-%d %H:%M:%S"), r.actor, r.user_id or "", r.action,
                    r.object_type or "", r.object_id or "", r.ip or "",
                    json.dumps(r.detail, ensure_ascii=False, default=str) if r.detail else "",
                    r.prev_hash or "", r.row_hash or ""] for r in rows], columns=AUDIT_COLUMNS)
    audit(session=session, actor=user.username, user_id=user.id, action="audit_export", ip=client_ip(request),
          detail={"filter": {k: v for k, v in f.items() if v}, "count": len(rows)})
    session.commit()
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="aew-audit.csv"'})
