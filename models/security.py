"""Login throttling counters and server-side web sessions."""
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import utcnow


class LoginThrottle(SQLModel, table=True):
    """Login attempts per key ("user:<name>" for any name typed, known or not; "ip:<address>").

    `attempts` counts attempts in flight or failed since `window_start`; it is raised with one atomic
    UPDATE before a password is checked, so concurrent guesses cannot all pass the limit."""
    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    attempts: int = 0
    window_start: datetime = Field(default_factory=utcnow)


class WebLogin(SQLModel, table=True):
    """One logged-in browser. The cookie carries a random token; only its SHA-256 is stored here.
    Deleting the row ends the session at once, in every process."""
    __tablename__ = "web_login"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ip: str | None = Field(default=None, max_length=64)
