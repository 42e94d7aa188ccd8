"""Findings of the scanner, the adverse-event queue they are merged into, and the history of decisions."""
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import utcnow


class EventStatus(str, Enum):
    draft = "draft"            # a manual report still missing required facts
    new = "new"                # waiting for first review
    in_review = "in_review"    # assigned / being looked at
    confirmed = "confirmed"
    dismissed = "dismissed"
    merged = "merged"          # folded into another event (merged_into_id)
    closed = "closed"


OPEN_STATUSES = (EventStatus.new, EventStatus.in_review)


class EventSource(str, Enum):
    nlp = "nlp"
    manual = "manual"          # generic manual report
    dingtalk = "dingtalk"
    web = "web"


class Finding(SQLModel, table=True):
    """One finding of the scan contract, stored for one note version."""
    __table_args__ = (UniqueConstraint("note_id", "category", "start", "end", "rule", name="uq_finding_note_span"),)
    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", index=True)
    kind: str = Field(max_length=16)
    category: str = Field(index=True, max_length=64)
    severity: str = Field(max_length=4)
    start: int
    end: int
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    confidence: float
    rule: str = Field(index=True, max_length=128)
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    section: str | None = Field(default=None, max_length=64)
    entities: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class FindingPublic(SQLModel):
    id: int
    note_id: int
    kind: str
    category: str
    severity: str
    start: int
    end: int
    evidence: str
    confidence: float
    rule: str
    explanation: str
    context: dict[str, Any]
    section: str | None
    entities: list[Any] | None = None


class EventFinding(SQLModel, table=True):
    event_id: int = Field(foreign_key="adverseevent.id", primary_key=True)
    finding_id: int = Field(foreign_key="finding.id", primary_key=True)


class AdverseEventBase(SQLModel):
    kind: str = Field(default="event", max_length=16)      # event | doc_error
    category: str = Field(index=True, max_length=64)
    severity: str = Field(index=True, max_length=4)
    status: EventStatus = Field(default=EventStatus.new, index=True)
    source: EventSource = Field(default=EventSource.nlp, index=True)
    department: str | None = Field(default=None, index=True, max_length=64)
    patient_id: str | None = Field(default=None, index=True, max_length=64)
    encounter_id: str | None = Field(default=None, index=True, max_length=64)
    bed: str | None = Field(default=None, max_length=32)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    occurred_at: datetime | None = None


class AdverseEvent(AdverseEventBase, table=True):
    """One incident in the quality department's queue (possibly several findings from several notes)."""
    id: int | None = Field(default=None, primary_key=True)
    merge_key: str = Field(index=True, max_length=200)   # encounter (or patient / note) the merge window applies to
    detected_at: datetime = Field(default_factory=utcnow, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    last_evidence_at: datetime = Field(default_factory=utcnow)
    deadline_at: datetime | None = Field(default=None, index=True)
    first_reviewed_at: datetime | None = None
    escalated_at: datetime | None = None
    assignee_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    dismiss_reason: str | None = Field(default=None, max_length=64)
    merged_into_id: int | None = Field(default=None, foreign_key="adverseevent.id")
    final_category: str | None = Field(default=None, max_length=64)
    final_severity: str | None = Field(default=None, max_length=4)
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    corrective_actions: str | None = Field(default=None, sa_column=Column(Text))
    reporter_user_id: int | None = Field(default=None, foreign_key="user.id")
    reporter_name: str | None = Field(default=None, max_length=128)
    anonymous: bool = False
    external_ref: str | None = Field(default=None, index=True, max_length=200)  # e.g. dingtalk msgId / approval id


class AdverseEventUpdate(SQLModel):
    category: str | None = None
    severity: str | None = None
    status: EventStatus | None = None
    assignee_id: int | None = None
    summary: str | None = None
    root_cause: str | None = None
    corrective_actions: str | None = None


class AdverseEventPublic(AdverseEventBase):
    id: int
    detected_at: datetime
    created_at: datetime
    deadline_at: datetime | None
    assignee_id: int | None
    dismiss_reason: str | None
    merged_into_id: int | None
    note_ids: list[int] = []
    findings: list[FindingPublic] = []


class EventAction(SQLModel, table=True):
    """History: who did what to an event, when, and why."""
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="adverseevent.id", index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    actor_name: str = Field(max_length=128)          # "system" for the scanner
    action: str = Field(max_length=32)               # created, evidence_added, confirm, dismiss, merge, assign, ...
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)
