"""Log in and out, throttled per user name (known or not) and per client address.

Every attempt is counted before its password is checked (`service.services.throttle`): with the default of
five, a burst of parallel guesses gets five checks and the rest are refused as locked. An unknown name costs
the same hash check and gets the same answers as a known one."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from models import User
from models.base import utcnow
from service.deps import SessionDep
from service.services import throttle
from service.services.accounts import hash_password, verify_password
from service.services.audit import audit
from service.services.sessions import end_session, start_session
from service.web.auth import CsrfChecked, OptionalUser, WebSessionDep
from service.web.render import render

router = APIRouter(include_in_schema=False)

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
    settings = request.app.state.settings
    ip, name = client_ip(request), username.strip()
    ukey, akey = throttle.user_key(name), throttle.ip_key(ip)
    limits = {ukey: settings.login_max_attempts, akey: settings.login_ip_max_attempts}
    window = timedelta(minutes=settings.login_lock_minutes)
    # 1. count the attempt and commit, before anything is checked: parallel guesses see distinct counts
    attempt = throttle.reserve_attempt(session=session, limits=limits, window=window)
    user = session.exec(select(User).where(User.username == name)).first()
    session.commit()
    if not attempt.allowed:
        audit(session=session, actor=name[:128] or "?", user_id=user.id if user else None, action="login_locked",
              ip=ip, detail={"by": "address" if attempt.blocked_by == akey else "user"})
        session.commit()
        return _failed(request, username, next, _locked_message(attempt, akey))
    # 2. the hash check, outside any transaction (argon2 takes a while)
    ok = verify_password(user.password_hash, password) if user is not None else _burn_time(password)
    if user is None or not ok or not user.is_active:
        locked = throttle.record_failure(session=session, attempt=attempt, limits=limits)
        if user is not None:
            user.failed_logins = attempt.counts[ukey]
            if ukey in locked:
                user.locked_until = utcnow() + window
                audit(session=session, actor=user.username, user_id=user.id, action="account_locked", ip=ip)
            session.add(user)
        audit(session=session, actor=name[:128] or "?", user_id=user.id if user else None,
              action="login_failed", ip=ip)
        session.commit()
        if locked:
            return _failed(request, username, next, _locked_message(attempt, akey, locked))
        return _failed(request, username, next, "用户名或密码错误")
    throttle.record_success(session=session, username_key=ukey, address_key=akey)
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    token = start_session(session=session, user=user, ip=ip)
    audit(session=session, actor=user.username, user_id=user.id, action="login", ip=ip)
    session.commit()
    web.login(token=token)
    if user.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    return RedirectResponse(safe_next(next), status_code=303)


def _locked_message(attempt: throttle.Attempt, address_key: str, locked: list[str] | None = None) -> str:
    """The same words for a known and an unknown user name; the address lock says so."""
    key = attempt.blocked_by or (locked[0] if locked else None)
    if key == address_key:
        return f"此地址登录失败次数过多，已暂停登录，请 {_minutes_left(attempt)} 分钟后再试"
    return f"账户已锁定，请 {_minutes_left(attempt)} 分钟后再试或联系管理员"


def _minutes_left(attempt: throttle.Attempt) -> int:
    if attempt.retry_at is None:      # the lock starts with this failure
        return max(1, round(attempt.window.total_seconds() / 60))
    return max(1, int((attempt.retry_at - utcnow()).total_seconds() // 60) + 1)


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
    if web.token:
        end_session(session=session, token=web.token)
    if user is not None:
        audit(session=session, actor=user.username, user_id=user.id, action="logout", ip=client_ip(request))
    session.commit()
    web.logout()
    request.state.user = None
    return RedirectResponse("/login", status_code=303)
