"""The spaCy Doc is the container every pipeline step reads and writes.

Contract (other modules rely on it; add, never rename):
- ``doc.text`` is the ORIGINAL note text; tokens are slices of it (no whitespace added).
- ``doc._.norm``: the normalised text, SAME LENGTH as ``doc.text`` (normalisation maps one character to
  one character: full-width→half-width, upper→lower, traditional→simplified, ``叒``→space), so an offset in
  the normalised text is the same offset in the original.
- ``doc._.note``: the ``NoteInput`` (note_type, patient sex/age/allergies, encounter, time).
- ``doc._.history``: earlier ``NoteInput``s of the same encounter, oldest first.
- ``doc.spans["sections"]``: one span per section, ``label_`` = canonical section name (主诉, 现病史, 既往史,
  过敏史, 家族史, 体格检查, 辅助检查, 诊断, 手术名称, 术前诊断, 诊疗经过, 出院医嘱 ...).
- ``doc.spans["entities"]``: entity spans, ``label_`` = 疾病和诊断 / 症状 / 手术 / 药物 / 解剖部位 / 影像检查 /
  实验室检验 / 器械管路; ``span._.source`` = "lexicon" | "model"; ``span._.attrs`` = dict (e.g. drug class).
- sentences: ``doc.sents`` (sentence starts set by the sentence component); ``sentence_bounds(doc, start, end)``
  gives the character bounds of the sentence(s) around a stretch without walking the tokens.
- ``doc_text(doc)``: ``doc.text`` kept by the tokenizer (spaCy rebuilds ``doc.text`` from every token each time).
- ``span._.negated / _.historical / _.hypothetical / _.uncertain / _.risk_score`` (bool),
  ``span._.experiencer`` (str, "patient" default), ``span._.context_rules`` (ids of the rules that applied).
- ``doc._.findings``: list of ``nlp.types.Finding``; ``doc._.suppressed``: list of ``nlp.types.Suppressed``.
"""
from __future__ import annotations

import bisect

from spacy.attrs import IDX, SENT_START
from spacy.tokens import Doc, Span

_DOC_EXT = {"norm": None, "note": None, "history": None, "findings": None, "suppressed": None}
_SPAN_EXT = {"source": "lexicon", "attrs": None, "negated": False, "historical": False, "hypothetical": False,
             "uncertain": False, "risk_score": False, "experiencer": "patient", "context_rules": None}


def register_extensions() -> None:
    """Register the Doc and Span extensions once per process (idempotent)."""
    for name, default in _DOC_EXT.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)
    for name, default in _SPAN_EXT.items():
        if not Span.has_extension(name):
            Span.set_extension(name, default=default)


register_extensions()


def doc_text(doc: Doc) -> str:
    """``doc.text``, computed once per Doc (the tokenizer stores it; spaCy joins every token on each access)."""
    text = doc.user_data.get("aew_text")
    if text is None:
        text = doc.user_data["aew_text"] = doc.text
    return text


def sentence_starts(doc: Doc) -> list[int]:
    """Character offsets where sentences start, ascending (from the token flags the sentence step set)."""
    starts = doc.user_data.get("aew_sent_starts")
    if starts is None:
        if not len(doc):
            return [0]
        arr = doc.to_array([IDX, SENT_START])
        starts = [int(i) for k, (i, s) in enumerate(arr.tolist()) if k == 0 or s == 1]
        doc.user_data["aew_sent_starts"] = starts
    return starts


def sentence_bounds(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Character bounds of the sentence(s) that hold [start, end)."""
    starts = sentence_starts(doc)
    k = max(0, bisect.bisect_right(starts, start) - 1)
    j = bisect.bisect_left(starts, end)              # first sentence starting at or after ``end``
    a = starts[k]
    b = starts[j] if j < len(starts) else len(doc_text(doc))
    return a, b
