"""Stream mode (no public inbound address needed): a dingtalk-stream client whose gateway endpoint comes
from AEW_DINGTALK_OPENAPI_ENDPOINT, a chatbot handler and an event handler that call the same service
functions as the HTTP callbacks, and a stoppable run loop with reconnect backoff."""
from __future__ import annotations

import asyncio
import json
import logging
import platform
import threading
from urllib.parse import quote_plus

import requests
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, ChatbotMessage, Credential, DingTalkStreamClient, EventHandler
from dingtalk_stream.version import VERSION_STRING
from sqlmodel import Session

from service.dingtalk.approval import ApprovalFetchError, handle_approval_event
from service.dingtalk.bot import BotContext, IncomingMessage, process_message

log = logging.getLogger("aew.dingtalk.stream")


class ChatbotReportHandler(CallbackHandler):
    """Topic /v1.0/im/bot/messages/get: each robot message → process_message (in a worker thread)."""

    def __init__(self, *, engine, ctx: BotContext):
        super().__init__()
        self.engine, self.ctx = engine, ctx

    async def process(self, message):
        msg = IncomingMessage.from_payload(message.data or {}, channel="stream")
        if not msg.msg_id:
            msg.msg_id = str(message.headers.message_id or "")
        try:
            await asyncio.to_thread(process_message, engine=self.engine, ctx=self.ctx, msg=msg)
        except Exception as e:  # noqa: BLE001 — a failed ack makes DingTalk push the frame again
            log.exception("stream chatbot message failed", extra={"msg_id": msg.msg_id})
            return AckMessage.STATUS_SYSTEM_EXCEPTION, f"error: {type(e).__name__}"
        return AckMessage.STATUS_OK, "OK"


class ApprovalEventHandler(EventHandler):
    """EVENT frames: bpms_instance_change → handle_approval_event; other events are acknowledged."""

    def __init__(self, *, engine, ctx: BotContext, fetch):
        super().__init__()
        self.engine, self.ctx, self.fetch = engine, ctx, fetch

    async def process(self, event):
        if event.headers.event_type != "bpms_instance_change":
            return AckMessage.STATUS_OK, "OK"
        try:
            await asyncio.to_thread(self._handle, event.data or {})
        except ApprovalFetchError as e:
            return AckMessage.STATUS_SYSTEM_EXCEPTION, f"later: {e}"
        return AckMessage.STATUS_OK, "OK"

    def _handle(self, data: dict) -> None:
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                handle_approval_event(session=s, ctx=self.ctx, payload=data, fetch=self.fetch)
                s.commit()
            except ApprovalFetchError:
                s.commit()
                raise


class ReportStreamClient(DingTalkStreamClient):
    """DingTalkStreamClient with a configurable endpoint and a run loop that stops when asked."""

    def __init__(self, credential: Credential, *, endpoint: str, timeout: float = 10.0):
        super().__init__(credential, logger=logging.getLogger("aew.dingtalk.stream.client"))
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.connections = 0

    def open_connection(self):
        """POST {endpoint}/v1.0/gateway/connections/open → {endpoint: wss://…, ticket}."""
        topics = [{"type": "EVENT", "topic": "*"}] if self._is_event_required else []
        topics += [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map]
        body = {"clientId": self.credential.client_id, "clientSecret": self.credential.client_secret,
                "subscriptions": topics, "ua": f"aew/dingtalk-stream-{VERSION_STRING}", "localIp": ""}
        url = f"{self.endpoint}/v1.0/gateway/connections/open"
        try:
            r = requests.post(url, json=body, timeout=self.timeout,
                              headers={"Accept": "application/json",
                                       "User-Agent": f"aew DingTalkStream/{VERSION_STRING} Python/{platform.python_version()}"})
            r.raise_for_status()
            conn = r.json()
        except (requests.RequestException, ValueError) as e:
            log.error("stream: opening a connection failed", extra={"error": f"{type(e).__name__}: {e}"})
            return None
        if not conn.get("endpoint") or not conn.get("ticket"):
            log.error("stream: gateway answered without endpoint/ticket")
            return None
        return conn

    async def run(self, stop: threading.Event, *, max_backoff: float = 60.0) -> None:
        """Connect, dispatch frames, reconnect with backoff; return when `stop` is set."""
        self.pre_start()
        backoff = 1.0
        while not stop.is_set():
            conn = await asyncio.to_thread(self.open_connection)
            if not conn:
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            uri = f'{conn["endpoint"]}?ticket={quote_plus(conn["ticket"])}'
            try:
                async with websockets.connect(uri) as ws:
                    self.websocket = ws
                    self.connections += 1
                    backoff = 1.0
                    log.info("stream connected")
                    watcher = asyncio.create_task(_close_on_stop(ws, stop))
                    keepalive = asyncio.create_task(self.keepalive(ws))
                    try:
                        async for raw in ws:
                            asyncio.create_task(self.background_task(json.loads(raw)))
                    finally:
                        watcher.cancel()
                        keepalive.cancel()
            except (OSError, websockets.exceptions.WebSocketException, ValueError) as e:
                log.warning("stream connection lost", extra={"error": f"{type(e).__name__}: {e}"})
            if not stop.is_set():
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, max_backoff)


async def _sleep_or_stop(stop: threading.Event, seconds: float) -> None:
    end = asyncio.get_running_loop().time() + seconds
    while not stop.is_set() and asyncio.get_running_loop().time() < end:
        await asyncio.sleep(0.1)


async def _close_on_stop(ws, stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await ws.close()


def build_client(*, engine, ctx: BotContext, fetch=None) -> ReportStreamClient:
    """The Stream client for this hospital's app: chatbot messages, and approval events when a fetcher is given."""
    dt = ctx.dt
    client = ReportStreamClient(Credential(dt.dingtalk_app_key, dt.dingtalk_app_secret),
                                endpoint=dt.dingtalk_openapi_endpoint)
    client.register_callback_handler(ChatbotMessage.TOPIC, ChatbotReportHandler(engine=engine, ctx=ctx))
    if fetch is not None:
        client.register_all_event_handler(ApprovalEventHandler(engine=engine, ctx=ctx, fetch=fetch))
    return client
