"""Event frames: events that knowledge decides, not wording.

``aew_event_frames`` runs after the documentation-error checks and turns some of their findings into events:

- **medication error, given despite an allergy** — the allergy-conflict check found a drug of a class the patient
  is allergic to (allergy stated anywhere in the note or in the patient record, with class cross-reactivity from
  ``data/knowledge/drug_classes.yaml``); when the drug's clause also says it was administered (a word of the
  ``admin_action`` class: 予、静滴、输注、口服 …) and not merely planned or avoided, the patient received a drug
  they must not have: a medication error, severity II when an adverse reaction is also found, III otherwise, IV
  when the text says it was stopped before reaching the patient.
"""
from __future__ import annotations

import re
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text
from nlp.events.classes import load_classes
from nlp.normalize import normalize_text
from nlp.sentences import CLAUSE_END
from nlp.types import Finding

ALLERGY_RULE = "frame.medication_error.allergy.v1"
_PLANNED = re.compile(r"拟|计划|建议|如需|如有|必要时|备用|医嘱[^。；;，,]{0,4}(开具|开立)")
_LEVELS = {"II": "不良后果事件", "III": "未造成后果事件", "IV": "隐患事件"}
_INTERCEPTED = re.compile(r"(未|没有|尚未)(用于|给予|输注|输入|使用)|拦截|核对时发现|执行前发现|用药前发现|未执行")


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    s, e = start, end
    while s > 0 and text[s - 1] not in CLAUSE_END:
        s -= 1
    while e < len(text) and text[e] not in CLAUSE_END:
        e += 1
    return s, e


@Language.factory("aew_event_frames", default_config={"classes_dir": ""})
def make_event_frames(nlp: Language, name: str, classes_dir: str) -> "EventFrames":
    """``classes_dir``: data/rules/classes (the ``admin_action`` class says what administering a drug is)."""
    return EventFrames(classes_dir)


class EventFrames:
    def __init__(self, classes_dir: str | Path) -> None:
        classes = load_classes(classes_dir)
        self.admin = re.compile(classes["admin_action"].regex())

    def __call__(self, doc: Doc) -> Doc:
        findings = doc._.findings or []
        if any(f.kind == "event" and f.category == "medication_error" for f in findings):
            return doc
        conflicts = [f for f in findings if f.kind == "doc_error" and f.category == "allergy_conflict"]
        if not conflicts:
            return doc
        text = doc_text(doc)
        norm = doc._.norm if doc._.norm is not None else normalize_text(text)
        reaction = any(f.kind == "event" and f.category == "adverse_drug_reaction" for f in findings)
        for c in conflicts:
            s, e = _clause(norm, c.start, c.end)
            clause = norm[s:e]
            if not self.admin.search(clause) or _PLANNED.search(norm[s:c.start]):
                continue
            sent_end = norm.find("。", c.end)
            after = norm[c.end: sent_end if sent_end >= 0 else len(norm)]
            level = "IV" if _INTERCEPTED.search(clause + after) else ("II" if reaction else "III")
            s += len(text[s:e]) - len(text[s:e].lstrip())       # normalisation keeps offsets: one char for one
            evidence = text[s:e].strip()
            why = c.explanation.split("，请核实")[0]
            findings.append(Finding(
                kind="event", category="medication_error", severity=level, start=s, end=s + len(evidence),
                evidence=evidence, confidence=round(min(0.9, c.confidence), 3), rule=ALLERGY_RULE,
                explanation=f"{why}且已给药（给药与过敏史冲突），判定为{level}级{_LEVELS[level]}。",
                section=c.section))
            break                                               # one finding per category and note
        doc._.findings = findings
        return doc
