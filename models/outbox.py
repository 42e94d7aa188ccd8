"""Notifications to send, written in the same transaction as the change they announce."""
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import utcnow


class OutboxStatus(str, Enum):
    pending = "pending"
    sent = "sent"
    dead = "dead"
    skipped = "skipped"      # e.g. folded into a digest


class OutboxMessage(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(index=True, max_length=32)          # event_created, event_escalated, digest, report_reply ...
    channel: str | None = Field(default=None, max_length=64)  # chosen by routing: robot:<name>, work_notice, log
    event_id: int | None = Field(default=None, foreign_key="adverseevent.id", index=True)
    dedup_key: str = Field(unique=True, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: OutboxStatus = Field(default=OutboxStatus.pending, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_errcode: int | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None
