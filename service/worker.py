"""The scan worker: claims jobs, scans notes, stores findings, files events and outbox rows per note."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import Finding, Note, NoteStatus
from models.base import utcnow
from nlp.types import NoteInput, PatientInfo
from service.db import session_scope
from service.services.events import file_findings
from service.services.jobs import Claim, LeaseLost, claim_jobs, fail_job, finish_job, renew_lease
from service.settings import Settings

log = logging.getLogger("aew.worker")


def note_input(note: Note) -> NoteInput:
    """The scanner's view of a stored note (no patient name: the scanner never needs it)."""
    return NoteInput(id=str(note.id), text=note.text, note_type=note.note_type, patient_id=note.patient_id,
                     encounter_id=note.encounter_id, department=note.department,
                     time=note.note_time.isoformat() if note.note_time else None,
                     patient=PatientInfo(sex=note.patient_sex, age=note.patient_age,
                                         allergies=tuple(note.patient_allergies or ())))


def encounter_history(*, session: Session, note: Note, limit: int) -> list[NoteInput]:
    """Earlier notes of the same encounter (oldest first), the latest version of each."""
    if not note.encounter_id:
        return []
    when = note.note_time or note.received_at
    rows = session.exec(select(Note).where(Note.encounter_id == note.encounter_id,
                                           Note.source_system == note.source_system, Note.id != note.id,
                                           Note.external_id != note.external_id)
                         .order_by(Note.id.desc()).limit(limit * 3)).all()
    latest: dict[str, Note] = {}
    for r in rows:
        if (r.note_time or r.received_at) <= when and (r.external_id not in latest
                                                       or latest[r.external_id].version < r.version):
            latest[r.external_id] = r
    earlier = sorted(latest.values(), key=lambda r: (r.note_time or r.received_at, r.id))[-limit:]
    return [note_input(r) for r in earlier]


class Heartbeat:
    """Renews one job's lease while it is scanned; past the scan time limit, fails the job for good instead.

    The scan itself cannot be interrupted (it is CPU-bound Python): once the limit passes the job is marked
    `failed` with the reason, so the scan's result is discarded (LeaseLost) and the note is not retried."""

    def __init__(self, worker: "Worker", claim: Claim):
        self.worker, self.claim = worker, claim
        st = worker.settings
        self.limit = st.scan_time_limit_seconds
        self.interval = max(0.05, min(st.job_lease_seconds / 3, 30.0))
        self.stop = threading.Event()
        self.timed_out = False
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{claim.job_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        w, c = self.worker, self.claim
        while True:
            left = self.limit - (time.monotonic() - self.t0)
            if self.stop.wait(max(0.0, min(self.interval, left))):
                return
            try:
                if time.monotonic() - self.t0 >= self.limit:
                    self.timed_out = True
                    w._fail(c, f"扫描超过时限 {self.limit:g} 秒，已停止重试 / scan exceeded the time limit of "
                               f"{self.limit:g} s (AEW_SCAN_TIME_LIMIT_SECONDS); not retried", give_up=True)
                    log.error("scan time limit exceeded", extra={"job_id": c.job_id, "note_id": c.note_id,
                                                                  "limit_s": self.limit})
                    return
                with session_scope(w.engine) as s:
                    if not renew_lease(session=s, job_id=c.job_id, worker_id=w.id,
                                       lease_seconds=w.settings.job_lease_seconds):
                        return
            except Exception as e:  # noqa: BLE001 — a missed beat is retried at the next interval
                log.warning("heartbeat failed", extra={"job_id": c.job_id, "error": repr(e)})


class Worker:
    """Processes scan jobs; any number of workers may run against one database."""

    def __init__(self, *, engine: Engine, settings: Settings, scanner_factory: Callable, name: str | None = None,
                 metrics=None):
        self.engine, self.settings, self.scanner_factory = engine, settings, scanner_factory
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.metrics = metrics

    def run_once(self) -> int:
        """Claim a batch and process it; returns how many jobs were claimed."""
        with session_scope(self.engine) as s:
            claims = claim_jobs(session=s, worker_id=self.id, limit=self.settings.worker_batch,
                                lease_seconds=self.settings.job_lease_seconds)
        for c in claims:
            self.process(c)
        return len(claims)

    def process(self, claim: Claim) -> None:
        if claim.attempts > self.settings.job_max_attempts:
            self._fail(claim, "too many attempts (worker crashed or lease expired repeatedly)")
            return
        with session_scope(self.engine) as s:     # the batch's lease started at claim: start this job's afresh
            if not renew_lease(session=s, job_id=claim.job_id, worker_id=self.id,
                               lease_seconds=self.settings.job_lease_seconds):
                log.warning("lease lost before scanning", extra={"job_id": claim.job_id})
                return
        with Heartbeat(self, claim):
            self._process(claim)

    def _process(self, claim: Claim) -> None:
        t0 = time.perf_counter()
        try:
            scanner = self.scanner_factory()
            with Session(self.engine) as s:
                note = s.get(Note, claim.note_id)
                current = note_input(note)
                history = encounter_history(session=s, note=note, limit=self.settings.history_notes)
            result = scanner.scan(current, history)
            with session_scope(self.engine) as s:
                finish_job(session=s, job_id=claim.job_id, worker_id=self.id)
                note = s.get(Note, claim.note_id)
                rows = [Finding(note_id=note.id, **f.to_dict()) for f in result.findings]
                for r in rows:
                    s.add(r)
                s.flush()
                file_findings(session=s, note=note, findings=rows, settings=self.settings)
                note.status, note.scanned_at = NoteStatus.scanned, utcnow()
                note.scanner_version = getattr(scanner, "version", None)
                s.add(note)
            if self.metrics:
                self.metrics.observe_scan(time.perf_counter() - t0, result.findings)
        except LeaseLost as e:
            log.warning("lease lost", extra={"job_id": claim.job_id, "error": str(e)})
        except Exception as e:  # noqa: BLE001 — any failure of one note must not stop the others
            log.error("scan failed", extra={"job_id": claim.job_id, "note_id": claim.note_id,
                                            "attempt": claim.attempts, "error": repr(e)})
            self._fail(claim, "".join(traceback.format_exception_only(type(e), e)).strip()
                       + "\n" + traceback.format_exc()[-2000:])

    def _fail(self, claim: Claim, error: str, give_up: bool = False) -> None:
        with session_scope(self.engine) as s:
            status = fail_job(session=s, job_id=claim.job_id, worker_id=self.id, error=error,
                              attempts=claim.attempts, max_attempts=self.settings.job_max_attempts,
                              backoff_seconds=self.settings.job_backoff_seconds, give_up=give_up)
        log.info("job attempt failed", extra={"job_id": claim.job_id, "status": status.value})

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker started", extra={"worker": self.id})
        while not stop.is_set():
            try:
                n = self.run_once()
            except Exception as e:  # noqa: BLE001 — e.g. database briefly unreachable: wait and retry
                log.error("worker loop error", extra={"error": repr(e)})
                n = 0
                stop.wait(2.0)
            if n == 0:
                stop.wait(self.settings.worker_poll_seconds)
        log.info("worker stopped", extra={"worker": self.id})
