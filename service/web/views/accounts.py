"""Accounts: every user's own password page; for admins, the user list (create, deactivate, reactivate,
role/department, reset with a one-time password, unlock) and the API keys (create, revoke). All audited."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from models import ApiClient, Department, Role, User
from models.base import utcnow
from service.deps import SessionDep
from service.services import accounts as acc
from service.services.audit import audit
from service.services.sessions import active_session_counts
from service.services.throttle import clear_user_lock
from service.web.auth import AdminUser, CsrfChecked, CurrentUser, WebError
from service.web.render import render
from service.web.views.login import client_ip

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=128)]
Secret = Annotated[str, Form(max_length=256)]


# ---------------------------------------------------------------- own password

@router.get("/account/password")
def password_page(request: Request, user: CurrentUser):
    return render(request, "account/password.html", error=None, forced=user.must_change_password)


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, user: CurrentUser, _: CsrfChecked,
                    current: Secret, new: Secret, confirm: Secret):
    settings = request.app.state.settings
    try:
        if new != confirm:
            raise acc.PasswordPolicyError("两次输入的新密码不一致")
        acc.change_own_password(session=session, user=user, current=current, new=new, settings=settings)
    except acc.PasswordPolicyError as e:
        return render(request, "account/password.html", status_code=422, error=str(e).split(" / ")[0],
                      forced=user.must_change_password)
    audit(session=session, actor=user.username, user_id=user.id, action="password_changed", object_type="user",
          object_id=user.id, ip=client_ip(request))
    session.commit()
    # every session of the user ended with the change, this one too: log in with the new password
    return RedirectResponse("/login?next=%2Fevents", status_code=303)


# ---------------------------------------------------------------- users (admin)

def _user(session, user_id: int) -> User:
    u = session.get(User, user_id)
    if u is None:
        raise WebError(404, "用户不存在")
    return u


def _users_page(request: Request, session, *, error: str | None = None, notice: str | None = None,
                one_time: tuple[str, str] | None = None, status_code: int = 200):
    users = acc.list_users(session=session)
    deps = {d.id: d for d in session.exec(select(Department)).all()}
    return render(request, "admin/users.html", status_code=status_code, users=users, deps=deps, roles=list(Role),
                  sessions=active_session_counts(session=session), now=utcnow(), error=error, notice=notice,
                  one_time=one_time)


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, admin: AdminUser):
    return _users_page(request, session)


@router.post("/admin/users")
def create_user(request: Request, session: SessionDep, admin: AdminUser, _: CsrfChecked, username: Short,
                role: Short, department: Short = "", full_name: Short = ""):
    """New users get a one-time password, shown once, to be changed at the first login."""
    if role not in Role.__members__:
        return _users_page(request, session, error="未知角色", status_code=422)
    password = acc.one_time_password()
    try:
        u = acc.create_user(session=session, username=username, password=password, role=Role(role),
                            department=department.strip() or None, full_name=full_name.strip() or None,
                            settings=request.app.state.settings, must_change_password=True)
    except ValueError as e:
        session.rollback()
        return _users_page(request, session, error=str(e).split(" / ")[0], status_code=422)
    audit(session=session, actor=admin.username, user_id=admin.id, action="user_created", object_type="user",
          object_id=u.id, ip=client_ip(request), detail={"username": u.username, "role": role,
                                                         "department": department or None})
    session.commit()
    return _users_page(request, session, notice=f"已创建用户 {u.username}", one_time=(u.username, password))


@router.post("/admin/users/{user_id}/{op}")
def user_action(request: Request, session: SessionDep, admin: AdminUser, _: CsrfChecked, user_id: int, op: str,
                role: Short = "", department: Short = ""):
    u = _user(session, user_id)
    detail: dict = {"username": u.username}
    one_time = None
    if op in ("deactivate", "reactivate"):
        if u.id == admin.id:
            return _users_page(request, session, error="不能停用自己的账户", status_code=409)
        acc.set_active(session=session, user=u, active=op == "reactivate")
        notice = f"已{'启用' if op == 'reactivate' else '停用'} {u.username}"
    elif op == "role":
        if role not in Role.__members__:
            return _users_page(request, session, error="未知角色", status_code=422)
        if u.id == admin.id and role != Role.admin.value:
            return _users_page(request, session, error="不能取消自己的管理员角色", status_code=409)
        detail.update(before={"role": u.role.value, "department_id": u.department_id})
        try:
            acc.change_role(session=session, user=u, role=Role(role), department=department.strip() or None)
        except ValueError as e:
            session.rollback()
            return _users_page(request, session, error=str(e).split(" / ")[0], status_code=422)
        detail.update(after={"role": role, "department": department.strip() or None})
        notice = f"已修改 {u.username} 的角色/科室（其登录已失效）"
    elif op == "reset-password":
        password = acc.reset_password(session=session, user=u)
        one_time = (u.username, password)
        notice = f"已重置 {u.username} 的密码"
    elif op == "unlock":
        clear_user_lock(session=session, user=u)
        notice = f"已解锁 {u.username}"
    else:
        raise WebError(404, "未知操作")
    audit(session=session, actor=admin.username, user_id=admin.id, action=f"user_{op.replace('-', '_')}",
          object_type="user", object_id=u.id, ip=client_ip(request), detail=detail)
    session.commit()
    return _users_page(request, session, notice=notice, one_time=one_time)


# ---------------------------------------------------------------- API keys (admin)

def _keys_page(request: Request, session, *, error: str | None = None, notice: str | None = None,
               new_key: tuple[str, str] | None = None, status_code: int = 200):
    return render(request, "admin/apikeys.html", status_code=status_code, clients=acc.list_api_clients(session=session),
                  now=utcnow(), error=error, notice=notice, new_key=new_key)


@router.get("/admin/apikeys")
def keys_page(request: Request, session: SessionDep, admin: AdminUser):
    return _keys_page(request, session)


@router.post("/admin/apikeys")
def create_key(request: Request, session: SessionDep, admin: AdminUser, _: CsrfChecked, name: Short,
               expires: Annotated[str, Form(max_length=10)] = ""):
    expires_at = None
    if expires:
        try:
            expires_at = datetime.combine(date.fromisoformat(expires), time(23, 59, 59),
                                          ZoneInfo(request.app.state.settings.timezone))
        except ValueError:
            return _keys_page(request, session, error="到期日期格式不正确", status_code=422)
    if not name.strip():
        return _keys_page(request, session, error="请填写系统名称", status_code=422)
    try:
        client, key = acc.create_api_client(session=session, name=name.strip(), expires_at=expires_at)
    except ValueError as e:
        session.rollback()
        return _keys_page(request, session, error=str(e).split(" / ")[0], status_code=409)
    audit(session=session, actor=admin.username, user_id=admin.id, action="apikey_created", object_type="apikey",
          object_id=client.id, ip=client_ip(request), detail={"name": client.name, "prefix": client.key_prefix,
                                                              "expires_at": expires_at.isoformat() if expires_at else None})
    session.commit()
    return _keys_page(request, session, notice=f"已创建 {client.name} 的密钥", new_key=(client.name, key))


@router.post("/admin/apikeys/{client_id}/revoke")
def revoke_key(request: Request, session: SessionDep, admin: AdminUser, _: CsrfChecked, client_id: int):
    client = session.get(ApiClient, client_id)
    if client is None:
        raise WebError(404, "API 密钥不存在")
    acc.revoke_api_client(session=session, client=client, by=admin.username)
    audit(session=session, actor=admin.username, user_id=admin.id, action="apikey_revoked", object_type="apikey",
          object_id=client.id, ip=client_ip(request), detail={"name": client.name, "prefix": client.key_prefix})
    session.commit()
    return RedirectResponse("/admin/apikeys", status_code=303)
