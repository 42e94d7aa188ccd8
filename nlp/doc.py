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
- sentences: ``doc.sents`` (sentence starts set by the sentence component).
- ``span._.negated / _.historical / _.hypothetical / _.uncertain / _.risk_score`` (bool),
  ``span._.experiencer`` (str, "patient" default), ``span._.context_rules`` (ids of the rules that applied).
- ``doc._.findings``: list of ``nlp.types.Finding``; ``doc._.suppressed``: list of ``nlp.types.Suppressed``.
"""
from __future__ import annotations

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
