"""Ingest load test against a running service: notes/s and latency percentiles of POST /api/v1/notes.

Starts `aew serve --no-worker` on a fresh database (SQLite by default, or --database-url) unless --url is given.
usage: python bench/bench_ingest.py --corpus ../shared/data/chineseblue-cehrner [--database-url URL]
                                    [--seconds 20] [--concurrency 8] [--url URL --api-key KEY]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import load_texts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(database_url: str) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "AEW_DATABASE_URL": database_url, "AEW_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1"}
    aew = [sys.executable, "-m", "service.cli"]
    if database_url.startswith("postgres"):
        from sqlalchemy import text
        sys.path.insert(0, str(ROOT))
        from service.db import make_engine
        eng = make_engine(database_url)
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    subprocess.run(aew + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    key = subprocess.run(aew + ["apikeys", "create", "bench"], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = _free_port()
    proc = subprocess.Popen(aew + ["serve", "--no-worker", "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, url, key


def run_load(url: str, key: str, texts: list[str], seconds: float, concurrency: int) -> dict:
    lat: list[float] = []
    errors = [0]
    counter = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def loop(tid: int):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            while time.perf_counter() < stop:
                with lock:
                    i = counter[0]
                    counter[0] += 1
                body = {"id": f"bench-{tid}-{i}", "text": texts[i % len(texts)], "encounter_id": f"E{i % 500}",
                        "note_type": "病程记录", "department": "内科"}
                t0 = time.perf_counter()
                r = c.post("/api/v1/notes", json=body)
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code == 202:
                        lat.append(dt)
                    else:
                        errors[0] += 1
    t0 = time.perf_counter()
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(concurrency)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"notes": len(lat), "errors": errors[0], "seconds": wall, "notes_per_s": len(lat) / wall,
            "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99),
            "mean_ms": statistics.mean(lat) * 1000 if lat else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--url")
    ap.add_argument("--api-key")
    a = ap.parse_args()
    texts = load_texts(a.corpus)
    targets = []
    if a.url:
        targets.append(("given", a.url, a.api_key, None))
    else:
        tmp = tempfile.mkdtemp()
        urls = [a.database_url] if a.database_url else [f"sqlite:///{tmp}/bench.db"]
        pg = os.environ.get("AEW_BENCH_PG_URL")
        if pg and not a.database_url:
            urls.append(pg)
        for u in urls:
            proc, url, key = start_service(u)
            targets.append((u.split(":")[0], url, key, proc))
    for name, url, key, proc in targets:
        try:
            r = run_load(url, key, texts, a.seconds, a.concurrency)
            print(f"ingest[{name}] concurrency={a.concurrency}: {r['notes_per_s']:.1f} notes/s "
                  f"({r['notes']} notes in {r['seconds']:.1f}s, errors={r['errors']}) "
                  f"latency p50={r['p50_ms']:.1f}ms p95={r['p95_ms']:.1f}ms p99={r['p99_ms']:.1f}ms")
        finally:
            if proc:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
