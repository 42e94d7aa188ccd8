"""Measure what the classifier adds: event F1 on labelled sets with and without it, and how well the finding
confidence ranks true findings above false ones (ROC AUC), with and without it.

usage: python -m nlp.classifier.measure SET.jsonl [SET.jsonl ...] [--unlabelled-negatives CORPUS.json ...]
``--unlabelled-negatives``: JSON Lines with "text" (e.g. admission-note narratives without a note type) whose event
findings are all taken as false (not this stay).
"""
from __future__ import annotations

import argparse
import json

from nlp.events.evaluate import prf, read_cases, score
from nlp.types import NoteInput


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def confidences(scanner, cases: list[dict], unlabelled: list[str]) -> tuple[list[float], list[float]]:
    pos, neg = [], []
    notes = [NoteInput.from_dict({k: v for k, v in c.items() if k not in ("gold", "why")}) for c in cases]
    for c, r in zip(cases, scanner.scan_many(notes)):
        gold = {g["category"] for g in c.get("gold", [])}
        for f in r.findings:
            if f.kind == "event":
                (pos if f.category in gold else neg).append(f.confidence)
        for s in r.suppressed:                    # a vetoed finding keeps its place in the ranking at 0
            if s.reason == "classifier":
                (pos if s.category in gold else neg).append(0.0)
    extra = [NoteInput(id=f"u{i}", text=t) for i, t in enumerate(unlabelled)]
    for r in scanner.scan_many(extra):
        neg.extend(f.confidence for f in r.findings if f.kind == "event")
        neg.extend(0.0 for s in r.suppressed if s.reason == "classifier")
    return pos, neg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+")
    ap.add_argument("--unlabelled-negatives", nargs="*", default=[])
    a = ap.parse_args()
    from nlp.scanner import Scanner
    cases = [c for p in a.sets for c in read_cases(p)]
    unlabelled = [json.loads(l)["text"] for p in a.unlabelled_negatives for l in open(p, encoding="utf-8") if l.strip()]
    for use in (False, True):
        s = Scanner(use_ner_model=False, use_classifier=use)
        per, _ = score(s, cases)
        tot = [sum(v[i] for v in per.values()) for i in range(3)]
        p, r, f = prf(*tot)
        pos, neg = confidences(s, cases, unlabelled)
        print(f"classifier={'on ' if use else 'off'} events P={p:.3f} R={r:.3f} F1={f:.3f} ({tot[0]}/{tot[1]}/{tot[2]})"
              f"  confidence AUC true-vs-false findings={auc(pos, neg):.3f} (n+={len(pos)}, n-={len(neg)})")


if __name__ == "__main__":
    main()
