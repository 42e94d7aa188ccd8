"""Fixtures for the DingTalk tests: the fake DingTalk (sessionWebhook target, /gettoken and the approval
instance fetch), the app configured with DingTalk settings, and helpers to build signed robot callbacks."""
from __future__ import annotations

import itertools
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.dingtalk import FakeDingTalk, Received

APP_KEY = "ding-app-key"
APP_SECRET = "ding-app-secret"
CALLBACK_TOKEN = "callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"       # 43 characters, as DingTalk generates them
PROCESS_CODE = "PROC-ADVERSE-EVENT"
INSTANCE_PATH = "/topapi/processinstance/get"

_ids = itertools.count(1)


class FakeDingTalkWithApprovals(FakeDingTalk):
    """The notification tests' fake DingTalk, plus `/topapi/processinstance/get` for approval instances."""

    def __init__(self, **kw):
        super().__init__(app_key=APP_KEY, app_secret=APP_SECRET, **kw)
        self.instances: dict[str, dict[str, Any]] = {}

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        if parts.path != INSTANCE_PATH:
            return super()._handle(h, method)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        body = json.loads(raw or b"{}")
        rec = Received(method, parts.path, query, body, raw, self.clock())
        with self._lock:
            self.requests.append(rec)
            known = query.get("access_token") in self.tokens
        if not known:
            return self._answer(h, rec, 200, {"errcode": 40014, "errmsg": "不合法的access_token"})
        inst = self.instances.get(body.get("process_instance_id"))
        if inst is None:
            return self._answer(h, rec, 200, {"errcode": 88, "errmsg": "实例不存在"})
        return self._answer(h, rec, 200, {"errcode": 0, "errmsg": "ok", "process_instance": inst})

    def replies(self) -> list[Received]:
        """Messages posted to the bot's sessionWebhook."""
        return [r for r in self.received(None) if r.path == "/robot/session"]


@pytest.fixture
def fake_dingtalk():
    with FakeDingTalkWithApprovals() as fake:
        yield fake


@pytest.fixture
def dt_settings(fake_dingtalk):
    from service.dingtalk.settings import DingTalkSettings
    return DingTalkSettings(dingtalk_app_key=APP_KEY, dingtalk_app_secret=APP_SECRET,
                            dingtalk_callback_token=CALLBACK_TOKEN, dingtalk_callback_aes_key=AES_KEY,
                            dingtalk_api_base=fake_dingtalk.url, dingtalk_openapi_endpoint="http://127.0.0.1:9",
                            dingtalk_approval_process_code=PROCESS_CODE, dingtalk_reply_timeout_seconds=2.0,
                            dingtalk_webhook_hosts="oapi.dingtalk.com,api.dingtalk.com,127.0.0.1")


@pytest.fixture
def dclient(app, dt_settings):
    from fastapi.testclient import TestClient
    app.state.dingtalk_settings = dt_settings
    with TestClient(app) as c:
        yield c


@pytest.fixture
def bot_ctx(settings, dt_settings, scanner):
    from service.dingtalk.bot import BotContext
    return BotContext(settings=settings, dt=dt_settings, scanner_factory=lambda: scanner)


def robot_message(text: str, *, webhook: str, msg_id: str | None = None, staff_id: str | None = "staff-001",
                  nick: str = "李护士", conversation_id: str = "cid-ward-3", expires_in: float = 3600) -> dict:
    """A robot message as DingTalk posts it (HTTP callback) or pushes it (Stream)."""
    d = {"msgtype": "text", "text": {"content": text}, "msgId": msg_id or f"msg{next(_ids)}-{time.time_ns()}",
         "createAt": int(time.time() * 1000), "conversationType": "1", "conversationId": conversation_id,
         "senderId": f"$:LWCP_v1:$sender-{staff_id or nick}", "senderNick": nick, "senderCorpId": "ding-corp",
         "sessionWebhook": webhook, "sessionWebhookExpiredTime": int((time.time() + expires_in) * 1000),
         "chatbotUserId": "$:LWCP_v1:$bot", "isAdmin": False, "robotCode": APP_KEY}
    if staff_id:
        d["senderStaffId"] = staff_id
    return d


def sign_headers(secret: str = APP_SECRET, ts_ms: int | None = None) -> dict[str, str]:
    from service.dingtalk.signature import robot_sign
    ts = str(ts_ms if ts_ms is not None else int(time.time() * 1000))
    return {"timestamp": ts, "sign": robot_sign(ts, secret)}


@pytest.fixture
def send(dclient, fake_dingtalk):
    """Post a signed robot callback; returns (response, message)."""
    def _send(text: str, **kw):
        msg = robot_message(text, webhook=f"{fake_dingtalk.url}/robot/session?session=s1", **kw)
        r = dclient.post("/dingtalk/robot", json=msg, headers=sign_headers())
        return r, msg
    return _send
