"""Latency of the in-editor sync scan (POST /api/v1/scan) over real HTTP for ~500-character notes.

Starts `aew serve --no-worker` on a fresh SQLite database, waits until the model is loaded, then posts
real note texts cut to about 500 characters one at a time and prints p50/p95/p99.
usage: python bench/bench_sync_scan.py --corpus ../shared/data/chineseblue-cehrner [--requests 200]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _corpus import load_texts  # noqa: E402
from bench_ingest import start_service  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--chars", type=int, default=500)
    a = ap.parse_args()
    texts = [t[:a.chars] for t in load_texts(a.corpus) if len(t) >= a.chars * 0.8]
    proc, url, key = start_service(f"sqlite:///{tempfile.mkdtemp()}/sync.db")
    try:
        h = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=h, timeout=60) as c:
            c.post("/api/v1/scan", json={"text": texts[0]})        # loads the scanner
            lat, findings = [], 0
            for i in range(a.requests):
                t0 = time.perf_counter()
                r = c.post("/api/v1/scan", json={"text": texts[i % len(texts)], "note_type": "病程记录"})
                lat.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                findings += len(r.json()["findings"])
        lat.sort()
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]  # noqa: E731
        print(f"sync scan ({a.chars} chars, {a.requests} requests, {findings} findings): "
              f"p50={q(.5):.1f}ms p95={q(.95):.1f}ms p99={q(.99):.1f}ms")
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
