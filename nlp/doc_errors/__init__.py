"""Documentation-error detection (病历内涵质控): the 11 doc_error types of spec/taxonomy.yaml.

    from nlp.doc_errors import detect, Detector, load_knowledge
    findings = detect(doc)                      # tables from the repository's data/ directory
    findings = Detector(data_dir)(doc)          # tables from another data directory

``doc`` is a spaCy Doc with the extensions of nlp/doc.py; any of them may be missing (only some pipeline
steps ran): the detectors fall back to doc.text, their own section headers and the sex/age stated in the
text. Each detector is its own module with ``detect(ctx, kb) -> list[Finding]``.
"""
from __future__ import annotations

from pathlib import Path

import nlp.doc  # noqa: F401  (registers the Doc extensions)
from nlp.types import Finding

from . import (age_mismatch, allergy_conflict, contradiction, copy_paste, dose_out_of_range, implausible_lab,
               implausible_vital, laterality, sex_mismatch, term_typo, time_logic)
from ._common import Ctx
from .knowledge import DEFAULT_DATA_DIR, Knowledge, KnowledgeError, load_knowledge

DETECTORS = {
    "sex_mismatch": sex_mismatch.detect,
    "age_mismatch": age_mismatch.detect,
    "laterality_conflict": laterality.detect,
    "implausible_vital": implausible_vital.detect,
    "implausible_lab": implausible_lab.detect,
    "dose_out_of_range": dose_out_of_range.detect,
    "allergy_conflict": allergy_conflict.detect,
    "contradiction": contradiction.detect,
    "time_logic": time_logic.detect,
    "copy_paste": copy_paste.detect,
    "term_typo": term_typo.detect,
}

__all__ = ["detect", "Detector", "load_knowledge", "Knowledge", "KnowledgeError", "DETECTORS"]


class Detector:
    """All (or some) documentation-error detectors over the knowledge tables of one data directory."""

    def __init__(self, data_dir: str | Path | None = None, only: list[str] | None = None):
        self.kb = load_knowledge(data_dir)
        unknown = set(only or ()) - set(DETECTORS)
        if unknown:
            raise ValueError(f"未知的文书错误类型 / unknown doc_error types: {sorted(unknown)}")
        self.detectors = {k: v for k, v in DETECTORS.items() if not only or k in only}

    def __call__(self, doc) -> list[Finding]:
        ctx = Ctx.of(doc)
        found: list[Finding] = []
        for fn in self.detectors.values():
            found.extend(fn(ctx, self.kb))
        return _dedupe(found)


def _dedupe(found: list[Finding]) -> list[Finding]:
    """copy_paste explains a stale day count better than time_logic: keep one finding per span."""
    order = {"copy_paste": 0}
    out, spans = [], []
    for f in sorted(found, key=lambda f: (order.get(f.category, 1), f.start)):
        if any(f.start < e and s < f.end and c != f.category and {c, f.category} == {"copy_paste", "time_logic"}
               for s, e, c in spans):
            continue
        spans.append((f.start, f.end, f.category))
        out.append(f)
    return sorted(out, key=lambda f: (f.start, f.end))


_default: dict[str, Detector] = {}


def detect(doc, data_dir: str | Path | None = None) -> list[Finding]:
    """The documentation-error findings of one Doc (kind="doc_error", severity IV)."""
    key = str(data_dir or DEFAULT_DATA_DIR)
    det = _default.get(key)
    if det is None:
        det = _default[key] = Detector(data_dir)
    return det(doc)
