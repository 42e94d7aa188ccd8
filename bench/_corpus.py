"""Shared pieces of the benchmarks: real note texts of JSON-Lines files under a corpus path (e.g. cEHRNER), a free
local port, percentiles."""
from __future__ import annotations

import json
import socket
from pathlib import Path


def load_texts(corpus: str | None, limit: int | None = None) -> list[str]:
    """Texts of every *.json / *.jsonl line with a "text" field under `corpus` (file or folder)."""
    if not corpus:
        raise SystemExit("--corpus PATH is required (e.g. ../shared/data/chineseblue-cehrner)")
    p = Path(corpus)
    files = sorted(p.glob("*.json")) + sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    texts = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    t = json.loads(line).get("text")
                    if t:
                        texts.append(t.replace("叒", " "))
                if limit and len(texts) >= limit:
                    return texts
    if not texts:
        raise SystemExit(f"no texts found under {corpus}")
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]
