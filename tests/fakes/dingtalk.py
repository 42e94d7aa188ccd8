"""A fake DingTalk on 127.0.0.1 (port 0), a real HTTP server in a thread, strict where DingTalk is strict.

- `POST /robot/send?access_token=T&timestamp=TS&sign=S` — the custom group robot. Unknown token → 300001;
  a robot with a secret checks TS (milliseconds, within one hour) and S = urlencode(base64(hmac_sha256(secret,
  f"{TS}\\n{secret}"))) → 310000 on mismatch; more than `rate_limit` accepted messages per token within
  `rate_window` seconds → 130101. The clock is injectable and the window configurable, so tests need not wait.
- `GET /gettoken?appkey=&appsecret=` — app tokens that expire after `token_ttl` seconds (40089 on bad keys).
- `POST /topapi/message/corpconversation/asyncsend_v2?access_token=` — work notices (40014 unknown token,
  42001 expired token).
- Any other path (e.g. a bot's sessionWebhook) is recorded and answered {"errcode": 0}.
- Failure injection: `fail_next(n, mode)` or `set_mode(mode)` with mode "500", "hang", 310000, 300001, 130101.
  A hung request waits until `release()` (or `hang_seconds`) and then closes without an answer.
Everything received is recorded in `requests` (and accepted messages in `delivered()`).

    with FakeDingTalk(robots={"tok": "SECxyz"}) as fake:
        url = fake.webhook("tok")
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

ROBOT_PATH = "/robot/send"
WORK_NOTICE_PATH = "/topapi/message/corpconversation/asyncsend_v2"


def expected_sign(secret: str, timestamp: str) -> str:
    """The signature before URL encoding (what the server sees after decoding the query)."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    raw: bytes
    at: float
    status: int | None = None          # HTTP status answered (None: hung, no answer)
    errcode: int | None = None         # errcode answered
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == 200 and self.errcode == 0


class FakeDingTalk:
    def __init__(self, *, robots: dict[str, str] | None = None, app_key: str = "ding-app-key",
                 app_secret: str = "ding-app-secret", token_ttl: float = 7200, rate_limit: int = 20,
                 rate_window: float = 60.0, hang_seconds: float = 30.0, clock: Callable[[], float] = time.time):
        self.robots = dict(robots or {"robot-token": "SECfake-robot-secret"})   # access_token → secret ("" = unsigned)
        self.app_key, self.app_secret, self.token_ttl = app_key, app_secret, token_ttl
        self.rate_limit, self.rate_window, self.hang_seconds, self.clock = rate_limit, rate_window, hang_seconds, clock
        self.requests: list[Received] = []
        self.tokens: dict[str, float] = {}            # app access tokens → expiry (clock seconds)
        self._sent: dict[str, deque[float]] = {}      # robot token → times of accepted messages
        self._script: deque[str | int] = deque()
        self._mode: str | int | None = None
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "FakeDingTalk":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       name="fake-dingtalk", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> "FakeDingTalk":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def webhook(self, token: str | None = None) -> str:
        return f"{self.url}{ROBOT_PATH}?access_token={token or next(iter(self.robots))}"

    # ---- failure injection -------------------------------------------------------------------------------------
    def set_mode(self, mode: str | int | None) -> None:
        """'500', 'hang', 310000, 300001, 130101 for every request from now on; None = healthy."""
        with self._lock:
            self._mode = mode
        if mode != "hang":
            self._release.set()
            self._release = threading.Event()

    def fail_next(self, n: int, mode: str | int) -> None:
        with self._lock:
            self._script.extend([mode] * n)

    def release(self) -> None:
        """Let hung requests go (they close without an answer)."""
        self._release.set()
        self._release = threading.Event()

    # ---- what was received ---------------------------------------------------------------------------------
    def received(self, path: str | None = ROBOT_PATH) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def delivered(self, path: str | None = ROBOT_PATH) -> list[Any]:
        """Bodies of accepted messages on `path`, in arrival order."""
        return [r.body for r in self.received(path) if r.accepted]

    def max_in_window(self, path: str = ROBOT_PATH) -> int:
        """The most accepted messages within any `rate_window` (what DingTalk would count)."""
        times = sorted(r.at for r in self.received(path) if r.accepted)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - self.rate_window:
                j += 1
            best = max(best, i - j + 1)
        return best

    # ---- the server ----------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        raw = h.rfile.read(int(h.headers.get("content-length") or 0)) if method == "POST" else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Received(method, parts.path, query, body, raw, self.clock(), headers=dict(h.headers.items()))
        with self._lock:
            self.requests.append(rec)
            injected = self._script.popleft() if self._script else self._mode
            release = self._release
        if injected == "hang":
            release.wait(self.hang_seconds)
            h.close_connection = True
            return
        if injected == "500":
            return self._answer(h, rec, 500, {"errcode": -1, "errmsg": "system busy"})
        if isinstance(injected, int):
            return self._answer(h, rec, 200, {"errcode": injected, "errmsg": {
                310000: "sign not match", 300001: "token is not exist",
                130101: "send too fast, exceed 20 times per minute"}.get(injected, "error")})
        if parts.path == ROBOT_PATH and method == "POST":
            return self._answer(h, rec, 200, self._robot(query, body))
        if parts.path == "/gettoken":
            return self._answer(h, rec, 200, self._gettoken(query))
        if parts.path == WORK_NOTICE_PATH and method == "POST":
            return self._answer(h, rec, 200, self._work_notice(query, body))
        return self._answer(h, rec, 200, {"errcode": 0, "errmsg": "ok"})

    def _answer(self, h: BaseHTTPRequestHandler, rec: Received, status: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        rec.status, rec.errcode = status, payload.get("errcode")
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json;charset=utf-8")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass

    def _robot(self, q: dict[str, str], body: Any) -> dict:
        token = q.get("access_token", "")
        if token not in self.robots:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        secret = self.robots[token]
        if secret:
            ts, sign = q.get("timestamp", ""), q.get("sign", "")
            if not ts.isdigit() or abs(self.clock() * 1000 - int(ts)) > 3600 * 1000:
                return {"errcode": 310000, "errmsg": "invalid timestamp"}
            if not hmac.compare_digest(sign, expected_sign(secret, ts)):
                return {"errcode": 310000, "errmsg": "sign not match"}
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "actionCard", "link",
                                                                      "feedCard"):
            return {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        mt = body["msgtype"]
        inner = body.get(mt) or {}
        if mt == "markdown" and not (inner.get("title") and inner.get("text")):
            return {"errcode": 40035, "errmsg": "缺少参数 markdown.title/text"}
        if mt == "actionCard" and not (inner.get("title") and inner.get("text")):
            return {"errcode": 40035, "errmsg": "缺少参数 actionCard.title/text"}
        with self._lock:
            sent = self._sent.setdefault(token, deque())
            now = self.clock()
            while sent and sent[0] <= now - self.rate_window:
                sent.popleft()
            if len(sent) >= self.rate_limit:
                return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            sent.append(now)
        return {"errcode": 0, "errmsg": "ok"}

    def _gettoken(self, q: dict[str, str]) -> dict:
        if q.get("appkey") != self.app_key or q.get("appsecret") != self.app_secret:
            return {"errcode": 40089, "errmsg": "不合法的appKey或appSecret"}
        token = f"app-token-{next(self._ids)}"
        with self._lock:
            self.tokens[token] = self.clock() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(self.token_ttl)}

    def _work_notice(self, q: dict[str, str], body: Any) -> dict:
        token = q.get("access_token", "")
        with self._lock:
            exp = self.tokens.get(token)
        if exp is None:
            return {"errcode": 40014, "errmsg": "不合法的access_token"}
        if exp <= self.clock():
            return {"errcode": 42001, "errmsg": "access_token超时"}
        if not isinstance(body, dict) or not body.get("agent_id") or not body.get("userid_list") or not body.get("msg"):
            return {"errcode": 40035, "errmsg": "缺少参数"}
        return {"errcode": 0, "errmsg": "ok", "task_id": next(self._ids), "request_id": f"req-{next(self._ids)}"}
