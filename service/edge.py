"""Validation at the edge and the one place where unexpected errors become the project's error.

`install(app)` adds: a request id per request (X-Request-ID), the body-size limit, a check of the path, query
and body for NUL characters, lone surrogates and invalid UTF-8, JSON/HTML error responses for HTTP and
validation errors, and a last handler that turns anything unexpected into a 500 in the project's shape,
logged with the request id and counted in /metrics. Bounded types for ids and offsets live here too.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import error_body, validation_error_body

log = logging.getLogger("aew.app")
access_log = logging.getLogger("aew.access")   # path only: query strings and bodies may carry patient data

DB_INT_MAX = 2**31 - 1          # the INTEGER primary keys of SQLite and PostgreSQL
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="a row id (1 … 2147483647)")]
Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="rows to skip (0 … 2147483647)")]

# paths answered as JSON; every other path is a page of the web UI and gets a Chinese HTML error page
JSON_PREFIXES = ("/api/", "/dingtalk/", "/healthz", "/metrics", "/openapi.json", "/docs", "/redoc", "/static/")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_JSON_BAD_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")

STATUS_TEXT = {
    400: ("bad_request", "请求格式不正确", "bad request"),
    401: ("unauthorized", "未登录或凭据无效", "unauthorized"),
    403: ("forbidden", "无权访问", "forbidden"),
    404: ("not_found", "未找到该页面或资源", "not found"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    409: ("conflict", "与当前状态冲突", "conflict"),
    413: ("body_too_large", "请求体过大", "request body too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported media type"),
    422: ("invalid_input", "请求内容不合法，请检查字段", "invalid request"),
    500: ("internal_error", "服务器内部错误，请稍后重试", "internal server error"),
}


def sane_date(value: date | None) -> date | None:
    """A date typed into a filter, or None when it lies outside 1900–2199 (where local↔UTC would overflow)."""
    return value if value is not None and 1900 <= value.year <= 2199 else None


def bad_text(value: str) -> str | None:
    """'NUL' or 'surrogate' when a string holds a NUL character or a lone surrogate, else None."""
    if "\x00" in value:
        return "NUL"
    if _SURROGATE.search(value):
        return "surrogate"
    return None


def _walk_bad(value: Any) -> str | None:
    if isinstance(value, str):
        return bad_text(value)
    if isinstance(value, dict):
        for k, v in value.items():
            found = bad_text(k) or _walk_bad(v)
            if found:
                return found
    elif isinstance(value, list):
        for v in value:
            found = _walk_bad(v)
            if found:
                return found
    return None


def _bad_chars_error(where: str, what: str) -> JSONResponse:
    zh = (f"{where} 中含有空字符（NUL, \\u0000），请删除后重试" if what == "NUL" else
          f"{where} 中含有不成对的代理字符（\\ud800–\\udfff），不是合法的 Unicode 文本，请删除后重试")
    en = (f"the {where} contains a NUL character (\\u0000); remove it and retry" if what == "NUL" else
          f"the {where} contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text; "
          "remove it and retry")
    return JSONResponse(status_code=422, content=error_body("invalid_characters", zh, en, where=where))


def _as_page(request: Request, response: Response | None) -> Response | None:
    """A JSON error of the guard, as the web UI's HTML error page when the request is for a page."""
    if response is None or not wants_html(request) or not isinstance(response, JSONResponse):
        return response
    detail = json.loads(response.body)["detail"]
    return _html_error(request, response.status_code, detail["message_zh"])


def check_body(body: bytes, content_type: str) -> JSONResponse | None:
    """An error response when a JSON or form body is not UTF-8 or holds NUL / lone surrogates."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse(status_code=400, content=error_body(
                "invalid_encoding", "请求体不是合法的 UTF-8 文本", "request body is not valid UTF-8"))
        if _JSON_BAD_ESCAPE.search(body):        # only then is a full parse needed
            try:
                found = _walk_bad(json.loads(body))
            except ValueError:
                return None                      # FastAPI answers invalid JSON itself (422)
            if found:
                return _bad_chars_error("body", found)
    elif ctype == "application/x-www-form-urlencoded":
        low = body.lower()
        if b"%00" in low or b"\x00" in low:
            for k, v in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                if "\x00" in k or "\x00" in v:
                    return _bad_chars_error("form", "NUL")
    return None


def wants_html(request: Request) -> bool:
    """Pages of the web UI get HTML errors; the API, callbacks and clients asking for JSON get JSON."""
    if request.url.path.startswith(JSON_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def _html_error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    """The web UI's error page, or a minimal Chinese page when the web UI is not mounted."""
    if getattr(request.app.state, "session_codec", None) is not None:
        try:
            from service.web.render import render
            return render(request, "error.html", status_code=status, message=message, status=status,
                          headers=headers)
        except Exception:  # noqa: BLE001 — the error page itself must not fail
            log.exception("error page failed to render", extra={"request_id": request_id(request)})
    from markupsafe import escape
    html = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{status}</title>'
            f"<h1>{status}</h1><p>{escape(message)}</p><p><a href=\"/events\">返回事件队列</a></p></html>")
    return HTMLResponse(html, status_code=status, headers=headers)


def request_id(request: Request) -> str:
    return getattr(request.state, "request_id", "") or ""


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
    """HTTP errors in the project's shape: {"detail": {"code", "message", "message_zh", "message_en"}}."""
    detail = exc.detail
    headers = getattr(exc, "headers", None)
    if not (isinstance(detail, dict) and "code" in detail):
        code, zh, en = STATUS_TEXT.get(exc.status_code, ("http_error", "请求未完成", "request failed"))
        if isinstance(detail, str) and detail and exc.status_code not in (404, 405):
            en = f"{en}: {detail}"
        detail = error_body(code, zh, en)["detail"]
    if wants_html(request):
        return _html_error(request, exc.status_code, detail.get("message_zh") or detail["message"], headers)
    return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=headers)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    body = validation_error_body(exc.errors())
    if wants_html(request):
        return _html_error(request, 422, body["detail"]["message_zh"])
    return JSONResponse(status_code=422, content=body)


def _internal_error(request: Request, rid: str) -> Response:
    if wants_html(request):
        return _html_error(request, 500, f"服务器内部错误，请稍后重试（请求编号 {rid}）")
    return JSONResponse(status_code=500, content=error_body(
        "internal_error", f"服务器内部错误，请稍后重试（请求编号 {rid}）",
        f"internal server error (request id {rid})", request_id=rid))


def install(app: FastAPI) -> None:
    """Add the edge middleware (outermost: call it after every other middleware) and the error handlers."""
    settings = app.state.settings
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)

    @app.middleware("http")
    async def edge(request: Request, call_next):
        t0 = time.perf_counter()
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        request.state.request_id = rid
        try:
            response = _as_page(request, await _guard(request)) or await call_next(request)
        except Exception as e:  # noqa: BLE001 — the one place where unexpected errors are turned into a 500
            log.error("unhandled error", exc_info=True, extra={
                "request_id": rid, "method": request.method, "path": request.url.path, "error": type(e).__name__})
            app.state.metrics.unhandled_errors.labels(type(e).__name__).inc()
            response = _internal_error(request, rid)
        response.headers["X-Request-ID"] = rid
        app.state.metrics.http_requests.labels(request.method, str(response.status_code)).inc()
        access_log.info("request", extra={"method": request.method, "path": request.url.path,
                                          "status": response.status_code, "request_id": rid,
                                          "ms": round((time.perf_counter() - t0) * 1000, 1)})
        return response

    async def _guard(request: Request) -> Response | None:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            return _too_large(settings.max_body_bytes)
        if "\x00" in request.url.path or bad_text(request.scope.get("path", "")):
            return _bad_chars_error("path", bad_text(request.scope.get("path", "")) or "NUL")
        for k, v in request.query_params.multi_items():
            found = bad_text(k) or bad_text(v)
            if found:
                return _bad_chars_error("query", found)
        if request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()
            if len(body) > settings.max_body_bytes:
                return _too_large(settings.max_body_bytes)
            return check_body(body, request.headers.get("content-type", ""))
        return None


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(status_code=413, content=error_body(
        "body_too_large", f"请求体超过 {limit} 字节", f"request body exceeds {limit} bytes"))
