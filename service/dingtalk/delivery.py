"""Sending the bot's reply through the conversation's sessionWebhook; the outbox takes over when that fails."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from models import AdverseEvent
from models.base import utcnow
from notifications.outbox import enqueue_bot_reply
from service.db import session_scope
from service.dingtalk.replies import BotReply
from service.dingtalk.settings import DingTalkSettings

log = logging.getLogger("aew.dingtalk")


@dataclass
class ReplyResult:
    ok: bool
    errcode: int | None = None
    errmsg: str | None = None
    queued: bool = False          # handed to the outbox dispatcher


def post_webhook(*, url: str, message: dict, timeout: float) -> ReplyResult:
    """One POST to a sessionWebhook; DingTalk answers HTTP 200 with an errcode."""
    try:
        r = httpx.post(url, json=message, timeout=timeout)
    except httpx.HTTPError as e:
        return ReplyResult(ok=False, errmsg=f"{type(e).__name__}: {e}")
    if r.status_code != 200:
        return ReplyResult(ok=False, errmsg=f"HTTP {r.status_code}")
    try:
        body = r.json()
    except ValueError:
        return ReplyResult(ok=False, errmsg="answer is not JSON")
    code = int(body.get("errcode", 0) or 0)
    return ReplyResult(ok=code == 0, errcode=code, errmsg=body.get("errmsg"))


def deliver_reply(*, engine, dt: DingTalkSettings, msg, reply: BotReply, now: datetime | None = None) -> ReplyResult:
    """Reply now (short timeout); on failure write an outbox row (topic bot_reply) for the dispatcher,
    unless the webhook has already expired."""
    now = now or utcnow()
    url, expires = msg.session_webhook, msg.webhook_expires_at
    if not url:
        return ReplyResult(ok=False, errmsg="no sessionWebhook")
    if not dt.webhook_allowed(url):
        log.warning("sessionWebhook not on a DingTalk host, reply dropped", extra={"msg_id": msg.msg_id})
        return ReplyResult(ok=False, errmsg="sessionWebhook host not allowed")
    if expires is not None and expires <= now:
        log.warning("sessionWebhook expired, reply dropped", extra={"msg_id": msg.msg_id})
        return ReplyResult(ok=False, errmsg="sessionWebhook expired")
    result = post_webhook(url=url, message=reply.message(), timeout=dt.dingtalk_reply_timeout_seconds)
    if result.ok:
        return result
    log.warning("bot reply failed, queued in the outbox",
                extra={"msg_id": msg.msg_id, "errcode": result.errcode, "error": result.errmsg})
    with session_scope(engine) as s:
        event = s.get(AdverseEvent, reply.event_id) if reply.event_id else None
        enqueue_bot_reply(session=s, dedup_key=f"bot_reply:{msg.msg_id}", webhook=url,
                          expires_at=(expires or now + timedelta(hours=1)).isoformat(), msg=reply.message(),
                          event=event)
    result.queued = True
    return result
