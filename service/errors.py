"""Errors a person reads: a stable code plus a message in Chinese and English."""
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def http_error(status: int, code: str, zh: str, en: str, **extra) -> HTTPException:
    """Build the HTTPException a view raises."""
    return HTTPException(status_code=status, detail={"code": code, "message": f"{zh} / {en}",
                                                     "message_zh": zh, "message_en": en, **extra})


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        errors.append({"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")})
    where = "; ".join(".".join(e["loc"]) + ": " + str(e["msg"]) for e in errors[:5])
    return JSONResponse(status_code=422, content={"detail": {
        "code": "invalid_input", "message": f"请求内容不合法 / invalid request: {where}",
        "message_zh": "请求内容不合法，请检查字段", "message_en": f"invalid request: {where}", "errors": errors}})
