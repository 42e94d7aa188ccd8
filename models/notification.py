"""Notification routing rules (data an admin edits), the state of each channel (config errors surfaced on the
admin page, pauses, digests) and the dispatcher leases that keep one sender per channel across processes."""
from datetime import datetime
from enum import Enum

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import utcnow


class DeliveryMode(str, Enum):
    by_severity = "by_severity"   # I/II immediately, III/IV in the next digest
    immediate = "immediate"
    digest = "digest"


class RoutingRuleBase(SQLModel):
    name: str = Field(max_length=128)
    priority: int = Field(default=100, description="lower runs first; every matching enabled rule applies")
    enabled: bool = True
    severities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))   # empty = any
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))   # empty = any
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # empty = any
    target: str = Field(default="robot:default", max_length=64,
                        description="robot:<name> (group robot), work_notice (people in user_ids) or log")
    user_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mode: DeliveryMode = Field(default=DeliveryMode.by_severity)
    stop: bool = Field(default=False, description="no further rules after this one matched")


class RoutingRule(RoutingRuleBase, table=True):
    """Which events go where, and when. With no enabled rule the built-in default applies (all → default robot)."""
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingRuleCreate(SQLModel):
    name: str = Field(min_length=1, max_length=128)
    priority: int = 100
    enabled: bool = True
    severities: list[str] = []
    categories: list[str] = []
    departments: list[str] = []
    target: str = Field(default="robot:default", max_length=64)
    user_ids: list[int] = []
    mode: DeliveryMode = DeliveryMode.by_severity
    stop: bool = False


class RoutingRuleUpdate(SQLModel):
    name: str | None = None
    priority: int | None = None
    enabled: bool | None = None
    severities: list[str] | None = None
    categories: list[str] | None = None
    departments: list[str] | None = None
    target: str | None = None
    user_ids: list[int] | None = None
    mode: DeliveryMode | None = None
    stop: bool | None = None


class RoutingRulePublic(RoutingRuleBase):
    id: int


class ChannelStatus(SQLModel, table=True):
    """What the dispatcher last saw from one channel; a configuration error pauses it (no retry storm)."""
    channel: str = Field(primary_key=True, max_length=64)
    last_ok_at: datetime | None = None
    last_error_at: datetime | None = None
    last_errcode: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    config_error: bool = False
    config_fingerprint: str | None = Field(default=None, max_length=64)  # hash of the config the error was seen with
    paused_until: datetime | None = None
    last_digest_at: datetime | None = None


class DispatcherLease(SQLModel, table=True):
    """One row per channel (and one for the router): only the holder of an unexpired lease sends on it."""
    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=128)
    expires_at: datetime
    acquired_at: datetime = Field(default_factory=utcnow)
