"""Server-side web sessions: a row per logged-in browser, found by the SHA-256 of the cookie's token.
Logout, a password change, deactivation and a role change delete the rows, which ends them at once in every
process; idle and absolute timeouts are checked on every request."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, select

from models import User
from models.base import utcnow
from models.security import WebLogin

TOUCH_RESOLUTION = timedelta(seconds=30)   # last_seen_at is written at most this often per session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(*, session: Session, user: User, ip: str | None) -> str:
    """Create a session for the user; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebLogin(token_hash=_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                         ip=(ip or "")[:64] or None))
    return token


def session_user(*, session: Session, token: str, idle: timedelta, absolute: timedelta,
                 now: datetime | None = None) -> User | None:
    """The active user of a live session, or None (an expired session is deleted on the way)."""
    now = now or utcnow()
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == _hash(token))).first()
    if row is None:
        return None
    if row.last_seen_at + idle <= now or row.created_at + absolute <= now:
        session.execute(delete(WebLogin).where(WebLogin.id == row.id))
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if row.last_seen_at + TOUCH_RESOLUTION <= now:
        session.execute(update(WebLogin).where(WebLogin.id == row.id).values(last_seen_at=now))
    return user


def end_session(*, session: Session, token: str) -> None:
    session.execute(delete(WebLogin).where(WebLogin.token_hash == _hash(token)))


def end_user_sessions(*, session: Session, user_id: int | None) -> int:
    """End every session of a user; returns how many there were."""
    if user_id is None:
        return 0
    return session.execute(delete(WebLogin).where(WebLogin.user_id == user_id)).rowcount or 0


def active_session_counts(*, session: Session) -> dict[int, int]:
    from sqlalchemy import func
    rows = session.exec(select(WebLogin.user_id, func.count()).group_by(WebLogin.user_id)).all()
    return {uid: n for uid, n in rows}
