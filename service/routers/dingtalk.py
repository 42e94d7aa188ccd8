"""DingTalk callbacks: the outgoing robot (POST /dingtalk/robot) and encrypted event callbacks
(POST /dingtalk/events: check_url, approval instances). Views are thin: service.dingtalk does the work."""
from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlmodel import Session

from service.deps import SettingsDep
from service.dingtalk.approval import ApprovalFetcher, ApprovalFetchError, handle_approval_event
from service.dingtalk.bot import BotContext, IncomingMessage, process_message
from service.dingtalk.settings import DingTalkSettings
from service.dingtalk.signature import EventCrypto, SignatureError, verify_robot
from service.errors import http_error

log = logging.getLogger("aew.dingtalk")
router = APIRouter(prefix="/dingtalk", tags=["dingtalk"])


def get_dingtalk_settings(request: Request) -> DingTalkSettings:
    st = request.app.state
    if getattr(st, "dingtalk_settings", None) is None:
        st.dingtalk_settings = DingTalkSettings()
    return st.dingtalk_settings


DingTalkSettingsDep = Annotated[DingTalkSettings, Depends(get_dingtalk_settings)]


def get_bot(request: Request, settings: SettingsDep, dt: DingTalkSettingsDep) -> BotContext:
    return BotContext(settings=settings, dt=dt, scanner_factory=request.app.state.scanner_factory)


BotDep = Annotated[BotContext, Depends(get_bot)]


def get_fetcher(request: Request, dt: DingTalkSettingsDep) -> ApprovalFetcher:
    st = request.app.state
    if getattr(st, "dingtalk_fetcher", None) is None:
        st.dingtalk_fetcher = ApprovalFetcher(api_base=dt.dingtalk_api_base, app_key=dt.dingtalk_app_key,
                                              app_secret=dt.dingtalk_app_secret)
    return st.dingtalk_fetcher


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise http_error(400, "invalid_json", "请求体不是合法 JSON", "body is not valid JSON") from None
    if not isinstance(body, dict):
        raise http_error(400, "invalid_json", "请求体必须是 JSON 对象", "body must be a JSON object")
    return body


class _RobotText(BaseModel):
    model_config = ConfigDict(extra="allow")
    content: str = ""


class _RichItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = ""


class RobotPayload(BaseModel):
    """The fields of an outgoing-robot callback that the bot reads, with their types; others pass through."""
    model_config = ConfigDict(extra="allow")
    msgId: str | int | None = None
    msgtype: str | None = None
    text: _RobotText | None = None
    content: Any = None
    conversationId: str | None = None
    conversationType: str | None = None
    senderStaffId: str | None = None
    senderId: str | None = None
    senderNick: str | None = None
    sessionWebhook: str | None = Field(default=None, max_length=2048)
    sessionWebhookExpiredTime: int | None = Field(default=None, ge=0, le=7_258_118_400_000)  # ms, up to 2200

    @model_validator(mode="after")
    def _rich_text(self) -> "RobotPayload":
        if self.msgtype == "richText" and self.content is not None:
            if not isinstance(self.content, dict):
                raise ValueError("content must be an object with richText")
            items = self.content.get("richText") or []
            if not isinstance(items, list):
                raise ValueError("content.richText must be a list")
            for item in items:
                _RichItem.model_validate(item)
        return self


def robot_payload(body: dict[str, Any]) -> dict[str, Any]:
    """The callback body, checked field by field: a malformed body is a 400 (DingTalk does not send those)."""
    try:
        RobotPayload.model_validate(body)
    except ValidationError as e:
        where = "; ".join(".".join(str(x) for x in err["loc"]) + ": " + err["msg"] for err in e.errors()[:5])
        raise http_error(400, "invalid_payload", "钉钉回调内容格式不正确", f"malformed DingTalk callback: {where}") from None
    return body


@router.post("/robot")
async def robot_callback(request: Request, bot: BotDep) -> dict[str, Any]:
    """Outgoing-robot callback: check timestamp + sign, file the report once per msgId, reply via sessionWebhook."""
    try:
        verify_robot(timestamp=request.headers.get("timestamp"), sign=request.headers.get("sign"),
                     secret=bot.dt.dingtalk_app_secret, max_skew_seconds=bot.dt.dingtalk_max_clock_skew_seconds)
    except SignatureError as e:
        log.warning("robot callback refused", extra={"reason": str(e)})
        raise http_error(401, "bad_signature", "钉钉签名校验失败", f"DingTalk signature check failed: {e}") from None
    body = robot_payload(await _json_body(request))
    msg = IncomingMessage.from_payload(body, channel="robot")
    if not msg.msg_id:
        raise http_error(422, "missing_msg_id", "缺少 msgId", "missing msgId")
    from starlette.concurrency import run_in_threadpool
    reply = await run_in_threadpool(process_message, engine=request.app.state.engine, ctx=bot, msg=msg)
    # the reply went through sessionWebhook; an empty answer keeps DingTalk from posting anything twice
    return {"msgtype": "empty", "status": "duplicate" if reply is None else "ok"}


@router.post("/events")
async def event_callback(request: Request, bot: BotDep, signature: Annotated[str, Query()] = "",
                         timestamp: Annotated[str, Query()] = "", nonce: Annotated[str, Query()] = "",
                         msg_signature: Annotated[str | None, Query()] = None):
    """Encrypted event callback (事件订阅): check_url and bpms_instance_change; answers the encrypted 'success'."""
    dt = bot.dt
    try:
        crypto = EventCrypto(token=dt.dingtalk_callback_token, aes_key=dt.dingtalk_callback_aes_key,
                             owner_key=dt.dingtalk_app_key)
        payload = crypto.decrypt(body=await _json_body(request), signature=msg_signature or signature,
                                 timestamp=timestamp, nonce=nonce)
    except SignatureError as e:
        log.warning("event callback refused", extra={"reason": str(e)})
        raise http_error(401, "bad_signature", "钉钉事件签名校验失败", f"DingTalk event signature check failed: {e}") from None
    kind = payload.get("EventType")
    if kind == "bpms_instance_change":
        from starlette.concurrency import run_in_threadpool
        try:
            await run_in_threadpool(_approval, request, bot, payload)
        except ApprovalFetchError as e:
            # not 'success': DingTalk pushes the event again later
            return JSONResponse(status_code=503, content={"detail": {
                "code": "approval_fetch_failed", "message": "审批实例获取失败，稍后重试",
                "message_zh": "审批实例获取失败，稍后重试", "message_en": f"approval fetch failed: {e}"}})
    elif kind != "check_url":
        log.info("DingTalk event ignored", extra={"event_type": kind})
    return crypto.encrypt("success")


def _approval(request: Request, bot: BotContext, payload: dict[str, Any]) -> None:
    fetch = get_fetcher(request, bot.dt)
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            handle_approval_event(session=session, ctx=bot, payload=payload, fetch=fetch)
            session.commit()
        except ApprovalFetchError:
            session.commit()      # keep the 'failed' mark and its error for the admin page
            raise


def setup(app: FastAPI) -> None:
    """Mount the callbacks (and the admin page for DingTalk identities when the web pages exist)."""
    app.include_router(router)
    try:
        from service.dingtalk.admin import router as admin_router
    except ImportError as e:
        log.info("DingTalk admin page not mounted", extra={"reason": repr(e)})
    else:
        app.include_router(admin_router)
