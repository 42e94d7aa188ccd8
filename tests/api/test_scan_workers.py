"""Issue 18 part 4: `aew serve` scans in supervised worker processes, restarted when they die, ended on shutdown.

Real processes over real HTTP; the scanner runs on rules only (models off) so a worker starts in seconds."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from service.supervisor import ScanSupervisor
from tests.api.test_cli import AEW, ROOT, _free_port, run

FALL = "患者夜间如厕时不慎跌倒，右髋部疼痛"


def _children(pid: int) -> list[int]:
    """Live child processes of `pid`, read from /proc (no psutil)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _until(what: str, check, seconds: float, proc: subprocess.Popen | None = None, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert proc is None or proc.poll() is None, f"the service exited while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {seconds:g} s"
        time.sleep(every)


def _health(base: str) -> dict:
    try:
        return httpx.get(base + "/healthz", timeout=2).json()
    except (httpx.TransportError, ValueError):
        return {}


def _scanned(base: str, headers: dict, note_id: int) -> bool:
    return httpx.get(f"{base}/api/v1/notes/{note_id}", headers=headers, timeout=5).json()["status"] == "scanned"


@pytest.mark.slow
def test_serve_scans_in_a_supervised_worker_process_restarted_after_sigkill(tmp_path, db_url):
    from tests.conftest import empty_database_url
    env = {"AEW_DATABASE_URL": empty_database_url(db_url, tmp_path, "sup"), "AEW_WORKER_POLL_SECONDS": "0.05",
           "AEW_USE_NER_MODEL": "false", "AEW_USE_CLASSIFIER": "false", "AEW_SCAN_WORKERS": "1"}
    run(["db", "upgrade"], env)
    key = run(["apikeys", "create", "his"], env).stdout.strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {key}"}
    port = _free_port()
    srv = subprocess.Popen(AEW + ["serve", "--port", str(port), "--no-migrate"], cwd=ROOT,
                           env={**os.environ, "AEW_LOG_JSON": "false", **env},
                           stdout=subprocess.DEVNULL, stderr=open(tmp_path / "serve.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    workers: list[int] = []
    try:
        _until("ready scan worker", lambda: _health(base).get("scan_workers", {}).get("ready") == 1, 90, srv)
        first = _children(srv.pid)
        assert len(first) == 1, "one scan worker process, a child of aew serve"
        workers += first
        assert b"worker" in Path(f"/proc/{first[0]}/cmdline").read_bytes()

        r = httpx.post(base + "/api/v1/notes", headers=h, json={"id": "n1", "text": FALL, "encounter_id": "E1"})
        assert r.status_code == 202
        _until("scan of the first note", lambda: _scanned(base, h, r.json()["id"]), 30, srv)

        os.kill(first[0], signal.SIGKILL)
        _until("restarted worker", lambda: (lambda s: s.get("restarts") == 1 and s.get("ready") == 1)(
            _health(base).get("scan_workers", {})), 90, srv)
        second = _children(srv.pid)
        assert len(second) == 1 and second != first
        workers += second

        r = httpx.post(base + "/api/v1/notes", headers=h, json={"id": "n2", "text": FALL, "encounter_id": "E2"})
        assert r.status_code == 202
        _until("scan of the note after the restart", lambda: _scanned(base, h, r.json()["id"]), 30, srv)
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(30)
    assert not [p for p in workers if _alive(p)], "no scan worker left after shutdown"
    assert srv.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]


@pytest.mark.slow
def test_no_worker_starts_no_scan_process(tmp_path, db_url):
    from tests.conftest import empty_database_url
    env = {"AEW_DATABASE_URL": empty_database_url(db_url, tmp_path, "nw")}
    port = _free_port()
    srv = subprocess.Popen(AEW + ["serve", "--port", str(port), "--no-worker"], cwd=ROOT,
                           env={**os.environ, "AEW_LOG_JSON": "false", **env},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        body = _until("healthz", lambda: _health(base), 60, srv)
        assert "scan_workers" not in body and _children(srv.pid) == []
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(30)


# a stand-in worker: says ready, then exits with code 3 at once (a crash loop) or sleeps until terminated
FAKE_WORKER = textwrap.dedent("""
    import os, sys, time
    from service.supervisor import signal_ready
    signal_ready()
    if os.environ.get("CRASH"):
        sys.exit(3)
    time.sleep(600)
""")


def test_supervisor_restarts_with_backoff_and_stops_its_children(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRASH": "1"}
    sup = ScanSupervisor(1, command=[sys.executable, "-c", FAKE_WORKER], env=env, backoff_seconds=0.2,
                         backoff_max_seconds=0.8).start()
    try:
        t0 = time.monotonic()
        _until("three restarts", lambda: sup.status()["restarts"] >= 3, 30, every=0.02)
        # the third death comes after two restart delays, 0.2 + 0.4 s: the backoff doubles
        assert time.monotonic() - t0 >= 0.6
        assert sup._delay(sup.slots[0]) == 0.8, "capped at the maximum"
    finally:
        sup.stop()
    assert sup.pids() == []

    sup = ScanSupervisor(2, command=[sys.executable, "-c", FAKE_WORKER], env={**env, "CRASH": ""},
                         stop_timeout=5).start()
    try:
        _until("two ready workers", sup.all_ready, 30, every=0.02)
        pids = sup.pids()
        assert len(pids) == 2 and sup.status()["restarts"] == 0
    finally:
        sup.stop()
    assert not [p for p in pids if _alive(p)]
