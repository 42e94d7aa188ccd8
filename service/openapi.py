"""A truthful OpenAPI schema (errors, Bearer auth, content types) and API docs served without internet.

Swagger UI and ReDoc come from the `fastapi-offline` package (MIT; it ships Swagger UI, Apache-2.0, and ReDoc,
MIT, unchanged), mounted under /docs-assets, so /docs and /redoc work on a hospital network with no internet.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "title": "Error", "type": "object", "required": ["detail"],
    "description": "Every error: a stable code and the message in Chinese and English.",
    "properties": {"detail": {
        "type": "object", "required": ["code", "message", "message_zh", "message_en"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "message_zh": {"type": "string"}, "message_en": {"type": "string"},
                       "errors": {"type": "array", "items": {"type": "object"}},
                       "request_id": {"type": "string"}},
        "additionalProperties": True}},
}
ERROR_TEXT = {
    400: "Malformed request (body not UTF-8, not JSON, or not the expected shape)",
    401: "Missing, invalid or disabled API key / signature",
    404: "No such note or event",
    409: "Conflicts with the current state (e.g. retrying a note whose scan has not failed)",
    413: "Body, note text or batch larger than the configured limits",
    422: "Invalid input: the fields, the allowed values and the limits are listed",
    503: "Scanner or a dependency not available yet",
}


def _assets_dir() -> Path:
    import fastapi_offline
    return Path(fastapi_offline.__file__).resolve().parent / "static"


def _errors_for(path: str, method: str, op: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from what the code does."""
    codes: set[int] = set()
    has_body = "requestBody" in op
    has_params = bool(op.get("parameters")) or has_body
    if path.startswith("/api/"):
        codes.add(401)
    if has_params:
        codes.add(422)
    if "{" in path:
        codes.add(404)
    if method in ("post", "put", "patch"):
        codes |= {400, 413}
    if path.endswith(":retry"):
        codes.add(409)
    if path == "/api/v1/scan":
        codes.add(503)
    if path.startswith("/dingtalk/"):
        codes |= {400, 401, 422, 503}
    return sorted(codes)


def build_schema(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes,
                         description="不良事件预警平台 API. All /api/v1 calls take `Authorization: Bearer <key>`. "
                                     "Errors are `{\"detail\": {\"code\", \"message\", \"message_zh\", \"message_en\"}}`.")
    comps = schema.setdefault("components", {})
    comps.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        comps["schemas"].pop(name, None)
    comps["securitySchemes"] = {"BearerAuth": {
        "type": "http", "scheme": "bearer", "description": "an API key made with `aew apikeys create NAME`"}}
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            for code in _errors_for(path, method, op):
                responses[str(code)] = {"description": ERROR_TEXT[code],
                                        "content": {"application/json": {"schema": _ERROR}}}
            if path.startswith("/api/"):
                op["security"] = [{"BearerAuth": []}]
    _fix_ops(schema)
    return schema


def _fix_ops(schema: dict[str, Any]) -> None:
    """What FastAPI cannot infer: the media types of /metrics and the 503 of /healthz."""
    paths = schema.get("paths", {})
    if "/metrics" in paths:
        paths["/metrics"]["get"]["responses"]["200"] = {
            "description": "Prometheus metrics (text exposition format)",
            "content": {"text/plain": {"schema": {"type": "string"}}}}
    if "/healthz" in paths:
        health = {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                                                   "database": {"type": "boolean"},
                                                   "model_loaded": {"type": "boolean"},
                                                   "scan_workers": {"type": "object", "properties": {
                                                       k: {"type": "integer"} for k in
                                                       ("configured", "alive", "ready", "restarts")}},
                                                   "error": {"type": "string"}}}
        paths["/healthz"]["get"]["responses"] = {
            "200": {"description": "database reachable", "content": {"application/json": {"schema": health}}},
            "503": {"description": "database not reachable", "content": {"application/json": {"schema": health}}}}
    for ops in paths.values():   # `:retry` style paths: the action is a literal part of the path
        for op in ops.values():
            op["operationId"] = re.sub(r"[^A-Za-z0-9_]", "_", op.get("operationId", ""))


def install(app: FastAPI) -> None:
    """Serve /openapi.json (cached), /docs and /redoc with local assets."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=str(_assets_dir())), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} — Swagger UI",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} — ReDoc",
                              redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)
