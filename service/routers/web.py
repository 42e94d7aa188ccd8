"""The web pages of the quality department, mounted by `service.app` through `setup(app)`."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from urllib.parse import quote

from service.web.auth import LoginRequired, PasswordChangeRequired, WebError
from service.web.render import render
from service.web.session import SessionCodec, resolve_secret_key

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


def _views() -> list[APIRouter]:
    from service.web.views import accounts, admin, audit_export, events, exports, login, queue, reports, stats
    return [login.router, accounts.router, exports.router, queue.router, events.router, stats.router,
            reports.router, audit_export.router, admin.router]


def setup(app: FastAPI) -> None:
    """Session cookie, error pages, static files and the page routers."""
    settings = app.state.settings
    secure = getattr(settings, "session_cookie_secure", None)
    if secure is None:
        secure = settings.public_base_url.startswith("https://")
    app.state.session_codec = SessionCodec(secret_key=resolve_secret_key(settings.secret_key), secure=bool(secure),
                                           max_age=int(settings.session_absolute_hours * 3600))

    @app.middleware("http")
    async def write_session_cookie(request: Request, call_next):
        response = await call_next(request)
        sess = request.scope.get("state", {}).get("web_session")
        if sess is not None and sess.modified:
            app.state.session_codec.save(sess, response)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PasswordChangeRequired, _password_change_required)
    app.add_exception_handler(WebError, _web_error)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(router)
    for r in _views():
        app.include_router(r)


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = "/login?next=" + quote(target, safe="")
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": login})
    if request.method == "GET":
        return RedirectResponse(login, status_code=303)
    return JSONResponse(status_code=401, content={"detail": "请先登录 / login required"})


async def _password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/account/password"})
    return RedirectResponse("/account/password", status_code=303)


async def _web_error(request: Request, exc: WebError) -> Response:
    return render(request, "error.html", status_code=exc.status_code, message=exc.message,
                  status=exc.status_code)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/events", status_code=303)
