"""Shared column helpers. Datetimes are timezone-aware and stored as UTC."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
