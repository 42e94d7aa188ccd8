"""NER throughput on CPU: entities/s and chars/s, fp32 vs int8 dynamic quantisation.

    .venv/bin/python bench/bench_ner.py CORPUS.json [--model data/models/ner-zh] [--threads 2] [--repeat 3]

CORPUS: cEHRNER-style JSON lines (text + mention_data; strict F1 is reported too) or `aew ner` input lines
({"id", "text"}). The best of --repeat timed passes is reported, after one warm-up pass.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--model", type=Path, default=ROOT / "data" / "models" / "ner-zh")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    from nlp.ner import NerTagger
    from nlp.ner.corpus import read_corpus
    from nlp.ner.metrics import strict_scores

    docs = read_corpus(args.corpus)
    texts = [d.text for d in docs]
    annotated = any(d.spans for d in docs)
    n_chars = sum(len(t) for t in texts)
    rows = []
    for quantize in (False, True):
        tagger = NerTagger.load(args.model, threads=args.threads, quantize=quantize)
        pred = tagger.predict_spans(texts, batch_size=args.batch_size)            # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            pred = tagger.predict_spans(texts, batch_size=args.batch_size)
            best = min(best, time.perf_counter() - t0)
        n_ents = sum(len(p) for p in pred)
        row = {"weights": "int8" if quantize else "fp32", "threads": args.threads, "docs": len(texts),
               "chars": n_chars, "entities": n_ents, "seconds": round(best, 3),
               "chars_per_s": round(n_chars / best, 1), "entities_per_s": round(n_ents / best, 1)}
        if annotated:
            row["strict_micro_f1"] = strict_scores([d.spans for d in docs], pred)["micro"]["f1"]
        rows.append(row)
    print(f"{'weights':<8}{'seconds':>9}{'chars/s':>11}{'entities/s':>12}{'F1':>8}")
    for r in rows:
        f1 = f"{r['strict_micro_f1']:.4f}" if "strict_micro_f1" in r else "-"
        print(f"{r['weights']:<8}{r['seconds']:>9.3f}{r['chars_per_s']:>11.0f}{r['entities_per_s']:>12.0f}{f1:>8}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
