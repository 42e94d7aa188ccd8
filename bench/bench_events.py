"""Event detection as a hospital would see it: recall and precision on every blind set (notes by writers who never
saw the rules, tests/data/blind/<date>-<round>/), the regression set, and false alarms on real EMR text.

usage: python bench/bench_events.py --corpus ../shared/data/chineseblue-cehrner [--no-classifier] [--sets DIR ...]
                                    [--show N]
Prints, per blind round, micro P/R/F1 and per-category recall; then the event findings on the real notes (per 100
notes) with each finding's rule and evidence, to be read: those notes are admission histories, with few in-stay
events, so nearly every finding there is a false alarm unless its text shows an event of the stay.
Targets (issue 12): blind micro-F1 >= 0.85, recall >= 0.80, precision >= 0.85, every category recall >= 0.6
(medication errors >= 0.75); <= 2 event findings per 100 real notes.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._corpus import load_texts  # noqa: E402
from nlp.events.evaluate import prf, read_cases, report, score  # noqa: E402
from nlp.types import NoteInput  # noqa: E402


def blind_rounds(dirs: list[str] | None) -> list[Path]:
    if dirs:
        return [Path(d) for d in dirs]
    return sorted(p for p in (ROOT / "tests" / "data" / "blind").iterdir() if p.is_dir())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", help="real notes (cEHRNER folder) for the false-alarm count")
    ap.add_argument("--sets", nargs="*", help="blind round folders (default: every tests/data/blind/*)")
    ap.add_argument("--no-classifier", action="store_true")
    ap.add_argument("--regression", action="store_true", help="also score tests/data/events_test.jsonl")
    ap.add_argument("--show", type=int, default=60, help="findings on real notes to print")
    a = ap.parse_args()
    from nlp.scanner import Scanner
    scanner = Scanner(None, use_ner_model=False, use_classifier=not a.no_classifier)
    print(f"scanner {scanner.version}")
    for d in blind_rounds(a.sets):
        cases = [c for f in sorted(d.glob("*.jsonl")) for c in read_cases(f) if "gold" in c]
        cases = [c for c in cases if all(g.get("kind") == "event" for g in c["gold"])]
        per, _ = score(scanner, cases)
        tot = [sum(v[i] for v in per.values()) for i in range(3)]
        p, r, f = prf(*tot)
        print(f"\n== blind round {d.name}: {len(cases)} notes  micro P={p:.3f} R={r:.3f} F1={f:.3f} "
              f"({tot[0]}/{tot[1]}/{tot[2]})")
        print(report(per))
    if a.regression:
        per, _ = score(scanner, read_cases(ROOT / "tests" / "data" / "events_test.jsonl"))
        print("\n== regression set tests/data/events_test.jsonl")
        print(report(per))
    if a.corpus:
        texts = load_texts(a.corpus)
        notes = [NoteInput(id=f"real-{i}", text=t) for i, t in enumerate(texts)]
        t0 = time.perf_counter()
        found = []
        for note, res in zip(notes, scanner.scan_many(notes)):
            found += [(note, f) for f in res.findings if f.kind == "event"]
        dt = time.perf_counter() - t0
        by_cat = collections.Counter(f.category for _, f in found)
        print(f"\n== real notes ({a.corpus}): {len(notes)} notes, {len(found)} event findings = "
              f"{100 * len(found) / len(notes):.2f} per 100 notes ({dt:.1f} s)")
        print("   by category: " + ", ".join(f"{c} {n}" for c, n in by_cat.most_common()))
        for note, f in found[:a.show]:
            ctx = note.text[max(0, f.start - 30):f.end + 20].replace("\n", " ")
            print(f"   {note.id} {f.category} [{f.rule}] «{f.evidence}» …{ctx}…")


if __name__ == "__main__":
    main()
