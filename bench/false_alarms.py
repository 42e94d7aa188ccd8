"""Documentation-error flags on real notes: how many per 100 notes, and each flag with its context to read.

usage: python bench/false_alarms.py PATH/chineseblue-cehrner [--direct] [--show N]
Reads every *.json (JSON Lines with a "text" field; '叒' stands for a space) and runs the scanner (or, with
--direct, only nlp.doc_errors on a blank Doc). Real EMRs contain few errors: many flags mean low precision.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp.types import NoteInput  # noqa: E402


def notes_of(folder: Path):
    for p in sorted(folder.glob("*.json")):
        with open(p, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if line.strip():
                    d = json.loads(line)
                    yield NoteInput(id=f"{p.stem}-{i}", text=d["text"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--direct", action="store_true", help="only the doc-error detectors, without the scanner")
    ap.add_argument("--show", type=int, default=1000)
    a = ap.parse_args()
    notes = list(notes_of(Path(a.folder)))
    t0 = time.time()
    if a.direct:
        import spacy

        import nlp.doc  # noqa: F401
        from nlp.doc_errors import detect
        blank = spacy.blank("zh")

        def scan(n):
            doc = blank.make_doc(n.text)
            doc._.note = n
            return detect(doc)
        results = [(n, scan(n)) for n in notes]
    else:
        from nlp.scanner import Scanner
        sc = Scanner(use_ner_model=False, use_classifier=False)
        results = [(n, [f for f in r.findings if f.kind == "doc_error"]) for n, r in zip(notes, sc.scan_many(notes))]
    flags = [(n, f) for n, fs in results for f in fs]
    per = collections.Counter(f.category for _, f in flags)
    print(f"notes={len(notes)} doc_error flags={len(flags)} per 100 notes={100 * len(flags) / max(1, len(notes)):.1f} "
          f"time={time.time() - t0:.1f}s")
    for k, v in per.most_common():
        print(f"  {k:22s} {v}")
    for n, f in flags[:a.show]:
        ctx = n.text[max(0, f.start - 25):f.end + 25].replace("\n", " ")
        print(f"[{n.id}] {f.category} «{f.evidence}» … {ctx} … | {f.explanation}")


if __name__ == "__main__":
    main()
