"""DingTalk custom group robot ("自定义机器人"): signed webhook, markdown or actionCard, @ by mobile/userId."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any, Callable

import httpx

from notifications import redact
from notifications.channels.base import Channel, Message, SendResult
from notifications.settings import RobotConfig

TOO_FAST = 130101
# 310000: sign / keyword / IP whitelist failure; 300001: token is not exist (bad access_token);
# 300005 / 400013: the robot was removed or disabled. Retrying cannot help until someone fixes the config.
CONFIG_ERRCODES = {310000, 300001, 300005, 400013}


def sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's robot signature, URL-encoded: urlencode(base64(hmac_sha256(secret, f"{ts}\\n{secret}")))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(webhook: str, secret: str, now_ms: int | None = None) -> str:
    if not secret:
        return webhook
    ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
    return f"{webhook}{'&' if '?' in webhook else '?'}timestamp={ts}&sign={sign(secret, ts)}"


def robot_body(message: Message, msgtype: str) -> dict[str, Any]:
    """The JSON DingTalk's robot expects. @ only works with text/markdown, so a message with @ is markdown."""
    at = {"atMobiles": list(message.at_mobiles), "atUserIds": list(message.at_user_ids), "isAtAll": False}
    if msgtype == "actionCard" and message.link and not (message.at_mobiles or message.at_user_ids):
        return {"msgtype": "actionCard", "actionCard": {"title": message.title, "text": message.text,
                                                        "btnOrientation": "0", "singleTitle": message.link_title,
                                                        "singleURL": message.link}}
    text = message.text
    mentions = [f"@{m}" for m in message.at_mobiles + message.at_user_ids]
    if mentions:
        text = f"{text}\n\n{' '.join(mentions)}"
    if message.link and message.link not in text:
        text = f"{text}\n\n[{message.link_title}]({message.link})"
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}, "at": at}


class RobotChannel(Channel):
    kind = "robot"
    ordered = True
    rate_limited = True

    def __init__(self, config: RobotConfig, *, timeout: float = 5.0, msgtype: str = "markdown",
                 clock_ms: Callable[[], int] | None = None, client: httpx.Client | None = None):
        redact.install()
        self.config = config
        self.name = f"robot:{config.name}"
        self.msgtype = msgtype
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.http = client or httpx.Client(timeout=timeout)

    def fingerprint(self) -> str:
        return self.config.fingerprint()

    def __repr__(self) -> str:  # never show the webhook token or the secret
        return f"RobotChannel({self.config.name!r})"

    def send(self, message: Message) -> SendResult:
        url = signed_url(self.config.webhook, self.config.secret, self.clock_ms())  # fresh timestamp+sign each time
        try:
            resp = self.http.post(url, json=robot_body(message, self.msgtype))
        except httpx.TimeoutException as e:
            return SendResult.failure(f"timeout: {type(e).__name__}")
        except httpx.HTTPError as e:  # connection refused, reset ... (str(e) may hold the URL: keep only the type)
            return SendResult.failure(f"network error: {type(e).__name__}")
        return interpret(resp)

    def close(self) -> None:
        self.http.close()


def interpret(resp: httpx.Response) -> SendResult:
    """DingTalk answers HTTP 200 with an errcode; anything else is a transient failure."""
    if resp.status_code == 429:
        return SendResult.failure("HTTP 429", status_code=429, retry_after=_retry_after(resp))
    if resp.status_code >= 400:
        return SendResult.failure(f"HTTP {resp.status_code}", status_code=resp.status_code,
                                  permanent=resp.status_code in (400, 404, 405), retry_after=_retry_after(resp))
    try:
        data = resp.json()
    except ValueError:
        return SendResult.failure("response is not JSON", status_code=resp.status_code)
    code = int(data.get("errcode", -1))
    msg = str(data.get("errmsg", ""))[:500]
    if code == 0:
        return SendResult.success(resp.status_code)
    if code == TOO_FAST:
        return SendResult.failure(msg or "send too fast", errcode=code, status_code=resp.status_code, retry_after=60.0)
    if code in CONFIG_ERRCODES:
        return SendResult.failure(msg or "configuration error", errcode=code, status_code=resp.status_code,
                                  permanent=True, config_error=True)
    return SendResult.failure(msg or f"errcode {code}", errcode=code, status_code=resp.status_code)


def _retry_after(resp: httpx.Response) -> float | None:
    v = resp.headers.get("retry-after")
    try:
        return float(v) if v else None
    except ValueError:
        return None
