"""Scanner throughput on real notes next to bare ``jieba.lcut`` on the same texts, in the same run.

usage: python bench/bench_scanner.py --corpus PATH [PATH ...] [--limit N] [--repeat R] [--no-ner] [--no-classifier]
PATH: JSON Lines with a "text" field per line (e.g. ../shared/data/chineseblue-cehrner/*.json) or a folder of them.
Prints notes/s and chars/s for both and the ratio (goal: the scanner at >= 0.25x jieba's speed). The pipeline is
loaded once, before timing; jieba's dictionary too.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def read_texts(paths: list[str], limit: int | None) -> list[str]:
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.json*")) if p.is_dir() else [p])
    texts: list[str] = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    texts.append(json.loads(line)["text"])
    return texts[:limit] if limit else texts


def timed(fn, repeat: int, before=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--no-ner", action="store_true")
    ap.add_argument("--no-classifier", action="store_true")
    a = ap.parse_args()
    texts = read_texts(a.corpus, a.limit)
    if not texts:
        sys.exit("no texts in the corpus")
    chars = sum(map(len, texts))

    import jieba
    jieba.initialize()
    from nlp.scanner import Scanner
    from nlp.types import NoteInput
    t0 = time.perf_counter()
    scanner = Scanner(use_ner_model=not a.no_ner, use_classifier=not a.no_classifier)
    load_s = time.perf_counter() - t0
    notes = [NoteInput(id=str(i), text=t) for i, t in enumerate(texts)]
    list(scanner.scan_many(notes[:8]))                           # warm-up

    t_jieba = timed(lambda: [jieba.lcut(t) for t in texts], a.repeat)
    n_found = []
    # the tokenizer remembers segmented phrases; each timed run starts without them (only repeats inside the
    # corpus count), so a repeat does not time a warm cache
    cold = getattr(scanner.nlp.tokenizer, "clear_cache", None)
    t_scan = timed(lambda: n_found.append(sum(len(r.findings) for r in scanner.scan_many(notes, batch_size=a.batch_size))),
                   a.repeat, before=cold)

    print(f"corpus: {len(texts)} notes, {chars} chars; scanner {scanner.version}; pipeline {scanner.nlp.pipe_names}")
    print(f"scanner load: {load_s:.1f}s (once)")
    print(f"jieba.lcut : {len(texts) / t_jieba:8.1f} notes/s {chars / t_jieba:10.0f} chars/s")
    print(f"scanner    : {len(texts) / t_scan:8.1f} notes/s {chars / t_scan:10.0f} chars/s  ({n_found[-1]} findings;"
          f" tokenizer phrase cache {'cleared before each run' if cold else 'absent'})")
    print(f"ratio scanner/jieba: {t_jieba / t_scan:.2f}x (goal >= 0.25x)")
    if cold:
        cold()
    shares = component_times(scanner, notes)
    total = sum(shares.values())
    print("time per step (one note at a time): " + ", ".join(f"{k} {v / total:.0%}" for k, v in shares.items()))
    rest = total - shares.get("aew_doc_errors", 0.0)
    print(f"without doc errors: {chars / rest:10.0f} chars/s = {t_jieba and (chars / rest) / (chars / t_jieba):.2f}x jieba")


def component_times(scanner, notes) -> dict[str, float]:
    """Seconds spent in the tokenizer and in each pipeline component, scanning note by note."""
    times = {"tokenizer": 0.0, **{name: 0.0 for name in scanner.nlp.pipe_names}}
    for note in notes:
        t0 = time.perf_counter()
        doc = scanner._doc(note, [])
        times["tokenizer"] += time.perf_counter() - t0
        for name, proc in scanner.nlp.pipeline:
            t0 = time.perf_counter()
            doc = proc(doc)
            times[name] += time.perf_counter() - t0
    return times


if __name__ == "__main__":
    main()
