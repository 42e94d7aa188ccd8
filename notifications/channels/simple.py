"""The log channel (development, and the fallback when no robot is configured) and the session-webhook channel
that delivers DingTalk bot replies written to the outbox when an immediate reply failed."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

import httpx

from notifications import redact
from notifications.channels.base import Channel, Message, SendResult
from notifications.channels.robot import interpret

log = logging.getLogger("aew.notify.log")


class LogChannel(Channel):
    name = "log"
    kind = "log"
    ordered = False

    def __init__(self):
        self.sent: list[Message] = []     # the last messages, for the admin page and tests
        self.keep = 200

    def send(self, message: Message) -> SendResult:
        log.info("notification", extra={"title": message.title, "text": message.text, "link": message.link,
                                        "recipients": ",".join(message.recipients)})
        self.sent.append(message)
        del self.sent[:-self.keep]
        return SendResult.success(None)


class SessionWebhookChannel(Channel):
    """POSTs a ready message to the sessionWebhook of a bot conversation; an expired webhook is dead."""
    name = "session_webhook"
    kind = "session_webhook"
    ordered = False

    def __init__(self, *, timeout: float = 5.0, clock: Callable[[], datetime] | None = None):
        redact.install()
        self.http = httpx.Client(timeout=timeout)
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def send(self, message: Message) -> SendResult:
        if not message.webhook or not message.raw:
            return SendResult.failure("bot reply without webhook or msg", permanent=True)
        if message.expires_at:
            try:
                exp = datetime.fromisoformat(message.expires_at)
            except ValueError:
                return SendResult.failure("bad expires_at", permanent=True)
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=timezone.utc)
            if exp <= self.clock():
                return SendResult.failure("session webhook expired", permanent=True)
        try:
            resp = self.http.post(message.webhook, json=message.raw)
        except httpx.TimeoutException as e:
            return SendResult.failure(f"timeout: {type(e).__name__}")
        except httpx.HTTPError as e:
            return SendResult.failure(f"network error: {type(e).__name__}")
        res = interpret(resp)
        # a session webhook's errors are about this conversation, never the service's configuration
        return SendResult(ok=res.ok, errcode=res.errcode, errmsg=res.errmsg, retry_after=res.retry_after,
                          permanent=res.permanent, config_error=False, status_code=res.status_code)

    def close(self) -> None:
        self.http.close()
