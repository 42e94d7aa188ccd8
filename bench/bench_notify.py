"""Time from note POST to the fake DingTalk receiving the group-robot message, under a steady note rate.

usage: python bench/bench_notify.py [--rate 20] [--seconds 30] [--robot-limit 100000] [--corpus IGNORED]

Starts the fake DingTalk (tests/fakes/dingtalk.py), then `aew serve` in a subprocess (SQLite in a temp folder,
its supervised scan worker process and dispatcher, robot pointed at the fake), waits for the scanner, posts fall notes (severity II:
sent at once, one event per note) at a steady rate and prints p50/p95 of POST → message received.

DingTalk itself allows a robot 20 messages a minute; at 20 notes/s that limit, not the service, would set the
latency (every message past the 20th in a minute waits for the next window). The benchmark therefore raises the
robot limit at the fake and in the dispatcher (--robot-limit) to measure the pipeline; pass --robot-limit 20 to
see the queueing that the real limit causes.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._corpus import free_port, pct  # noqa: E402
from tests.fakes.dingtalk import ROBOT_PATH, FakeDingTalk  # noqa: E402

SECRET = "SECbench-robot-secret"
TOKEN = "bench-token"
NOTE = "护理记录：患者今晨如厕时不慎跌倒，左腕擦伤，头部无外伤，立即通知值班医生，予以伤口处理，加强防跌倒措施。"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20.0, help="notes per second")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--robot-limit", type=int, default=100000, help="messages per minute the robot accepts")
    ap.add_argument("--worker-threads", type=int, default=2)
    ap.add_argument("--worker-processes", type=int, default=0,
                    help="extra `aew worker` processes beside `aew serve` (the scale-out shape; 0 = embedded only)")
    ap.add_argument("--drain-seconds", type=float, default=120.0, help="how long to wait for the last messages")
    ap.add_argument("--corpus", default=None, help="ignored (make bench passes it to every benchmark)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aew-bench-notify-"))
    fake = FakeDingTalk(robots={TOKEN: SECRET}, rate_limit=args.robot_limit, rate_window=60.0).start()
    port = free_port()
    env = {**os.environ, "AEW_DATABASE_URL": f"sqlite:///{tmp}/aew.db", "AEW_LOG_LEVEL": "WARNING",
           "AEW_DINGTALK_ROBOT_WEBHOOK": fake.webhook(TOKEN), "AEW_DINGTALK_ROBOT_SECRET": SECRET,
           "AEW_NOTIFY_RATE_LIMIT": str(args.robot_limit), "AEW_NOTIFY_POLL_SECONDS": "0.05",
           "AEW_WORKER_THREADS": str(args.worker_threads), "AEW_WORKER_POLL_SECONDS": "0.05",
           "AEW_PUBLIC_BASE_URL": "http://127.0.0.1", "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep), "TOKENIZERS_PARALLELISM": "false"}
    aew = str(Path(sys.executable).parent / "aew")
    subprocess.run([aew, "db", "upgrade"], env=env, check=True, capture_output=True)
    out = subprocess.run([aew, "apikeys", "create", "bench"], env=env, check=True, capture_output=True, text=True)
    key = out.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([aew, "serve", "--port", str(port), "--no-migrate"], env=env,
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "wb"))
    workers = [subprocess.Popen([aew, "worker"], env=env, stdout=subprocess.DEVNULL,
                                stderr=open(tmp / f"worker{i}.log", "wb")) for i in range(args.worker_processes)]
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
            t0 = time.monotonic()
            while True:
                try:
                    if http.get("/healthz").json().get("model_loaded"):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() - t0 > 300 or server.poll() is not None:
                    raise SystemExit(f"service did not become ready; see {tmp / 'serve.log'}")
                time.sleep(0.5)
            print(f"service ready in {time.monotonic() - t0:.1f} s (scanner loaded)", flush=True)
            posted = run_load(http, args.rate, args.seconds)
        latencies = wait_for_messages(fake, posted, args.drain_seconds)
        outbox_lat = outbox_to_message(tmp / "aew.db", fake)
    finally:
        for proc in [server, *workers]:
            proc.terminate()
        for proc in [server, *workers]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.stop()
    report(posted, latencies, args)
    if outbox_lat:
        print(f"outbox row committed (scan done) → DingTalk message: p50 {statistics.median(outbox_lat) * 1000:.0f} ms, "
              f"p95 {pct(outbox_lat, 95) * 1000:.0f} ms (the dispatcher's share)")


def run_load(http: httpx.Client, rate: float, seconds: float) -> dict[str, float]:
    """POST one note every 1/rate seconds from a pool (a slow answer does not delay the next POST), each its own
    encounter and bed; returns bed → POST time (epoch)."""
    from concurrent.futures import ThreadPoolExecutor
    posted: dict[str, float] = {}
    errors: list[int] = []

    def post(i: int) -> None:
        bed = f"B{i:05d}"
        t = time.time()
        r = http.post("/api/v1/notes", json={"id": f"bench-{i}", "text": NOTE, "note_type": "护理记录",
                                             "patient_id": f"P{i}", "encounter_id": f"E{i}", "department": "骨科",
                                             "bed": bed, "patient": {"name": "测试患者", "age": 70, "sex": "女"}})
        if r.status_code == 202:
            posted[bed] = t
        else:
            errors.append(r.status_code)

    n = int(rate * seconds)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, i)
        sent_by = time.monotonic() - start
    took = time.monotonic() - start
    print(f"posted {len(posted)} notes: issued over {sent_by:.1f} s, all answered after {took:.1f} s, "
          f"{len(errors)} errors", flush=True)
    return posted


def wait_for_messages(fake: FakeDingTalk, posted: dict[str, float], drain: float) -> dict[str, float]:
    end = time.monotonic() + drain
    latencies: dict[str, float] = {}
    while time.monotonic() < end:
        for r in fake.received(ROBOT_PATH):
            if not r.accepted:
                continue
            m = re.search(r"床号：(B\d{5})", r.body.get("markdown", {}).get("text", ""))
            if m and m.group(1) in posted and m.group(1) not in latencies:
                latencies[m.group(1)] = r.at - posted[m.group(1)]
        if len(latencies) >= len(posted):
            break
        time.sleep(0.2)
    return latencies


def outbox_to_message(db: Path, fake: FakeDingTalk) -> list[float]:
    """Per message: the outbox row's commit time (written with the scan result) → received at the fake."""
    import sqlite3
    from datetime import datetime, timezone
    con = sqlite3.connect(str(db))
    created = {bed: datetime.fromisoformat(ts).replace(tzinfo=timezone.utc).timestamp()
               for bed, ts in con.execute("SELECT e.bed, o.created_at FROM outboxmessage o "
                                          "JOIN adverseevent e ON e.id = o.event_id")}
    con.close()
    out = []
    for r in fake.received(ROBOT_PATH):
        m = re.search(r"床号：(B\d{5})", (r.body or {}).get("markdown", {}).get("text", "")) if r.accepted else None
        if m and m.group(1) in created:
            out.append(r.at - created[m.group(1)])
    return out


def report(posted: dict[str, float], lat: dict[str, float], args) -> None:
    xs = list(lat.values())
    print(f"rate {args.rate}/s for {args.seconds:.0f} s, robot limit {args.robot_limit}/min, "
          f"worker threads {args.worker_threads}, extra worker processes {args.worker_processes}")
    print(f"messages received {len(xs)} / notes {len(posted)}")
    if xs:
        print(f"note POST → DingTalk message: p50 {statistics.median(xs) * 1000:.0f} ms, "
              f"p95 {pct(xs, 95) * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
