"""The browser cookie: signed, HttpOnly, SameSite=Lax, holding the token of a server-side session
(`service.services.sessions`) and a CSRF token. The cookie alone logs nobody in: its session row must exist."""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

COOKIE_NAME = "aew_session"
MAX_AGE_SECONDS = 12 * 3600          # default absolute timeout (AEW_SESSION_ABSOLUTE_HOURS)
SECRET_FILE = Path("var") / "secret_key"


def resolve_secret_key(configured: str, path: Path = SECRET_FILE) -> str:
    """The configured secret, or one generated once into ./var/secret_key (shared by every process there)."""
    if configured:
        return configured
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(48))
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise RuntimeError(f"{path} is empty; delete it or set AEW_SECRET_KEY")
    return key


class WebSession:
    """The decoded cookie. `modified` tells the middleware to write it back."""

    def __init__(self, data: dict[str, Any] | None = None):
        self.data: dict[str, Any] = dict(data or {})
        self.modified = False
        if not self.data.get("csrf"):
            self.data["csrf"] = secrets.token_urlsafe(32)
            self.modified = True

    @property
    def token(self) -> str | None:
        """The server-side session's token, when logged in."""
        return self.data.get("sid")

    @property
    def csrf_token(self) -> str:
        return self.data["csrf"]

    def login(self, *, token: str) -> None:
        """Carry a fresh server-side session (new CSRF token: no fixation)."""
        self.data = {"sid": token, "csrf": secrets.token_urlsafe(32)}
        self.modified = True

    def logout(self) -> None:
        self.data = {"csrf": secrets.token_urlsafe(32)}
        self.modified = True

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf_token)


class SessionCodec:
    """Signs and reads the session cookie; one per app (built in `setup`, never at import)."""

    def __init__(self, *, secret_key: str, secure: bool, max_age: int = MAX_AGE_SECONDS):
        self.serializer = URLSafeTimedSerializer(secret_key, salt="aew-web-session")
        self.secure = secure
        self.max_age = max_age

    def load(self, request: Request) -> WebSession:
        raw = request.cookies.get(COOKIE_NAME)
        if raw:
            try:
                return WebSession(self.serializer.loads(raw, max_age=self.max_age))
            except (BadSignature, SignatureExpired):
                pass
        return WebSession()

    def save(self, session: WebSession, response: Response) -> None:
        response.set_cookie(COOKIE_NAME, self.serializer.dumps(session.data), max_age=self.max_age,
                            httponly=True, samesite="lax", secure=self.secure, path="/")


def get_web_session(request: Request) -> WebSession:
    """The request's session, loaded once; the middleware writes it back when it changed."""
    sess = getattr(request.state, "web_session", None)
    if sess is None:
        sess = request.app.state.session_codec.load(request)
        request.state.web_session = sess
    return sess
