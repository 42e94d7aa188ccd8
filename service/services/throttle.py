"""Login throttling that holds under concurrency: every attempt first raises its counters with one atomic
UPDATE … RETURNING, committed before the password is checked, so N parallel guesses see N different counts
and only the first `limit` are checked. Keys: "user:<name as typed>" (known or unknown) and "ip:<address>".

A success resets the user's counter and gives back the address's attempt; a failure keeps both, and the
failure that reaches the limit starts the lock (`lock` long). After the window the next attempt starts at 1."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from models import User
from models.base import utcnow
from models.security import LoginThrottle

_WINDOW_START_TYPE = LoginThrottle.__table__.c.window_start.type


def user_key(username: str) -> str:
    return "user:" + username.strip().lower()[:64]


def ip_key(ip: str | None) -> str:
    return "ip:" + (ip or "unknown")[:64]


@dataclass
class Attempt:
    """The outcome of reserving one login attempt."""
    allowed: bool
    counts: dict[str, int]
    window: timedelta
    blocked_by: str | None = None          # the key over its limit
    retry_at: datetime | None = None       # when that key's lock ends


def reserve_attempt(*, session: Session, limits: dict[str, int], window: timedelta,
                    now: datetime | None = None) -> Attempt:
    """Count one attempt against every key (in key order, so concurrent reservations cannot deadlock);
    the caller commits at once. Refused when any key is past its limit."""
    now = now or utcnow()
    cutoff = now - window
    ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    counts, starts = {}, {}
    for key in sorted(limits):
        session.execute(ins(LoginThrottle).values(key=key, attempts=0, window_start=now)
                        .on_conflict_do_nothing(index_elements=["key"]))
        expired = LoginThrottle.window_start <= cutoff
        row = session.execute(
            update(LoginThrottle).where(LoginThrottle.key == key)
            .values(attempts=case((expired, 1), else_=LoginThrottle.attempts + 1),
                    window_start=case((expired, bindparam("now_", now, type_=_WINDOW_START_TYPE)),
                                      else_=LoginThrottle.window_start))
            .returning(LoginThrottle.attempts, LoginThrottle.window_start)).one()
        counts[key], starts[key] = row[0], row[1]
    for key in sorted(limits):
        if counts[key] > limits[key]:
            return Attempt(allowed=False, counts=counts, window=window, blocked_by=key, retry_at=starts[key] + window)
    return Attempt(allowed=True, counts=counts, window=window)


def record_failure(*, session: Session, attempt: Attempt, limits: dict[str, int],
                   now: datetime | None = None) -> list[str]:
    """A checked attempt failed: a key whose count reached its limit starts its lock now. Returns those keys."""
    now = now or utcnow()
    locked = [k for k in sorted(limits) if attempt.counts.get(k, 0) >= limits[k]]
    for key in locked:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == key,
                                                    LoginThrottle.attempts >= limits[key])
                        .values(window_start=now))
    return locked


def record_success(*, session: Session, username_key: str, address_key: str) -> None:
    """The password was right: the user's count starts again, the address gets its attempt back."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == username_key))
    session.execute(update(LoginThrottle).where(LoginThrottle.key == address_key, LoginThrottle.attempts > 0)
                    .values(attempts=LoginThrottle.attempts - 1))


def clear_user_lock(*, session: Session, user: User) -> None:
    """An admin unlocks an account (also done by a password reset)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == user_key(user.username)))
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
