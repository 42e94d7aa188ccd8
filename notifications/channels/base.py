"""One channel interface. `send` returns a SendResult (never a bare bool) and never raises for delivery errors:
a network error, an HTTP error or a DingTalk errcode all come back as a result the dispatcher records."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SendResult:
    ok: bool
    errcode: int | None = None
    errmsg: str = ""
    retry_after: float | None = None     # seconds the far side asked us to wait (e.g. 130101 too fast)
    permanent: bool = False              # retrying this message cannot help
    config_error: bool = False           # the channel's configuration is wrong: pause it, show it to the admin
    status_code: int | None = None       # HTTP status, when there was a response

    @classmethod
    def success(cls, status_code: int | None = 200) -> "SendResult":
        return cls(ok=True, errcode=0, status_code=status_code)

    @classmethod
    def failure(cls, errmsg: str, **kw: Any) -> "SendResult":
        return cls(ok=False, errmsg=errmsg[:2000], **kw)


@dataclass
class Message:
    """A rendered, PHI-masked message. Channels turn it into their wire format."""
    title: str
    text: str                                    # markdown
    link: str | None = None                      # deep link to the event page
    link_title: str = "查看事件"
    at_mobiles: list[str] = field(default_factory=list)
    at_user_ids: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)    # DingTalk staff ids (work notices)
    raw: dict[str, Any] | None = None            # a ready DingTalk message (session-webhook replies)
    webhook: str | None = None                   # session webhook URL (bot replies)
    expires_at: str | None = None                # ISO time the session webhook dies


class Channel(ABC):
    """A place messages go. `ordered` channels deliver strictly in outbox order (head-of-line waits)."""
    name: str
    kind: str
    ordered: bool = True
    rate_limited: bool = False

    def fingerprint(self) -> str:
        """Changes when the configuration changes (a config-error pause ends when it does)."""
        return ""

    @abstractmethod
    def send(self, message: Message) -> SendResult:
        """Deliver one message; report the outcome, never raise for a delivery failure."""

    def close(self) -> None:
        pass
