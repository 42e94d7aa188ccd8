"""The embedded default under a steady load (issue 18, benchmark, not a test): numbers are printed, never asserted.

usage: python bench/bench_load.py --corpus ../shared/data/chineseblue-cehrner [--rate 50] [--seconds 15]
                                  [--drain-seconds 40] [--skip-bare] [--skip-pg]

In one run, each phase short:
1. `aew serve` (one supervised scan worker process, dispatcher, robot pointed at the local fake DingTalk of
   tests/fakes/) on a fresh SQLite file: resident memory per process once the worker's scanner is loaded; then
   real admission notes (every 10th a fall note, severity II, sent at once) POSTed at --rate/s for --seconds:
   API ingest p50/p99 while scanning, received→scanned p50/p95, note→DingTalk p95; memory again after the load
   and after one POST /api/v1/scan (which loads a scanner into the API process too).
2. The same load against `aew serve --no-worker` (no scanning): ingest p50/p99.
3. The same load against a bare FastAPI + SQLModel insert endpoint (one table, no auth, no checks): the floor.
4. Scan throughput with 1 and 2 `aew worker` processes on PostgreSQL when AEW_BENCH_DATABASE_URL (or
   AEW_TEST_DATABASE_URL) names one; skipped with a message otherwise. The database's tables are replaced.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _corpus import free_port, load_texts, pct  # noqa: E402
from tests.fakes.dingtalk import ROBOT_PATH, FakeDingTalk  # noqa: E402

AEW = str(Path(sys.executable).parent / "aew")
SECRET, TOKEN = "SECbench-robot-secret", "bench-token"
FALL = "护理记录：患者今晨如厕时不慎跌倒，左腕擦伤，头部无外伤，立即通知值班医生，予以伤口处理，加强防跌倒措施。"


# --- small helpers ---------------------------------------------------------------------------------------------
def ms(xs: list[float], *ps: float) -> str:
    return " ".join(f"p{p:g} {pct(xs, p) * 1000:.0f} ms" for p in ps) if xs else "no data"


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MiB; PSS shares each shared page among the processes that map it."""
    def kb(path: str, key: str) -> float:
        try:
            for line in open(path):
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")
    return kb(f"/proc/{pid}/status", "VmRSS"), kb(f"/proc/{pid}/smaps_rollup", "Pss")


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def print_memory(label: str, serve_pid: int) -> None:
    procs = [("API (aew serve)", serve_pid)] + [(f"scan worker {p}", p) for p in children(serve_pid)]
    total_rss = total_pss = 0.0
    for name, pid in procs:
        rss, pss = memory(pid)
        total_rss, total_pss = total_rss + rss, total_pss + pss
        print(f"  {label:<28} {name:<22} RSS {rss:7.0f} MiB  PSS {pss:7.0f} MiB")
    print(f"  {label:<28} {'whole deployment':<22} RSS {total_rss:7.0f} MiB  PSS {total_pss:7.0f} MiB", flush=True)


def aew_env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "AEW_DATABASE_URL": database_url, "AEW_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "AEW_WORKER_POLL_SECONDS": "0.05", **extra}


def prepare(env: dict[str, str]) -> str:
    """Migrate the database and create an API key; returns the key."""
    subprocess.run([AEW, "db", "upgrade"], env=env, check=True, capture_output=True)
    out = subprocess.run([AEW, "apikeys", "create", f"bench-{time.monotonic_ns()}"], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), cwd=ROOT)


def wait_ready(base: str, proc: subprocess.Popen, log: Path, need_scanner: bool, limit: float = 240) -> float:
    t0 = time.monotonic()
    while True:
        try:
            body = httpx.get(base + "/healthz", timeout=2).json()
            if not need_scanner or body.get("model_loaded"):
                return time.monotonic() - t0
            crashing = body.get("scan_workers", {}).get("restarts", 0) >= 3
        except (httpx.HTTPError, ValueError):
            crashing = False
        if crashing or proc.poll() is not None or time.monotonic() - t0 > limit:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise SystemExit(f"service did not become ready (see {log}):\n{tail}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the load --------------------------------------------------------------------------------------------------
def steady_load(base: str, path: str, headers: dict, bodies, rate: float, seconds: float) -> dict:
    """POST bodies(i) every 1/rate s from a pool (a slow answer does not delay the next POST).
    Returns latencies (s), POST times by index (epoch), response ids by index, and error count."""
    lat: list[float] = []
    sent_at: dict[int, float] = {}
    ids: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    client = httpx.Client(base_url=base, headers=headers, timeout=30,
                          limits=httpx.Limits(max_connections=32, max_keepalive_connections=32))

    def post(i: int) -> None:
        t_wall, t0 = time.time(), time.perf_counter()
        try:
            r = client.post(path, json=bodies(i))
        except httpx.HTTPError as e:
            with lock:
                errors.append(repr(e))
            return
        dt = time.perf_counter() - t0
        with lock:
            if r.status_code in (200, 202):
                lat.append(dt)
                sent_at[i] = t_wall
                ids[i] = r.json().get("id")
            else:
                errors.append(str(r.status_code))

    n = int(rate * seconds)
    t_start = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(n):
            delay = t_start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, i)
    client.close()
    return {"lat": lat, "sent_at": sent_at, "ids": ids, "errors": errors, "n": n,
            "wall": time.monotonic() - t_start}


def print_ingest(label: str, r: dict) -> None:
    print(f"  ingest {label:<34} {len(r['lat'])}/{r['n']} answered, {len(r['errors'])} errors: "
          f"{ms(r['lat'], 50, 99)}, max {max(r['lat'], default=0) * 1000:.0f} ms", flush=True)


def note_body(texts: list[str], tag: str):
    def body(i: int) -> dict:
        if i % 10 == 0:        # a fall note, its own encounter and bed: one severity-II message per note
            return {"id": f"{tag}-fall-{i}", "text": FALL, "note_type": "护理记录", "patient_id": f"P{i}",
                    "encounter_id": f"{tag}-EF{i}", "department": "骨科", "bed": f"B{i:05d}",
                    "patient": {"name": "测试患者", "age": 70, "sex": "女"}}
        return {"id": f"{tag}-{i}", "text": texts[i % len(texts)], "note_type": "入院记录",
                "patient_id": f"P{i // 5}", "encounter_id": f"{tag}-E{i // 5}", "department": "内科"}
    return body


# --- phase 1: the embedded default -----------------------------------------------------------------------------
def phase_embedded(texts: list[str], a, tmp: Path) -> None:
    print(f"== embedded default: aew serve (AEW_SCAN_WORKERS=1), SQLite, {a.rate:g} notes/s for {a.seconds:g} s",
          flush=True)
    fake = FakeDingTalk(robots={TOKEN: SECRET}, rate_limit=100000, rate_window=60.0).start()
    db = tmp / "embedded.db"
    env = aew_env(f"sqlite:///{db}", AEW_DINGTALK_ROBOT_WEBHOOK=fake.webhook(TOKEN),
                  AEW_DINGTALK_ROBOT_SECRET=SECRET, AEW_NOTIFY_RATE_LIMIT="100000", AEW_NOTIFY_POLL_SECONDS="0.05",
                  AEW_PUBLIC_BASE_URL="http://127.0.0.1", AEW_SCAN_WORKERS="1")
    key = prepare(env)
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp / "embedded.log"
    proc = start([AEW, "serve", "--port", str(port), "--no-migrate"], env, log)
    try:
        took = wait_ready(base, proc, log, need_scanner=True)
        print(f"  ready in {took:.1f} s (scan worker's scanner loaded)")
        print_memory("idle, worker's models loaded", proc.pid)
        r = steady_load(base, "/api/v1/notes", {"Authorization": f"Bearer {key}"}, note_body(texts, "on"),
                        a.rate, a.seconds)
        print_ingest("while scanning (API p50/p99)", r)
        scanned, pending = drain(db, r["ids"].values(), a.drain_seconds)
        print_memory("after the load", proc.pid)
        t0 = time.monotonic()
        sync = httpx.post(base + "/api/v1/scan", headers={"Authorization": f"Bearer {key}"},
                          json={"text": FALL}, timeout=300)
        print(f"  first POST /api/v1/scan: {sync.status_code} in {time.monotonic() - t0:.1f} s "
              f"(loads a scanner into the API process)")
        print_memory("after one POST /api/v1/scan", proc.pid)
    finally:
        stop(proc)
    lag = scanned
    print(f"  received→scanned: {len(lag)} of {len(r['ids'])} notes scanned within {a.drain_seconds:g} s of the "
          f"load's end ({pending} still waiting): {ms(lag, 50, 95)}")
    posted = {f"B{i:05d}": t for i, t in r["sent_at"].items() if i % 10 == 0}
    got = {}
    for rec in fake.received(ROBOT_PATH):
        m = re.search(r"床号：(B\d{5})", (rec.body or {}).get("markdown", {}).get("text", "")) if rec.accepted else None
        if m and m.group(1) in posted and m.group(1) not in got:
            got[m.group(1)] = rec.at - posted[m.group(1)]
    fake.stop()
    print(f"  note→DingTalk (fall notes, severity II): {len(got)} of {len(posted)} messages: "
          f"{ms(list(got.values()), 50, 95)}", flush=True)


def drain(db: Path, ids, limit: float) -> tuple[list[float], int]:
    """Wait until the notes are scanned (or the limit); returns received→scanned seconds and how many wait."""
    import sqlite3
    from datetime import datetime
    ids = [int(i) for i in ids if i is not None]
    con = sqlite3.connect(str(db), timeout=30)
    marks = ",".join("?" * len(ids))
    end = time.monotonic() + limit
    t0 = time.monotonic()
    while True:
        rows = con.execute(f"SELECT received_at, scanned_at, status FROM note WHERE id IN ({marks})", ids).fetchall()
        waiting = sum(1 for _, s, st in rows if s is None and st not in ("failed",))
        if not waiting or time.monotonic() > end:
            break
        time.sleep(0.5)
    con.close()
    print(f"  the scan worker caught up {time.monotonic() - t0:.1f} s after the load ended", flush=True)
    lag = [(datetime.fromisoformat(s) - datetime.fromisoformat(rcv)).total_seconds() for rcv, s, _ in rows if s]
    return lag, waiting


# --- phase 2: no scanning --------------------------------------------------------------------------------------
def phase_no_worker(texts: list[str], a, tmp: Path) -> None:
    env = aew_env(f"sqlite:///{tmp / 'noworker.db'}")
    key = prepare(env)
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp / "noworker.log"
    proc = start([AEW, "serve", "--port", str(port), "--no-migrate", "--no-worker"], env, log)
    try:
        wait_ready(base, proc, log, need_scanner=False)
        r = steady_load(base, "/api/v1/notes", {"Authorization": f"Bearer {key}"}, note_body(texts, "off"),
                        a.rate, a.seconds)
        print_ingest("aew serve --no-worker (no scanning)", r)
    finally:
        stop(proc)


# --- phase 3: the floor --------------------------------------------------------------------------------------
def bare_app(database_url: str):
    """FastAPI + SQLModel and nothing else: validate a note, insert a row, answer 202."""
    from datetime import datetime, timezone

    from fastapi import FastAPI
    from pydantic import BaseModel
    from sqlmodel import Field, Session, SQLModel

    from service.db import make_engine

    class BareNote(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
        external_id: str = Field(index=True)
        text: str
        received_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    class NoteIn(BaseModel):
        id: str
        text: str

    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/notes", status_code=202)
    def create(note: NoteIn) -> dict:
        with Session(engine) as s:
            row = BareNote(external_id=note.id, text=note.text)
            s.add(row)
            s.commit()
            return {"id": row.id}
    return app


def phase_bare(texts: list[str], a, tmp: Path) -> None:
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp / "bare.log"
    proc = start([sys.executable, __file__, "--bare-server", str(port), f"sqlite:///{tmp / 'bare.db'}"],
                 aew_env("sqlite://"), log)
    try:
        wait_ready(base, proc, log, need_scanner=False, limit=60)
        body = note_body(texts, "bare")
        r = steady_load(base, "/notes", {}, lambda i: {"id": body(i)["id"], "text": body(i)["text"]},
                        a.rate, a.seconds)
        print_ingest("bare FastAPI+SQLModel insert", r)
    finally:
        stop(proc)


# --- phase 4: workers on PostgreSQL ----------------------------------------------------------------------------
def phase_postgres(texts: list[str], a, tmp: Path) -> None:
    url = os.environ.get("AEW_BENCH_DATABASE_URL") or os.environ.get("AEW_TEST_DATABASE_URL")
    if not url or not url.startswith("postgres"):
        print("== scan throughput on PostgreSQL: skipped (set AEW_BENCH_DATABASE_URL=postgresql://…; its tables "
              "are replaced)", flush=True)
        return
    from sqlalchemy import text

    from models import NoteCreate
    from service.db import make_engine, session_scope
    from service.services.notes import ingest_note
    from service.supervisor import ScanSupervisor
    print(f"== scan throughput on PostgreSQL ({os.cpu_count()} cores), {a.pg_notes} real notes queued, "
          f"{a.pg_seconds:g} s per step", flush=True)
    eng = make_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    env = aew_env(url)
    prepare(env)
    with session_scope(eng) as s:       # a backlog for every step, committed at once
        for i in range(a.pg_notes):
            ingest_note(session=s, data=NoteCreate(id=f"pg-{i}", text=texts[i % len(texts)],
                                                   encounter_id=f"pg-E{i // 5}", source_system="bench"),
                        client_name="bench", tz_name="Asia/Shanghai")

    def scanned() -> int:
        with eng.connect() as c:
            return c.execute(text("SELECT count(*) FROM note WHERE status <> 'pending'")).scalar()

    sups: list = []
    base_rate = None
    try:
        for k in sorted(a.pg_workers):  # add workers step by step; those already running keep scanning
            sups.append(ScanSupervisor(k - sum(x.count for x in sups), env=env).start())
            t0 = time.monotonic()
            while not all(x.all_ready() for x in sups):
                if time.monotonic() - t0 > 240:
                    raise SystemExit("PostgreSQL workers did not become ready")
                time.sleep(0.2)
            before, t0 = scanned(), time.monotonic()
            time.sleep(a.pg_seconds)
            done, took = scanned() - before, time.monotonic() - t0
            if before + done >= a.pg_notes:
                print(f"  (the backlog ran out at {k} workers: raise --pg-notes)")
            rate = done / took
            base_rate = base_rate or rate
            print(f"  {k} worker process(es): {done} notes in {took:.1f} s = {rate:.1f} notes/s "
                  f"(×{rate / base_rate:.2f})", flush=True)
    finally:
        for x in sups:
            x.stop()
    eng.dispose()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--bare-server":
        import uvicorn
        uvicorn.run(bare_app(sys.argv[3]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                    access_log=False)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--rate", type=float, default=50.0, help="notes per second")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each load phase")
    ap.add_argument("--drain-seconds", type=float, default=40.0, help="wait after the load for the scans")
    ap.add_argument("--pg-workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    ap.add_argument("--pg-notes", type=int, default=3000)
    ap.add_argument("--pg-seconds", type=float, default=8.0, help="measurement window per worker count")
    ap.add_argument("--skip-bare", action="store_true")
    ap.add_argument("--skip-pg", action="store_true")
    a = ap.parse_args()
    texts = load_texts(a.corpus)
    tmp = Path(tempfile.mkdtemp(prefix="aew-bench-load-"))
    t0 = time.monotonic()
    phase_embedded(texts, a, tmp)
    print(f"== API ingest at {a.rate:g} notes/s for {a.seconds:g} s without scanning, and the floor", flush=True)
    phase_no_worker(texts, a, tmp)
    if not a.skip_bare:
        phase_bare(texts, a, tmp)
    if not a.skip_pg:
        phase_postgres(texts, a, tmp)
    print(f"(bench_load took {time.monotonic() - t0:.0f} s; logs under {tmp})")


if __name__ == "__main__":
    main()
