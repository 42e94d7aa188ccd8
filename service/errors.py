"""Errors a person reads: a stable code plus a message in Chinese and English."""
from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def error_body(code: str, zh: str, en: str, **extra: Any) -> dict[str, Any]:
    """The project's error shape: {"detail": {"code", "message", "message_zh", "message_en", ...}}."""
    return {"detail": {"code": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en, **extra}}


def http_error(status: int, code: str, zh: str, en: str, **extra) -> HTTPException:
    """Build the HTTPException a view raises."""
    return HTTPException(status_code=status, detail=error_body(code, zh, en, **extra)["detail"])


def _zh(e: dict[str, Any]) -> str:
    """A Chinese line for one pydantic error: the field and what it must be."""
    where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form")) or "请求"
    ctx, kind = e.get("ctx") or {}, e.get("type", "")
    if kind in ("enum", "literal_error"):
        return f"{where} 取值须为：{ctx.get('expected', '')}"
    if kind == "string_too_long":
        return f"{where} 长度不能超过 {ctx.get('max_length')} 个字符"
    if kind == "string_too_short":
        return f"{where} 长度不能少于 {ctx.get('min_length')} 个字符"
    if kind in ("less_than_equal", "less_than"):
        return f"{where} 不能大于 {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{where} 不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind == "missing":
        return f"缺少 {where}"
    if kind.startswith("int") or kind.startswith("float"):
        return f"{where} 必须是数字"
    if kind.startswith("datetime") or kind.startswith("date"):
        return f"{where} 不是合法的日期时间"
    if kind == "value_error":
        return f"{where} 不合法：{ctx.get('error', '')}"
    if kind == "json_invalid":
        return "请求体不是合法 JSON"
    return f"{where} 不合法"


def validation_error_body(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """A 422 body in the project's shape; enum errors list the allowed values in both languages."""
    errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg")), "type": e.get("type")}
              for e in raw]
    where = "; ".join(".".join(e["loc"]) + ": " + e["msg"] for e in errors[:5])
    zh = "；".join(_zh(e) for e in raw[:5])
    return error_body("invalid_input", f"请求内容不合法：{zh}", f"invalid request: {where}", errors=errors)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(status_code=422, content=validation_error_body(exc.errors()))
