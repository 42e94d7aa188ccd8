"""Checking that a callback really comes from DingTalk: the robot's HMAC sign, and the event callbacks'
signature and AES envelope (dingtalk-sdk's DingTalkCrypto)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from dingtalk.crypto import DingTalkCrypto


class SignatureError(Exception):
    """The request does not prove it comes from DingTalk (bad sign, stale timestamp, bad envelope)."""


def robot_sign(timestamp: str, secret: str) -> str:
    """base64(hmac_sha256(secret, f"{timestamp}\\n{secret}"))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_robot(*, timestamp: str | None, sign: str | None, secret: str, max_skew_seconds: int,
                 now_ms: int | None = None) -> None:
    """Raise SignatureError unless the headers carry a valid sign made within max_skew_seconds of now."""
    if not secret:
        raise SignatureError("robot secret (AEW_DINGTALK_APP_SECRET) is not configured")
    if not timestamp or not sign:
        raise SignatureError("missing timestamp or sign header")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not a number") from None
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    if abs(now_ms - ts) > max_skew_seconds * 1000:
        raise SignatureError("timestamp too far from now")
    if not hmac.compare_digest(robot_sign(timestamp, secret), sign):
        raise SignatureError("sign mismatch")


class EventCrypto:
    """Encrypted event callbacks: decrypt the request, encrypt the answer."""

    def __init__(self, *, token: str, aes_key: str, owner_key: str):
        if not (token and aes_key and owner_key):
            raise SignatureError("event callbacks are not configured (token, AES key, app key)")
        self._crypto = DingTalkCrypto(token, aes_key, owner_key)

    def decrypt(self, *, body: dict[str, Any], signature: str, timestamp: str, nonce: str) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("encrypt"), str):
            raise SignatureError("body has no 'encrypt'")
        try:
            plain = self._crypto.decrypt_message(body, signature, timestamp, nonce)
        except Exception as e:  # noqa: BLE001 — the SDK raises several types for a bad signature or envelope
            raise SignatureError(f"cannot decrypt: {type(e).__name__}") from None
        try:
            return json.loads(plain)
        except ValueError:
            raise SignatureError("decrypted payload is not JSON") from None

    def encrypt(self, text: str) -> dict[str, str]:
        """The answer DingTalk expects: {msg_signature, timeStamp, nonce, encrypt}."""
        return self._crypto.encrypt_message(text)
