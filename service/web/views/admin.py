"""Administration: the index of admin pages and the audit log."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func
from sqlmodel import select

from models import AuditLog
from service.deps import SessionDep
from service.edge import sane_date
from service.web.auth import AdminUser
from service.web.render import render

router = APIRouter(include_in_schema=False)
AUDIT_PAGE = 50
ADMIN_PAGES = [("/admin/users", "用户管理", "新建、停用、角色与科室、重置密码、解锁"),
               ("/admin/apikeys", "API 密钥", "病历系统的接入密钥：新建、吊销、最近使用时间"),
               ("/admin/audit", "审计日志", "谁在何时查看或修改了哪些事件与病历（可导出）"),
               ("/admin/notifications", "通知与钉钉机器人", "通知路由、发送状态、死信重发"),
               ("/admin/dingtalk-users", "钉钉用户关联", "钉钉员工与平台用户、科室的对应关系")]


@router.get("/admin")
def admin_index(request: Request, user: AdminUser):
    mounted = {getattr(r, "path", "") for r in request.app.routes}
    pages = [p for p in ADMIN_PAGES if p[0] in mounted]
    return render(request, "admin/index.html", pages=pages)


def _audit_query(request: Request, *, actor: str, action: str, object_type: str, object_id: str, day: str):
    stmt = select(AuditLog)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor[:128])
    if action:
        stmt = stmt.where(AuditLog.action == action[:64])
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type[:32])
    if object_id:
        stmt = stmt.where(AuditLog.object_id == object_id[:64])
    try:
        d = date.fromisoformat(day) if day else None
    except ValueError:
        d = None
    if d:
        start = datetime.combine(d, time(), ZoneInfo(request.app.state.settings.timezone))
        stmt = stmt.where(AuditLog.created_at >= start, AuditLog.created_at < start + timedelta(days=1))
    return stmt


@router.get("/admin/audit")
def audit_log(request: Request, session: SessionDep, user: AdminUser, actor: str = "", action: str = "",
              object_type: str = "", object_id: str = "", day: str = "", page: int = 1):
    f = dict(actor=actor, action=action, object_type=object_type, object_id=object_id, day=day)
    stmt = _audit_query(request, **f)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    pages = max(1, -(-total // AUDIT_PAGE))
    page = min(max(1, page), pages)
    rows = session.exec(stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
                        .offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE)).all()
    actions = session.exec(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    return render(request, "admin/audit.html", rows=rows, total=total, page=page, pages=pages, actions=actions, f=f)
