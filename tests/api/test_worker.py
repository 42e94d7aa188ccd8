"""Worker robustness: retries with backoff, a visible failed state, reclaiming expired leases."""
from datetime import timedelta

from sqlmodel import Session, select

from models import JobStatus, Note, NoteStatus, ScanJob
from models.base import utcnow
from service.services.jobs import claim_jobs
from service.worker import Worker


class ExplodingScanner:
    """A scanner that fails on notes containing a marker (a poison note) and scans the rest for real."""

    def __init__(self, real):
        self.real, self.version = real, real.version

    def scan(self, note, history=()):
        if "POISON" in note.text:
            raise RuntimeError("boom")
        return self.real.scan(note, history)


def _post(client, auth, i, text):
    return client.post("/api/v1/notes", json={"id": i, "text": text}, headers=auth).json()


def test_poison_note_retries_then_fails_without_blocking_others(client, auth, engine, settings, scanner):
    bad = _post(client, auth, "bad", "POISON 患者跌倒")
    good = _post(client, auth, "good", "患者夜间如厕时不慎跌倒")
    w = Worker(engine=engine, settings=settings, scanner_factory=lambda: ExplodingScanner(scanner), name="w1")
    for _ in range(settings.job_max_attempts * 4):
        w.run_once()
        with Session(engine) as s:   # skip the backoff wait
            for j in s.exec(select(ScanJob).where(ScanJob.status == JobStatus.pending)).all():
                j.available_at = utcnow() - timedelta(seconds=1)
                s.add(j)
            s.commit()
    with Session(engine) as s:
        jb = s.exec(select(ScanJob).where(ScanJob.note_id == bad["id"])).one()
        assert jb.status == JobStatus.failed and jb.attempts == settings.job_max_attempts
        assert "boom" in jb.last_error
        assert s.get(Note, bad["id"]).status == NoteStatus.failed
        assert s.get(Note, good["id"]).status == NoteStatus.scanned
    assert client.get(f"/api/v1/notes/{bad['id']}", headers=auth).json()["job"]["status"] == "failed"
    r = client.post(f"/api/v1/notes/{bad['id']}:retry", headers=auth)
    assert r.status_code == 200
    assert client.post(f"/api/v1/notes/{good['id']}:retry", headers=auth).status_code == 409


def test_expired_lease_is_reclaimed_and_the_late_worker_loses(client, auth, engine, settings, scanner, run_worker):
    n = _post(client, auth, "n-1", "患者夜间如厕时不慎跌倒")
    with Session(engine) as s:
        claims = claim_jobs(session=s, worker_id="dead-worker", limit=10, lease_seconds=60)
        s.commit()
    assert len(claims) == 1
    assert run_worker() == 0                       # leased: nobody else takes it
    with Session(engine) as s:
        j = s.exec(select(ScanJob)).one()
        j.lease_until = utcnow() - timedelta(seconds=1)
        s.add(j)
        s.commit()
    assert run_worker() == 1                       # expired: reclaimed
    from service.services.jobs import LeaseLost, finish_job
    with Session(engine) as s:
        try:
            finish_job(session=s, job_id=claims[0].job_id, worker_id="dead-worker")
            raise AssertionError("a worker whose lease was taken over must not finish the job")
        except LeaseLost:
            s.rollback()
    assert len(client.get("/api/v1/events", headers=auth).json()) == 1
    assert client.get(f"/api/v1/notes/{n['id']}", headers=auth).json()["job"]["attempts"] == 2


class SlowScanner:
    """A scanner that takes `seconds` per note, then scans for real."""

    def __init__(self, real, seconds: float):
        self.real, self.version, self.seconds = real, real.version, seconds

    def scan(self, note, history=()):
        import time
        time.sleep(self.seconds)
        return self.real.scan(note, history)


def test_lease_is_renewed_while_a_long_scan_runs(client, auth, engine, settings, scanner):
    """A scan longer than the lease keeps its job: the heartbeat renews the lease, nobody else takes it over."""
    n = _post(client, auth, "slow-1", "患者夜间如厕时不慎跌倒")
    st = settings.model_copy(update={"job_lease_seconds": 1, "scan_time_limit_seconds": 30})
    import threading
    w = Worker(engine=engine, settings=st, scanner_factory=lambda: SlowScanner(scanner, 2.5), name="slow")
    t = threading.Thread(target=w.run_once)
    t.start()
    import time
    time.sleep(1.8)                                 # past the first lease: it must have been renewed
    with Session(engine) as s:
        assert claim_jobs(session=s, worker_id="thief", limit=10, lease_seconds=60) == []
        s.rollback()
    t.join()
    with Session(engine) as s:
        job = s.exec(select(ScanJob)).one()
        assert job.status == JobStatus.done and job.attempts == 1
        assert s.get(Note, n["id"]).status == NoteStatus.scanned


def test_scan_over_the_time_limit_fails_for_good_with_a_reason(client, auth, engine, settings, scanner):
    n = _post(client, auth, "slow-2", "患者夜间如厕时不慎跌倒")
    st = settings.model_copy(update={"scan_time_limit_seconds": 0.3})
    w = Worker(engine=engine, settings=st, scanner_factory=lambda: SlowScanner(scanner, 1.0), name="slow")
    assert w.run_once() == 1
    with Session(engine) as s:
        job = s.exec(select(ScanJob)).one()
        assert job.status == JobStatus.failed and job.attempts == 1
        assert "time limit" in job.last_error and "时限" in job.last_error
        assert s.get(Note, n["id"]).status == NoteStatus.failed
        assert s.exec(select(ScanJob).where(ScanJob.status == JobStatus.pending)).first() is None
    assert w.run_once() == 0                        # not retried
    body = client.get(f"/api/v1/notes/{n['id']}", headers=auth).json()
    assert body["status"] == "failed" and body["findings"] == []
