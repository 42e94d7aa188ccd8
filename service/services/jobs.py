"""Scan jobs: claim with a lease (SKIP LOCKED on PostgreSQL), complete in one transaction, retry, fail."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from models import JobStatus, Note, NoteStatus, ScanJob
from models.base import utcnow


@dataclass(frozen=True)
class Claim:
    job_id: int
    note_id: int
    attempts: int


class LeaseLost(RuntimeError):
    """Another worker took the job over (our lease expired); our result is discarded."""


def claim_jobs(*, session: Session, worker_id: str, limit: int, lease_seconds: int) -> list[Claim]:
    """Atomically claim up to `limit` due jobs (pending, or running with an expired lease). Caller commits."""
    now = utcnow()
    due = or_(and_(ScanJob.status == JobStatus.pending, ScanJob.available_at <= now),
              and_(ScanJob.status == JobStatus.running, ScanJob.lease_until < now))
    pick = select(ScanJob.id).where(due).order_by(ScanJob.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (update(ScanJob).where(ScanJob.id.in_(pick.scalar_subquery()))
            .values(status=JobStatus.running, claimed_by=worker_id, claimed_at=now,
                    lease_until=now + timedelta(seconds=lease_seconds), attempts=ScanJob.attempts + 1)
            .returning(ScanJob.id, ScanJob.note_id, ScanJob.attempts)
            .execution_options(synchronize_session=False))
    rows = session.execute(stmt).all()
    return sorted((Claim(job_id=r[0], note_id=r[1], attempts=r[2]) for r in rows), key=lambda c: c.job_id)


def finish_job(*, session: Session, job_id: int, worker_id: str) -> None:
    """Mark our job done inside the transaction that stores its results; raise LeaseLost if it is not ours."""
    res = session.execute(update(ScanJob)
                          .where(ScanJob.id == job_id, ScanJob.claimed_by == worker_id,
                                 ScanJob.status == JobStatus.running)
                          .values(status=JobStatus.done, finished_at=utcnow(), last_error=None)
                          .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise LeaseLost(f"job {job_id} is no longer claimed by {worker_id}")


def renew_lease(*, session: Session, job_id: int, worker_id: str, lease_seconds: float) -> bool:
    """Heartbeat: extend our lease on a running job; False when the job is no longer ours. Caller commits."""
    res = session.execute(update(ScanJob)
                          .where(ScanJob.id == job_id, ScanJob.claimed_by == worker_id,
                                 ScanJob.status == JobStatus.running)
                          .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
                          .execution_options(synchronize_session=False))
    return res.rowcount == 1


def fail_job(*, session: Session, job_id: int, worker_id: str | None, error: str, attempts: int,
             max_attempts: int, backoff_seconds: float, give_up: bool = False) -> JobStatus:
    """Record a failed attempt: back to pending with exponential backoff and jitter, or `failed` for good
    (after max_attempts, or at once with give_up)."""
    final = give_up or attempts >= max_attempts
    delay = backoff_seconds * (2 ** max(attempts - 1, 0)) * random.uniform(0.8, 1.2)
    status = JobStatus.failed if final else JobStatus.pending
    cond = [ScanJob.id == job_id]
    if worker_id is not None:          # only while the job is still ours and running
        cond += [ScanJob.claimed_by == worker_id, ScanJob.status == JobStatus.running]
    res = session.execute(update(ScanJob).where(*cond)
                          .values(status=status, last_error=error[-4000:], lease_until=None,
                                  available_at=utcnow() + timedelta(seconds=delay),
                                  finished_at=utcnow() if final else None)
                          .execution_options(synchronize_session=False))
    if res.rowcount == 0:
        return status
    if final:
        job = session.get(ScanJob, job_id)
        note = session.get(Note, job.note_id) if job else None
        if note is not None:
            note.status = NoteStatus.failed
            session.add(note)
    return status


def retry_failed(*, session: Session, note_id: int) -> bool:
    """Put a failed note's job back in the queue (an operator action)."""
    job = session.exec(select(ScanJob).where(ScanJob.note_id == note_id)).first()
    if job is None or job.status != JobStatus.failed:
        return False
    job.status, job.attempts, job.available_at, job.last_error = JobStatus.pending, 0, utcnow(), None
    session.add(job)
    note = session.get(Note, note_id)
    note.status = NoteStatus.pending
    session.add(note)
    return True


def queue_depth(*, session: Session) -> dict[str, int]:
    from sqlalchemy import func
    rows = session.exec(select(ScanJob.status, func.count()).group_by(ScanJob.status)).all()
    return {(s.value if hasattr(s, "value") else str(s)): n for s, n in rows}
