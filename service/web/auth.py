"""Who is asking: the logged-in user, role checks and CSRF verification, as Annotated dependencies.

    @router.get("/admin/x")
    def page(request: Request, user: AdminUser): ...

    @router.post("/admin/x")
    def save(request: Request, user: AdminUser, _: CsrfChecked, name: Annotated[str, Form()]): ...
"""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Callable

from fastapi import Depends, Request

from models import Role, User
from service.deps import SessionDep
from service.services.sessions import session_user
from service.web.session import WebSession, get_web_session

TRIAGE_ROLES = (Role.admin, Role.quality_manager, Role.department_reviewer)
ALL_DEPARTMENTS_ROLES = (Role.admin, Role.quality_manager)


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, htmx requests get HX-Redirect, others 401."""


class PasswordChangeRequired(Exception):
    """The user logged in with a one-time password: every page but /account/password redirects there."""


PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/logout"})


class WebError(Exception):
    """An error page for a person (403, 404, 409 ...), rendered in the site's layout."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


WebSessionDep = Annotated[WebSession, Depends(get_web_session)]


def get_optional_user(request: Request, session: SessionDep, web: WebSessionDep) -> User | None:
    """The active user of a live server-side session, or None (the session is looked up on every request)."""
    if getattr(request.state, "user", None) is not None:
        return request.state.user
    token = web.token
    if token is None:
        return None
    settings = request.app.state.settings
    user = session_user(session=session, token=token, idle=timedelta(minutes=settings.session_idle_minutes),
                        absolute=timedelta(hours=settings.session_absolute_hours))
    session.commit()   # the touch of last_seen_at, or the removal of an expired session
    if user is None:
        web.logout()
        return None
    request.state.user = user
    return user


def get_current_user(request: Request, user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise LoginRequired()
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_roles(*roles: Role) -> Callable[..., User]:
    """A dependency that lets only the given roles through (403 for the others)."""
    allowed = frozenset(roles)

    def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise WebError(403, "没有权限访问此页面")
        return user
    dependency.__name__ = "require_" + "_".join(r.value for r in roles)
    return dependency


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
ManagerUser = Annotated[User, Depends(require_roles(*ALL_DEPARTMENTS_ROLES))]
TriageUser = Annotated[User, Depends(require_roles(*TRIAGE_ROLES))]


async def verify_csrf(request: Request, web: WebSessionDep) -> None:
    """POST forms carry `csrf_token`; htmx requests send the `X-CSRF-Token` header (set on <body>)."""
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            token = form.get("csrf_token")
    if not web.csrf_ok(token if isinstance(token, str) else None):
        raise WebError(403, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试")


CsrfChecked = Annotated[None, Depends(verify_csrf)]
