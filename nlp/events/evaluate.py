"""Per-category precision/recall/F1 of the event detectors on a labelled JSON Lines set
(scan-contract input lines plus ``gold``: [{"kind": "event", "category": ...}]), scored per note like the
shared scorer.

usage: python -m nlp.events.evaluate tests/data/events_test.jsonl [--no-classifier] [--verbose]
"""
from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from nlp.types import NoteInput


def read_cases(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def score(scanner, cases: list[dict]) -> tuple[dict[str, list[int]], list[str]]:
    """{category: [tp, fp, fn]} and a list of error lines."""
    notes = [NoteInput.from_dict({k: v for k, v in c.items() if k not in ("gold", "why")}) for c in cases]
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    errors = []
    for c, r in zip(cases, scanner.scan_many(notes)):
        gold = {g["category"] for g in c.get("gold", []) if g["kind"] == "event" and not g.get("optional")}
        optional = {g["category"] for g in c.get("gold", []) if g.get("optional")}
        pred = {f.category for f in r.findings if f.kind == "event"} - optional
        for cat in gold & pred:
            per[cat][0] += 1
        for cat in pred - gold:
            per[cat][1] += 1
            errors.append(f"{c['id']} FP {cat}: {c['text'][:70]}")
        for cat in gold - pred:
            per[cat][2] += 1
            errors.append(f"{c['id']} FN {cat}: {c['text'][:70]}")
    return dict(per), errors


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def report(per: dict[str, list[int]]) -> str:
    lines, tot = [], [0, 0, 0]
    for cat in sorted(per):
        tp, fp, fn = per[cat]
        tot = [tot[0] + tp, tot[1] + fp, tot[2] + fn]
        p, r, f = prf(tp, fp, fn)
        lines.append(f"{cat:34s} P={p:.2f} R={r:.2f} F1={f:.2f} ({tp}/{fp}/{fn})")
    p, r, f = prf(*tot)
    lines.append(f"{'micro':34s} P={p:.3f} R={r:.3f} F1={f:.3f} ({tot[0]}/{tot[1]}/{tot[2]})")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("set")
    ap.add_argument("--no-classifier", action="store_true")
    ap.add_argument("--data-dir")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    from nlp.scanner import Scanner
    scanner = Scanner(a.data_dir, use_ner_model=False, use_classifier=not a.no_classifier)
    per, errors = score(scanner, read_cases(a.set))
    if a.verbose:
        print("\n".join(errors))
    print(report(per))


if __name__ == "__main__":
    main()
