"""Strict entity scoring: an entity counts when start, end and type all match."""
from __future__ import annotations

from collections import Counter

from nlp.ner.corpus import ENTITY_TYPES

Span = tuple[int, int, str]


def strict_scores(gold: list[list[Span]], pred: list[list[Span]]) -> dict[str, dict[str, float]]:
    """Per type and "micro": precision, recall, f1, and the counts tp / gold / pred."""
    tp, n_gold, n_pred = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for s in gs:
            n_gold[s[2]] += 1
        for s in ps:
            n_pred[s[2]] += 1
        for s in gs & ps:
            tp[s[2]] += 1
    out = {t: _prf(tp[t], n_gold[t], n_pred[t]) for t in ENTITY_TYPES}
    out["micro"] = _prf(sum(tp.values()), sum(n_gold.values()), sum(n_pred.values()))
    return out


def _prf(tp: int, n_gold: int, n_pred: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "tp": tp, "gold": n_gold, "pred": n_pred}


def format_table(scores: dict[str, dict[str, float]]) -> str:
    """A plain-text table: type, P, R, F1, gold, pred."""
    lines = [f"{'type':<8}\t{'P':>6}\t{'R':>6}\t{'F1':>6}\t{'gold':>5}\t{'pred':>5}"]
    for t, m in scores.items():
        lines.append(f"{t:<8}\t{m['precision']:6.4f}\t{m['recall']:6.4f}\t{m['f1']:6.4f}\t{m['gold']:5d}\t{m['pred']:5d}")
    return "\n".join(lines)
