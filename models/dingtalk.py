"""DingTalk bookkeeping: messages already handled (replay protection), open drafts per conversation,
approval instances seen, and the DingTalk staff who talk to the bot (linked to users / departments).

Senders are stored as a keyed hash (`sender_key`) wherever a row points at an event, so an anonymous report
cannot be traced back through these tables; the plain staff id lives only in `DingTalkContact`."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import utcnow


class DingTalkMessage(SQLModel, table=True):
    """One inbound message (robot callback or Stream frame), recorded once by its msgId."""
    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(unique=True, max_length=128)
    channel: str = Field(max_length=16)                       # robot | stream
    conversation_id: str | None = Field(default=None, max_length=128)
    sender_key: str = Field(index=True, max_length=64)
    kind: str = Field(default="report", max_length=16)        # report | followup | command | ignored
    event_id: int | None = Field(default=None, foreign_key="adverseevent.id", index=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)


class DingTalkConversation(SQLModel, table=True):
    """A draft waiting for a follow-up message from the same sender in the same conversation."""
    __table_args__ = (UniqueConstraint("conversation_id", "sender_key", name="uq_dingtalk_conversation_sender"),)
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=128)
    sender_key: str = Field(max_length=64)
    event_id: int = Field(foreign_key="adverseevent.id")
    missing: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class DingTalkApproval(SQLModel, table=True):
    """An OA approval instance ("不良事件上报") whose change event was received."""
    id: int | None = Field(default=None, primary_key=True)
    process_instance_id: str = Field(unique=True, max_length=128)
    process_code: str | None = Field(default=None, max_length=128)
    status: str = Field(default="received", max_length=16)     # received | filed | ignored | failed
    result: str | None = Field(default=None, max_length=32)    # agree | refuse | terminate ...
    event_id: int | None = Field(default=None, foreign_key="adverseevent.id")
    error: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DingTalkContactBase(SQLModel):
    staff_id: str = Field(unique=True, max_length=128)
    nick: str | None = Field(default=None, max_length=128)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")


class DingTalkContact(DingTalkContactBase, table=True):
    """A DingTalk staff member who has written to the bot; an admin links them to a user and/or department."""
    id: int | None = Field(default=None, primary_key=True)
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


class DingTalkContactUpdate(SQLModel):
    user_id: int | None = None
    department_id: int | None = None
