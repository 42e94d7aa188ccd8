"""Writing outbox rows. Called inside the transaction of the change they announce; never sends anything."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models import AdverseEvent, OutboxMessage


def enqueue(*, session: Session, topic: str, dedup_key: str, event: AdverseEvent | None = None,
            payload: dict[str, Any] | None = None) -> OutboxMessage | None:
    """Add one outbox row unless one with the same de-duplication key exists. Payload carries no patient data."""
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)).first() is not None:
        return None
    msg = OutboxMessage(topic=topic, dedup_key=dedup_key, event_id=event.id if event else None,
                        payload=dict(payload or {}))
    session.add(msg)
    return msg


def enqueue_event_notice(*, session: Session, event: AdverseEvent, topic: str = "event_created") -> OutboxMessage | None:
    """Announce a new (or newly more severe) event; the dispatcher renders the masked message at send time."""
    key = f"{topic}:{event.id}" if topic == "event_created" else f"{topic}:{event.id}:{event.severity}"
    return enqueue(session=session, topic=topic, dedup_key=key, event=event,
                   payload={"severity": event.severity, "category": event.category})


def enqueue_bot_reply(*, session: Session, dedup_key: str, webhook: str, expires_at: str, msg: dict[str, Any],
                      event: AdverseEvent | None = None) -> OutboxMessage | None:
    """A DingTalk bot reply that could not be sent at once: the dispatcher POSTs `msg` to the conversation's
    sessionWebhook until it is delivered or the webhook expires (then the row is dead)."""
    return enqueue(session=session, topic="bot_reply", dedup_key=dedup_key, event=event,
                   payload={"webhook": webhook, "expires_at": expires_at, "msg": msg})
