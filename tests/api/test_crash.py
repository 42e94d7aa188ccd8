"""A worker killed with SIGKILL mid-batch loses no note and makes no duplicate event."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from models import AdverseEvent, EventFinding, Finding, JobStatus, Note, NoteCreate, NoteStatus, ScanJob
from service.db import session_scope
from service.services.notes import ingest_note

ROOT = Path(__file__).resolve().parents[2]
AEW = [sys.executable, "-m", "service.cli"]
N = 240


def _env(db_url, **extra):
    env = {**os.environ, "AEW_DATABASE_URL": db_url, "AEW_LOG_JSON": "false", "AEW_LOG_LEVEL": "WARNING",
           "HF_HUB_OFFLINE": "1", **extra}
    return env


def _count(engine, stmt):
    with Session(engine) as s:
        return s.exec(stmt).one()


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(engine, db_url):
    with session_scope(engine) as s:
        for i in range(N):
            text = f"第{i}号：患者夜间如厕时不慎跌倒，右髋部疼痛。" if i % 2 == 0 else f"第{i}号：患者生命体征平稳，继续观察。"
            ingest_note(session=s, data=NoteCreate(id=f"k-{i}", text=text, encounter_id=f"E{i}", patient_id=f"P{i}"),
                        client_name="crash-test")
    done = select(func.count()).select_from(ScanJob).where(ScanJob.status == JobStatus.done)
    w1 = subprocess.Popen(AEW + ["worker"], cwd=ROOT, env=_env(db_url, AEW_WORKER_BATCH="8",
                                                                AEW_JOB_LEASE_SECONDS="3"))
    try:
        deadline = time.time() + 180
        while _count(engine, done) < 10:
            assert time.time() < deadline, "first worker made no progress"
            assert w1.poll() is None, "first worker exited"
            time.sleep(0.02)
        w1.send_signal(signal.SIGKILL)
        w1.wait(10)
    finally:
        if w1.poll() is None:
            w1.kill()
    killed_at = _count(engine, done)
    assert killed_at < N, "the worker finished before it could be killed; raise N"
    w2 = subprocess.Popen(AEW + ["worker"], cwd=ROOT, env=_env(db_url, AEW_JOB_LEASE_SECONDS="3"))
    try:
        deadline = time.time() + 300
        while _count(engine, done) < N:
            assert time.time() < deadline, f"not all jobs done: {_count(engine, done)}/{N}"
            time.sleep(0.2)
    finally:
        w2.terminate()
        w2.wait(30)
    assert _count(engine, select(func.count()).select_from(Note).where(Note.status == NoteStatus.scanned)) == N
    falls = N // 2
    assert _count(engine, select(func.count()).select_from(AdverseEvent).where(AdverseEvent.category == "fall")) == falls
    with Session(engine) as s:
        per_note = s.exec(select(Finding.note_id, func.count()).where(Finding.category == "fall")
                          .group_by(Finding.note_id)).all()
        assert len(per_note) == falls and all(n == 1 for _, n in per_note)
        linked = s.exec(select(EventFinding.finding_id, func.count()).group_by(EventFinding.finding_id)).all()
        assert all(n == 1 for _, n in linked)
