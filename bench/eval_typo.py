"""Detection precision/recall of the term_typo detector on a spelling-error set (e.g. mcscset valid.txt).

usage: python bench/eval_typo.py PATH/valid.txt [--limit N]
Each line is "wrong<TAB>right". Sentence level: a "wrong" line with a flag is a true positive, a "right" line
with a flag a false positive. Character level: a flag is correct when its span covers a differing character.
The set is used to evaluate and tune only; nothing derived from it is shipped.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp.doc_errors.knowledge import load_knowledge  # noqa: E402
from nlp.doc_errors.term_typo import candidates  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--show", type=int, default=0, help="print N false positives and N hits")
    a = ap.parse_args()
    kb = load_knowledge()
    pairs = []
    with open(a.path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and len(parts[0]) == len(parts[1]):
                pairs.append(parts)
    if a.limit:
        pairs = pairs[:a.limit]
    t0 = time.time()
    tp = fp = fn = 0
    ctp = cfp = 0
    errs = 0
    fps, hits = [], []
    for wrong, right in pairs:
        diff = {i for i, (x, y) in enumerate(zip(wrong, right)) if x != y}
        if diff:
            errs += 1
        fw = candidates(wrong, kb)
        fr = candidates(right, kb)
        if diff:
            if fw:
                tp += 1
                hits.append((wrong, fw))
            else:
                fn += 1
        elif fw:
            fp += 1
        if fr:
            fp += 1
            fps.append((right, fr))
        for s, e, _, _ in fw:
            if any(s <= i < e for i in diff):
                ctp += 1
            else:
                cfp += 1
        cfp += len(fr)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    cp = ctp / (ctp + cfp) if ctp + cfp else 0.0
    print(f"pairs={len(pairs)} with_error={errs} time={time.time() - t0:.1f}s")
    print(f"sentence-level detection: P={p:.3f} R={r:.3f} (tp={tp} fp={fp} fn={fn}; negatives = the corrected lines)")
    print(f"flag-level precision: {cp:.3f} ({ctp} flags on a real error, {cfp} elsewhere)")
    for right, fr in fps[:a.show]:
        print("FP", right, fr)
    for wrong, fw in hits[:a.show]:
        print("TP", wrong, fw)


if __name__ == "__main__":
    main()
