"""A fake DingTalk Stream gateway on 127.0.0.1 (port 0): the HTTP `POST /v1.0/gateway/connections/open` call
(checks clientId/clientSecret, hands out a ticket) and a websocket server that accepts connections with a
valid ticket, pushes callback / event frames and records the acks the client sends back.

    with FakeStreamGateway(client_id="k", client_secret="s") as gw:
        settings.dingtalk_openapi_endpoint = gw.endpoint
        ... start the client ...
        gw.wait_connected()
        mid = gw.push_chatbot({...robot message...})
        ack = gw.wait_ack(mid)
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.asyncio.server import serve

OPEN_PATH = "/v1.0/gateway/connections/open"
CHATBOT_TOPIC = "/v1.0/im/bot/messages/get"


class FakeStreamGateway:
    def __init__(self, *, client_id: str = "ding-app-key", client_secret: str = "ding-app-secret"):
        self.client_id, self.client_secret = client_id, client_secret
        self.open_requests: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.tickets: set[str] = set()
        self.connections = 0
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._ws = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_port: int | None = None
        self._http: ThreadingHTTPServer | None = None
        self._stop: asyncio.Event | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "FakeStreamGateway":
        started = threading.Event()
        self._ws_thread = threading.Thread(target=self._run_ws, args=(started,), daemon=True, name="fake-stream-ws")
        self._ws_thread.start()
        if not started.wait(10):
            raise RuntimeError("fake stream websocket did not start")
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                gw._open(self)

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True,
                         name="fake-stream-http").start()
        return self

    def stop(self) -> None:
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._ws_thread.join(5)

    def __enter__(self) -> "FakeStreamGateway":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """What to configure as AEW_DINGTALK_OPENAPI_ENDPOINT."""
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    # ---- HTTP: open a connection --------------------------------------------------------------------------
    def _open(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("content-length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        with self._cond:
            self.open_requests.append(body)
        if urlsplit(h.path).path != OPEN_PATH:
            return self._answer(h, 404, {"code": "notFound"})
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return self._answer(h, 401, {"code": "InvalidAuthentication", "message": "clientId or secret wrong"})
        ticket = uuid.uuid4().hex
        with self._cond:
            self.tickets.add(ticket)
        self._answer(h, 200, {"endpoint": f"ws://127.0.0.1:{self._ws_port}/connect", "ticket": ticket})

    @staticmethod
    def _answer(h: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    # ---- websocket -----------------------------------------------------------------------------------------
    def _run_ws(self, started: threading.Event) -> None:
        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with serve(self._session, "127.0.0.1", 0) as server:
                self._ws_port = server.sockets[0].getsockname()[1]
                started.set()
                await self._stop.wait()
        asyncio.run(main())

    async def _session(self, ws) -> None:
        q = parse_qs(urlsplit(ws.request.path).query)
        ticket = (q.get("ticket") or [""])[0]
        with self._cond:
            ok = ticket in self.tickets
            self.tickets.discard(ticket)
        if not ok:
            await ws.close(code=4001, reason="invalid ticket")
            return
        with self._cond:
            self._ws = ws
            self.connections += 1
            self._cond.notify_all()
        try:
            async for raw in ws:
                frame = json.loads(raw)
                mid = (frame.get("headers") or {}).get("messageId")
                with self._cond:
                    self.acks[mid] = frame
                    self._cond.notify_all()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            with self._cond:
                if self._ws is ws:
                    self._ws = None

    # ---- test API --------------------------------------------------------------------------------------------
    def wait_connected(self, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._ws is not None, timeout):
                raise TimeoutError("no stream client connected")

    def push(self, *, type_: str, topic: str, data: dict[str, Any], extra_headers: dict[str, Any] | None = None) -> str:
        """Send one frame to the connected client; returns its messageId."""
        mid = f"msg-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        frame = {"specVersion": "1.0", "type": type_,
                 "headers": {"appId": "fake-app", "connectionId": "fake-conn", "contentType": "application/json",
                             "messageId": mid, "time": str(int(time.time() * 1000)), "topic": topic,
                             **(extra_headers or {})},
                 "data": json.dumps(data, ensure_ascii=False)}
        with self._cond:
            ws = self._ws
        if ws is None:
            raise RuntimeError("no stream client connected")
        asyncio.run_coroutine_threadsafe(ws.send(json.dumps(frame, ensure_ascii=False)), self._loop).result(5)
        return mid

    def push_chatbot(self, message: dict[str, Any]) -> str:
        return self.push(type_="CALLBACK", topic=CHATBOT_TOPIC, data=message)

    def push_event(self, event_type: str, data: dict[str, Any]) -> str:
        return self.push(type_="EVENT", topic="*", data=data,
                         extra_headers={"eventType": event_type, "eventId": uuid.uuid4().hex,
                                        "eventBornTime": str(int(time.time() * 1000)), "eventCorpId": "ding-corp"})

    def wait_ack(self, message_id: str, timeout: float = 20.0) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: message_id in self.acks, timeout):
                raise TimeoutError(f"no ack for {message_id}")
            return self.acks[message_id]
