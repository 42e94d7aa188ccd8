"""Adverse-event detectors for the 18 event categories of taxonomy.yaml.

Two components: ``aew_event_candidates`` finds trigger matches (patterns in ``data/rules/events/*.yaml``) and
puts them in ``doc.spans["event_candidates"]``; after ``aew_context`` has annotated them, ``aew_events`` applies
per-category exclusions, requirements and checks, drops what context ruled out (into ``doc._.suppressed``), and
writes one ``Finding`` per category and note (one incident) into ``doc._.findings`` with severity and a Chinese
explanation.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text
from nlp.context import section_at, set_span_attrs, span_attrs
from nlp.events.checks import CHECKS
from nlp.events.rules import EventRule, load_event_rules
from nlp.events.severity import SeverityRules, load_severity_rules
from nlp.sections import SectionRules, load_section_rules
from nlp.sentences import CLAUSE_END, sentence_ranges
from nlp.types import Finding, Suppressed

__all__ = ["EventCandidateFinder", "EventDetector", "load_event_rules"]
SENT_STRIP = "。！？；!?;\n "


@dataclass
class Candidate:
    rule: EventRule
    trigger: str
    confidence: float
    start: int
    end: int
    anchor_start: int
    anchor_end: int


def find_candidates(norm: str, rules: tuple[EventRule, ...]) -> list[Candidate]:
    out = []
    for rule in rules:
        for trig in rule.triggers:
            for m in trig.finditer(norm):
                if m.end() <= m.start():
                    continue
                # the anchor: the first evidence group (ev, ev2, ev_1 …) that took part in the match
                g = next((k for k, v in m.groupdict().items() if v is not None and k.startswith("ev")), None)
                a0, a1 = (m.start(g), m.end(g)) if g else (m.start(), m.end())
                out.append(Candidate(rule, trig.id, trig.confidence, m.start(), m.end(), a0, a1))
    return out


@Language.factory("aew_event_candidates", default_config={"rules_dir": "", "taxonomy_path": ""})
def make_candidate_finder(nlp: Language, name: str, rules_dir: str, taxonomy_path: str) -> "EventCandidateFinder":
    """``rules_dir``: data/rules/events; ``taxonomy_path``: taxonomy.yaml (categories are checked against it)."""
    return EventCandidateFinder(load_event_rules(rules_dir, taxonomy_path or None, set(CHECKS)))


class EventCandidateFinder:
    def __init__(self, rules: tuple[EventRule, ...]) -> None:
        self.rules = rules

    def __call__(self, doc: Doc) -> Doc:
        norm = doc._.norm if doc._.norm is not None else doc_text(doc)
        spans, seen = [], {}
        for c in find_candidates(norm, self.rules):
            span = doc.char_span(c.start, c.end, label=c.rule.category, alignment_mode="expand")
            if span is None:
                continue
            key = (span.start_char, span.end_char, span.label_)     # one candidate per tokens and category
            if key in seen and seen[key] >= c.confidence:
                continue
            span._.source = "rule"
            set_span_attrs(span, {"category": c.rule.category, "trigger": c.trigger, "confidence": c.confidence,
                                  "start": c.start, "end": c.end, "anchor_start": c.anchor_start,
                                  "anchor_end": c.anchor_end})
            if key not in seen:
                spans.append(span)
            seen[key] = c.confidence
        doc.spans["event_candidates"] = spans
        return doc


@Language.factory("aew_events", default_config={"rules_dir": "", "taxonomy_path": "", "severity_path": "",
                                                 "sections_path": ""})
def make_event_detector(nlp: Language, name: str, rules_dir: str, taxonomy_path: str, severity_path: str,
                        sections_path: str) -> "EventDetector":
    """Turns context-annotated candidates into findings. Paths: event rules folder, taxonomy.yaml,
    severity.yaml, sections.yaml (note-type names)."""
    return EventDetector(load_event_rules(rules_dir, taxonomy_path or None, set(CHECKS)),
                         load_severity_rules(severity_path),
                         load_section_rules(sections_path) if sections_path else None)


class EventDetector:
    def __init__(self, rules: tuple[EventRule, ...], severity: SeverityRules,
                 sections: SectionRules | None = None) -> None:
        self.rules = {r.category: r for r in rules}
        self.severity = severity
        self.sections = sections

    def __call__(self, doc: Doc) -> Doc:
        if doc._.findings is None:
            doc._.findings = []
        if doc._.suppressed is None:
            doc._.suppressed = []
        cands = list(doc.spans["event_candidates"]) if "event_candidates" in doc.spans else []
        if not cands:
            return doc
        norm = doc._.norm if doc._.norm is not None else doc_text(doc)
        sents = sentence_ranges(norm)
        starts = [s for s, _ in sents]
        kept: dict[str, list] = {}
        for span in cands:
            at = span_attrs(span)
            rule = self.rules[at["category"]]
            s0, s1 = sents[max(0, bisect.bisect_right(starts, at["anchor_start"]) - 1)]
            verdict = self._verdict(doc, norm, rule, at, (s0, s1), span)
            if verdict is not None:
                reason, rid = verdict
                doc._.suppressed.append(Suppressed(rule.category, at["start"], at["end"],
                                                   doc_text(doc)[at["start"]:at["end"]], reason, rid))
                continue
            kept.setdefault(rule.category, []).append((span, (s0, s1)))
        note_type = doc._.note.note_type if doc._.note is not None else None
        for category, items in kept.items():
            doc._.findings.append(self._finding(doc, norm, sents, starts, self.rules[category], items, note_type))
        return doc

    def _verdict(self, doc: Doc, norm: str, rule: EventRule, at: dict, sent: tuple[int, int], span
                 ) -> tuple[str, str] | None:
        """None when the candidate stands; else (reason, rule id) for the suppressed list."""
        s0, s1 = sent
        text = norm[s0:s1].rstrip(SENT_STRIP)
        c0, c1 = _clause(norm, at["anchor_start"], at["anchor_end"], s0, s1)
        for ex in rule.exclude:
            for m in ex.rx.finditer(text):
                if ex.scope == "sentence" or (s0 + m.start() < c1 and c0 < s0 + m.end()):
                    return "excluded", rule.rule_id("exclude." + ex.id)
        if rule.require and not any(p.rx.search(text) for p in rule.require):
            return "requirement", rule.rule_id("require")
        a = span_attrs(span).get("context")
        if a is not None and a.suppressed_by is not None:
            return a.suppressed_by
        model = at["trigger"].startswith("model")
        if rule.check is not None and not model and not CHECKS[rule.check](norm, sent, at["trigger"]):
            return "check", rule.rule_id("check." + rule.check)
        return None

    def _finding(self, doc, norm, sents, starts, rule: EventRule, items, note_type) -> Finding:
        span, sent = max(items, key=lambda it: (span_attrs(it[0])["confidence"], -span_attrs(it[0])["start"]))
        at = span_attrs(span)
        i = bisect.bisect_right(starts, sent[0]) - 1
        w_end = sents[min(len(sents) - 1, i + 2)][1]
        window = norm[sent[0]:min(w_end, sent[0] + 240)]
        level, from_text = self.severity.grade(window, rule)
        a = at.get("context")
        context = a.as_context() if a is not None else {"negated": False, "historical": False,
                                                        "hypothetical": False, "experiencer": "patient"}
        conf = at["confidence"] * (0.85 if context.get("uncertain") else 1.0)
        section = section_at(doc, at["anchor_start"])
        evidence = doc_text(doc)[at["start"]:at["end"]]
        explanation = self._explain(rule, evidence, level, from_text, note_type, section)
        if at["trigger"].startswith("model"):
            explanation += f"（由事件分类模型{at['trigger'][6:]}判断，概率{at.get('model_p', conf):.2f}）"
            rule_id = f"{at['trigger']}.{rule.category}"
        else:
            rule_id = rule.rule_id(at["trigger"])
        return Finding(kind="event", category=rule.category, severity=level, start=at["start"], end=at["end"],
                       evidence=evidence, confidence=round(conf, 3), rule=rule_id, explanation=explanation,
                       context=context, section=section)

    def _explain(self, rule: EventRule, evidence: str, level: str, from_text: bool, note_type, section) -> str:
        nt = (self.sections.canonical_note_type(note_type) if self.sections else note_type) or "病历"
        where = f"{nt}「{section}」" if section else nt
        ev = evidence if len(evidence) <= 30 else evidence[:29] + "…"
        why = self.severity.reasons[level] if from_text else "按该类事件的默认分级"
        return f"{where}中记载{rule.description}（“{ev}”），{why}，判定为{level}级{self.severity.labels[level]}。"


def _clause(norm: str, a0: int, a1: int, s0: int, s1: int) -> tuple[int, int]:
    c0 = a0
    while c0 > s0 and norm[c0 - 1] not in CLAUSE_END:
        c0 -= 1
    c1 = a1
    while c1 < s1 and norm[c1] not in CLAUSE_END:
        c1 += 1
    return c0, c1
