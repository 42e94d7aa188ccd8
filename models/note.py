"""Notes received from the EMR and the scan jobs that process them."""
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import StringConstraints, field_validator
from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel
from typing_extensions import Annotated

from models.base import utcnow

MIN_YEAR, MAX_YEAR = 1900, 2199     # note times outside this range are typing errors (and overflow in UTC)


class NoteStatus(str, Enum):
    pending = "pending"
    scanned = "scanned"
    failed = "failed"


class JobStatus(str, Enum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class PatientIn(SQLModel):
    sex: str | None = Field(default=None, max_length=4, description="男 | 女")
    age: float | None = Field(default=None, ge=0, le=150, description="years; 0.5 = six months")
    allergies: list[Annotated[str, StringConstraints(max_length=128)]] = Field(default_factory=list, max_length=200)
    name: str | None = Field(default=None, max_length=64, description="patient name; stored, never sent out")


class NoteCreate(SQLModel):
    """One note as the EMR posts it (the scan contract's input, plus source fields)."""
    id: str = Field(min_length=1, max_length=128, description="the note's id in the source system")
    text: str
    source_system: str | None = Field(default=None, max_length=64, description="defaults to the API client's name")
    note_type: str | None = Field(default=None, max_length=64)
    patient_id: str | None = Field(default=None, max_length=64)
    encounter_id: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=64)
    bed: str | None = Field(default=None, max_length=32)
    time: datetime | None = Field(default=None, description="the note's time, 1900-01-01 … 2199-12-31; "
                                  "without an offset: the hospital's local time")
    patient: PatientIn = Field(default_factory=PatientIn)

    @field_validator("time")
    @classmethod
    def _sane_time(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        try:
            utc_year = v.astimezone(timezone.utc).year if v.tzinfo else v.year
        except OverflowError:
            utc_year = v.year
        if not (MIN_YEAR <= v.year <= MAX_YEAR and MIN_YEAR <= utc_year <= MAX_YEAR):
            raise ValueError(f"time must lie between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31")
        return v


class Note(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source_system", "external_id", "version", name="uq_note_source_version"),)
    id: int | None = Field(default=None, primary_key=True)
    source_system: str = Field(index=True, max_length=64)
    external_id: str = Field(index=True, max_length=128)
    version: int = 1
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_sha256: str = Field(max_length=64)
    note_type: str | None = Field(default=None, max_length=64)
    patient_id: str | None = Field(default=None, index=True, max_length=64)
    patient_name: str | None = Field(default=None, max_length=64)
    encounter_id: str | None = Field(default=None, index=True, max_length=64)
    department: str | None = Field(default=None, index=True, max_length=64)
    bed: str | None = Field(default=None, max_length=32)
    note_time: datetime | None = None
    patient_sex: str | None = Field(default=None, max_length=4)
    patient_age: float | None = None
    patient_allergies: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: NoteStatus = Field(default=NoteStatus.pending, index=True)
    scanner_version: str | None = Field(default=None, max_length=128)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    scanned_at: datetime | None = None


class NotePublic(SQLModel):
    id: int
    source_system: str
    external_id: str
    version: int
    note_type: str | None
    patient_id: str | None
    encounter_id: str | None
    department: str | None
    bed: str | None
    note_time: datetime | None
    status: NoteStatus
    received_at: datetime
    scanned_at: datetime | None


class ScanJob(SQLModel, table=True):
    """One note to scan. Claimed with a lease; attempts are counted at claim so a poison note ends `failed`."""
    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", unique=True)
    status: JobStatus = Field(default=JobStatus.pending, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_at: datetime | None = None
    lease_until: datetime | None = None
    available_at: datetime = Field(default_factory=utcnow, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
