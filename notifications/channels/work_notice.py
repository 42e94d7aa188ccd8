"""DingTalk work notice ("工作通知") to specific people, through dingtalk-sdk's AppKeyClient."""
from __future__ import annotations

import hashlib
import logging
from typing import Any

import requests
from dingtalk.client import AppKeyClient
from dingtalk.core.exceptions import DingTalkClientException

from notifications import redact
from notifications.channels.base import Channel, Message, SendResult

ASYNCSEND = "/topapi/message/corpconversation/asyncsend_v2"
# invalid appkey / appsecret, app disabled, IP not allowed: the configuration, not the message, is wrong
CONFIG_ERRCODES = {40089, 40096, 40078, 60020, 310000, 300001}


class _DropSdkLogs(logging.Filter):
    """dingtalk-sdk logs request params and bodies (app secret, access token) on errors; we record the errcode
    ourselves, so its records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def _silence_sdk_logger() -> None:
    redact.install()
    lg = logging.getLogger("dingtalk.client.base")
    if not any(isinstance(f, _DropSdkLogs) for f in lg.filters):
        lg.addFilter(_DropSdkLogs())


class RefreshingAppKeyClient(AppKeyClient):
    """AppKeyClient whose cached token is dropped `margin` seconds before it expires, so no request carries a
    token that dies in flight. (The SDK also refetches once when DingTalk answers 40014/42001.)"""

    def __init__(self, *args: Any, api_base: str, margin: float = 300.0, **kw: Any):
        super().__init__(*args, **kw)
        self.API_BASE_URL = api_base.rstrip("/") + "/"
        self.margin = margin
        self._http = requests.Session()      # the SDK's session is class-wide; keep ours to ourselves

    @property
    def access_token(self) -> str:
        token = self.cache.access_token.get()
        if token is None:
            ret = self.get_access_token()
            token = ret["access_token"]
            expires_in = int(ret.get("expires_in", 7200))
            ttl = max(1, int(expires_in - min(self.margin, expires_in * 0.2)))
            self.cache.access_token.set(value=token, ttl=ttl)
        return token


def work_notice_msg(message: Message) -> dict[str, Any]:
    if message.link:
        return {"msgtype": "action_card", "action_card": {"title": message.title, "markdown": message.text,
                                                          "single_title": message.link_title,
                                                          "single_url": message.link}}
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}


class WorkNoticeChannel(Channel):
    name = "work_notice"
    kind = "work_notice"
    ordered = True

    def __init__(self, *, app_key: str, app_secret: str, agent_id: str, api_base: str, corp_id: str = "",
                 timeout: float = 5.0, refresh_margin: float = 300.0):
        _silence_sdk_logger()
        self.agent_id = agent_id
        self._fp = hashlib.sha256(f"{app_key}\n{app_secret}\n{agent_id}\n{api_base}".encode()).hexdigest()[:16]
        self.client = RefreshingAppKeyClient(corp_id or app_key, app_key, app_secret, timeout=timeout,
                                             api_base=api_base, margin=refresh_margin)

    def __repr__(self) -> str:
        return f"WorkNoticeChannel(agent_id={self.agent_id!r})"

    def fingerprint(self) -> str:
        return self._fp

    def send(self, message: Message) -> SendResult:
        if not message.recipients:
            return SendResult.failure("no recipients with a DingTalk id", permanent=True)
        body = {"agent_id": int(self.agent_id) if str(self.agent_id).isdigit() else self.agent_id,
                "userid_list": ",".join(message.recipients), "msg": work_notice_msg(message)}
        try:
            self.client.post(ASYNCSEND, data=body)
        except DingTalkClientException as e:
            if e.errcode is None:   # HTTP error
                status = getattr(getattr(e, "response", None), "status_code", None)
                return SendResult.failure(f"HTTP {status}", status_code=status)
            code = int(e.errcode)
            if code in CONFIG_ERRCODES:
                return SendResult.failure(str(e.errmsg)[:500], errcode=code, permanent=True, config_error=True)
            return SendResult.failure(str(e.errmsg)[:500], errcode=code)
        except requests.Timeout as e:
            return SendResult.failure(f"timeout: {type(e).__name__}")
        except requests.RequestException as e:   # str(e) may hold the URL with the token: keep the type only
            return SendResult.failure(f"network error: {type(e).__name__}")
        return SendResult.success()

    def close(self) -> None:
        self.client._http.close()
