"""Real note texts for benchmarks: the texts of JSON-Lines files under a corpus path (e.g. cEHRNER)."""
from __future__ import annotations

import json
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
