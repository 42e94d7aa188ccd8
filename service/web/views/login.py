"""Log in and out. Five wrong passwords lock the account for 15 minutes."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from models import User
from models.base import utcnow
from service.deps import SessionDep
from service.services.accounts import hash_password, verify_password
from service.services.audit import audit
from service.web.auth import CsrfChecked, OptionalUser, WebSessionDep
from service.web.render import render

router = APIRouter(include_in_schema=False)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
_DUMMY_HASH: list[str] = []


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host) may follow a login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/events"
    return target


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(request: Request, session: SessionDep, web: WebSessionDep, _: CsrfChecked,
          username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form()] = "/events"):
    user = session.exec(select(User).where(User.username == username.strip())).first()
    now, ip = utcnow(), client_ip(request)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit(session=session, actor=user.username, user_id=user.id, action="login_locked", ip=ip)
        session.commit()
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return _failed(request, username, next, f"账户已锁定，请 {minutes} 分钟后再试或联系管理员")
    ok = verify_password(user.password_hash, password) if user is not None else _burn_time(password)
    if user is None or not ok or not user.is_active:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
                audit(session=session, actor=user.username, user_id=user.id, action="account_locked", ip=ip)
            session.add(user)
        audit(session=session, actor=username[:128] or "?", user_id=user.id if user else None,
              action="login_failed", ip=ip)
        session.commit()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            return _failed(request, username, next, f"密码连续错误 {MAX_FAILED_LOGINS} 次，账户已锁定 {LOCK_MINUTES} 分钟")
        return _failed(request, username, next, "用户名或密码错误")
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    audit(session=session, actor=user.username, user_id=user.id, action="login", ip=ip)
    session.commit()
    web.login(user_id=user.id, password_hash=user.password_hash)
    return RedirectResponse(safe_next(next), status_code=303)


def _failed(request: Request, username: str, next: str, error: str):
    return render(request, "login.html", status_code=401, next=safe_next(next), error=error, username=username)


def _burn_time(password: str) -> bool:
    """Unknown user: spend the same time as a real check, so timing does not reveal user names."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password"))
    verify_password(_DUMMY_HASH[0], password)
    return False


@router.post("/logout")
def logout(request: Request, session: SessionDep, web: WebSessionDep, user: OptionalUser, _: CsrfChecked):
    if user is not None:
        audit(session=session, actor=user.username, user_id=user.id, action="logout", ip=client_ip(request))
        session.commit()
    web.logout()
    request.state.user = None
    return RedirectResponse("/login", status_code=303)
