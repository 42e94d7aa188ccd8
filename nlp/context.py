"""A Chinese ConText (negation, history, plan/hypothesis, risk scores, experiencer, planned actions, expected
death), rules as data in ``data/rules/context.yaml``; plus the meaning of the section a mention sits in.

Cues are found once per document (only when there is something to modify). A forward cue modifies mentions
that start after it, a backward cue mentions that end before it, within its scope (clause, sentence or note),
its ``max_chars`` and the nearest terminator. Cues overlapping a pseudo cue, and cues inside the mention
itself, are ignored.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.doc import doc_text
from nlp.rulefiles import load_yaml, require_keys
from nlp.sections import SectionRules
from nlp.sentences import CLAUSE_END, MAX_SENTENCE_CHARS, SENT_END

MODIFIERS = ("negated", "historical", "hypothetical", "risk_score", "experiencer", "planned", "expected_death",
             "uncertain")
CATEGORIES = set(MODIFIERS) | {"pseudo", "terminate"}
SUPPRESSING = ("negated", "historical", "hypothetical", "risk_score", "experiencer", "planned", "expected_death")
_KEYS_REQ = {"id", "pattern", "category"}
_KEYS_OPT = {"direction", "scope", "max_chars", "applies_to", "terminates", "experiencer"}
# Breaks inside long notes that no sentence-ending character marks; context scopes do not cross them:
# - a half-width full stop used as one ("平稳.14:00 …", "mmhg.患者…"): not after a digit and not before a digit or
#   letter (decimals, doses and abbreviations are not breaks), or followed by a clock time;
# - the timed entries of a nursing record ("… 宣教 10:30 患者…"): an "hh:mm" at the line start, after whitespace
#   or a comma opens a new entry.
_DOT_STOP = re.compile(r"(?<=[^\d\s.])\.(?=\s*(?:[^\d\s.a-z]|\d{1,2}:\d\d))")
_TIME_LEAD = set("于在至到约拟从自日天晨晚早午夜时为是定计下上")
_ENTRY = re.compile(r"(?:(?<=[\s,，;；])|^)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s*)?(?:[01]?\d|2[0-3])[:：][0-5]\d(?![\d:：])(?!\s*[-~至到]\s*\d)")


def scope_breaks(norm: str) -> frozenset[int]:
    """Positions where a new sentence starts although no sentence-ending character stands before them: after
    a half-width full stop used as one, and at the clock time that opens a timed entry."""
    cuts = {m.end() for m in _DOT_STOP.finditer(norm)} if "." in norm else set()
    if ":" in norm or "：" in norm:
        for m in _ENTRY.finditer(norm):
            i = m.start() - 1
            while i >= 0 and norm[i] in " \t,，":
                i -= 1
            if i >= 0 and norm[i] not in _TIME_LEAD:          # "拟明日 08:00 …", "于 14:00 …": the time belongs to this sentence
                cuts.add(m.start())
    return frozenset(cuts)


@dataclass(frozen=True)
class ContextRule:
    id: str
    pattern: re.Pattern
    category: str
    direction: str = "forward"
    scope: str = "clause"
    max_chars: int = 30
    applies_to: frozenset[str] | None = None
    terminates: frozenset[str] | None = None
    experiencer: str | None = None

    def applies(self, category: str | None) -> bool:
        return self.applies_to is None or category is None or category in self.applies_to


@dataclass(frozen=True)
class Cue:
    rule: ContextRule
    start: int
    end: int


@dataclass
class Assessment:
    """What the context rules say about one mention."""
    modifiers: dict[str, str]           # modifier category -> id of the first rule that set it
    experiencer: str = "patient"

    @property
    def suppressed_by(self) -> tuple[str, str] | None:
        for cat in SUPPRESSING:
            if cat in self.modifiers:
                return cat, self.modifiers[cat]
        return None

    def as_context(self) -> dict:
        m = self.modifiers
        return {"negated": "negated" in m, "historical": "historical" in m,
                "hypothetical": "hypothetical" in m or "planned" in m, "experiencer": self.experiencer,
                "uncertain": "uncertain" in m, "risk_score": "risk_score" in m}


def load_context_rules(path: str | Path) -> tuple[str, list[ContextRule]]:
    data = load_yaml(path)
    require_keys(data, {"version", "rules"}, set(), path)
    rules, seen = [], set()
    for i, r in enumerate(data["rules"]):
        where = f"{path} rules[{i}]"
        require_keys(r, _KEYS_REQ, _KEYS_OPT, where)
        if r["id"] in seen:
            raise ValueError(f"{where}: duplicate id {r['id']!r}")
        seen.add(r["id"])
        if r["category"] not in CATEGORIES:
            raise ValueError(f"{where}: unknown category {r['category']!r} (one of {sorted(CATEGORIES)})")
        if r.get("direction", "forward") not in ("forward", "backward", "both"):
            raise ValueError(f"{where}: direction must be forward, backward or both")
        if r.get("scope", "clause") not in ("clause", "sentence", "note"):
            raise ValueError(f"{where}: scope must be clause, sentence or note")
        try:
            rx = re.compile(r["pattern"])
        except re.error as e:
            raise ValueError(f"{where}: bad pattern {r['pattern']!r}: {e}") from e
        rules.append(ContextRule(
            id=r["id"], pattern=rx, category=r["category"], direction=r.get("direction", "forward"),
            scope=r.get("scope", "clause"), max_chars=int(r.get("max_chars", 30)),
            applies_to=frozenset(r["applies_to"]) if r.get("applies_to") else None,
            terminates=frozenset(r["terminates"]) if r.get("terminates") else None,
            experiencer=r.get("experiencer")))
    return str(data["version"]), rules


class ContextIndex:
    """The cues of one document, found once."""

    def __init__(self, norm: str, rules: list[ContextRule]) -> None:
        self.norm = norm
        self.breaks = scope_breaks(norm)
        pseudo = sorted((m.start(), m.end()) for r in rules if r.category == "pseudo" for m in r.pattern.finditer(norm))
        pseudo_starts, pseudo_reach, far = [p[0] for p in pseudo], [], -1
        for _, pe in pseudo:                       # the furthest end of the pseudo cues starting so far
            far = max(far, pe)
            pseudo_reach.append(far)
        self.cues: list[Cue] = []
        self.terminators: list[Cue] = []
        for r in rules:
            if r.category == "pseudo":
                continue
            for m in r.pattern.finditer(norm):
                if m.end() == m.start():
                    continue
                k = bisect.bisect_left(pseudo_starts, m.end()) - 1      # pseudo cues starting before m ends
                if r.category != "terminate" and k >= 0 and pseudo_reach[k] > m.start():
                    continue
                (self.terminators if r.category == "terminate" else self.cues).append(Cue(r, m.start(), m.end()))
        # position indexes, so that one mention looks only at the cues and terminators near it (linear scans)
        near = [(c.start, i) for i, c in enumerate(self.cues) if c.rule.scope != "note"]
        near.sort()
        self._near_starts = [p for p, _ in near]
        self._near_ids = [i for _, i in near]
        self._note_ids = [i for i, c in enumerate(self.cues) if c.rule.scope == "note"]
        self._reach = max((c.rule.max_chars + (c.end - c.start) for i, c in enumerate(self.cues)
                           if c.rule.scope != "note"), default=0)
        self.terminators.sort(key=lambda t: t.start)
        self._term_starts = [t.start for t in self.terminators]

    def _bounds(self, pos: int, scope: str, reach: int = MAX_SENTENCE_CHARS) -> tuple[int, int]:
        """The sentence or clause around pos, looked for at most `reach` characters either side."""
        if scope == "note":
            return 0, len(self.norm)
        stops = SENT_END if scope == "sentence" else CLAUSE_END
        breaks = self.breaks
        s, floor = pos, max(0, pos - reach)
        while s > floor and self.norm[s - 1] not in stops and s not in breaks:
            s -= 1
        e, ceiling = pos, min(len(self.norm), pos + reach)
        while e < ceiling and self.norm[e] not in stops and e not in breaks:
            e += 1
        return s, e

    def _terminated(self, cat: str, a: int, b: int) -> list[Cue]:
        lo, hi = bisect.bisect_left(self._term_starts, a), bisect.bisect_right(self._term_starts, b)
        return [t for t in self.terminators[lo:hi] if a <= t.start and t.end <= b
                and (t.rule.terminates is None or cat in t.rule.terminates)]

    def covers(self, cue: Cue, start: int, end: int) -> bool:
        """Does the cue's scope reach the mention [start, end)?"""
        r = cue.rule
        if cue.start < end and start < cue.end:               # the cue is part of the mention
            return False
        if r.direction in ("forward", "both") and start >= cue.end:
            lo, hi = self._bounds(cue.end, r.scope, r.max_chars)
            hi = min(hi, cue.end + r.max_chars)
            for t in self._terminated(r.category, cue.end, start):
                hi = min(hi, t.start)
            if start < hi:
                return True
        if r.direction in ("backward", "both") and end <= cue.start:
            lo, hi = self._bounds(cue.start, r.scope, r.max_chars)
            lo = max(lo, cue.start - r.max_chars)
            for t in self._terminated(r.category, end, cue.start):
                lo = max(lo, t.end)
            if end > lo:
                return True
        return False

    def assess(self, start: int, end: int, category: str | None = None) -> Assessment:
        found: dict[str, str] = {}
        experiencer = "patient"
        a = bisect.bisect_left(self._near_starts, start - self._reach)
        b = bisect.bisect_right(self._near_starts, end + self._reach)
        for i in sorted(self._note_ids + self._near_ids[a:b]):      # in rule order, as before
            cue = self.cues[i]
            r = cue.rule
            if r.category in found or not r.applies(category):
                continue
            if r.scope != "note" and (cue.end + r.max_chars < start or cue.start - r.max_chars > end):
                continue
            if self.covers(cue, start, end):
                found[r.category] = r.id
                if r.category == "experiencer":
                    experiencer = r.experiencer or "他人"
        return Assessment(found, experiencer)


class ContextRules:
    """The loaded ConText rules plus the section effects."""

    def __init__(self, path: str | Path, sections: SectionRules | None = None) -> None:
        self.version, self.rules = load_context_rules(path)
        self.sections = sections

    def index(self, norm: str) -> ContextIndex:
        return ContextIndex(norm, self.rules)

    def section_effect(self, section: str | None, note_type: str | None, category: str | None,
                       index: "ContextIndex | None" = None, start: int | None = None) -> tuple[str, str] | None:
        """(modifier, rule id) that the section imposes on a mention of `category`, if any. A historical section
        marked ``yields_after_admission`` (入院情况) is not history in a sentence that says after admission."""
        if self.sections is None or not section:
            return None
        rule = self.sections.by_name(section)
        if rule is None:
            return None
        rid = f"section.{section}"
        if rule.effect == "historical":
            if rule.yields_after_admission and index is not None and start is not None \
                    and self._after_admission(index, start):
                return None
            return "historical", rid
        if rule.effect == "experiencer":
            return "experiencer", rid
        if rule.effect == "risk_score":
            return "risk_score", rid
        if rule.effect == "allergy_history":
            return "historical", rid
        if rule.effect == "hypothetical":
            return "hypothetical", rid
        if rule.effect == "admission":
            nt = self.sections.canonical_note_type(note_type)
            if nt in rule.in_note_types:
                return "historical", rid
        return None

    def _after_admission(self, index: "ContextIndex", start: int) -> bool:
        if self.sections is None or self.sections.after_admission is None:
            return False
        s, e = index._bounds(start, "sentence")
        return self.sections.after_admission.search(index.norm, s, e) is not None

    def note_type_effect(self, index: ContextIndex, start: int, note_type: str | None) -> tuple[str, str] | None:
        """An admission note documents the state on admission: its mentions are history unless the sentence
        says the thing happened after admission."""
        if self.sections is None or not note_type:
            return None
        nt = self.sections.canonical_note_type(note_type)
        if nt not in self.sections.admission_note_types:
            return None
        if self._after_admission(index, start):
            return None
        return "historical", f"note_type.{nt}"

    def assess(self, index: ContextIndex, start: int, end: int, *, category: str | None = None,
               section: str | None = None, note_type: str | None = None) -> Assessment:
        a = index.assess(start, end, category)
        eff = (self.section_effect(section, note_type, category, index, start)
               or self.note_type_effect(index, start, note_type))
        if eff and eff[0] not in a.modifiers:
            a.modifiers[eff[0]] = eff[1]
            if eff[0] == "experiencer":
                a.experiencer = "家属"
        return a


def section_at(doc: Doc, char: int) -> str | None:
    for sp in doc.spans.get("sections", []) if "sections" in doc.spans else []:
        if sp.start_char <= char < sp.end_char:
            return sp.label_
    return None


_ATTRS_STORE = "aew_span_attrs"


def span_attrs(span: Span) -> dict:
    """A candidate's attributes. spaCy keys ``span._`` values by character offsets only, so two candidates of
    different categories on the same tokens would share one ``span._.attrs``: they are kept per (offsets, label)
    in ``doc.user_data`` (``set_span_attrs``), with ``span._.attrs`` as the fallback."""
    store = span.doc.user_data.get(_ATTRS_STORE)
    if store:
        a = store.get((span.start_char, span.end_char, span.label_))
        if a is not None:
            return a
    return span._.attrs or {}


def set_span_attrs(span: Span, attrs: dict) -> None:
    span.doc.user_data.setdefault(_ATTRS_STORE, {})[(span.start_char, span.end_char, span.label_)] = attrs
    span._.attrs = attrs


def span_offsets(span: Span) -> tuple[int, int]:
    """The exact character offsets of a mention (anchors may be narrower than their token-aligned span)."""
    attrs = span_attrs(span)
    return attrs.get("anchor_start", attrs.get("start", span.start_char)), \
        attrs.get("anchor_end", attrs.get("end", span.end_char))


@Language.factory("aew_context", default_config={"rules_path": "", "sections_path": "",
                                                  "span_groups": ["event_candidates"]})
def make_context(nlp: Language, name: str, rules_path: str, sections_path: str,
                 span_groups: list[str]) -> "ContextComponent":
    """``rules_path``: context.yaml; ``sections_path``: sections.yaml (for section effects);
    ``span_groups``: which ``doc.spans`` groups to annotate (add "entities" to annotate every entity too)."""
    from nlp.sections import load_section_rules
    sections = load_section_rules(sections_path) if sections_path else None
    return ContextComponent(ContextRules(rules_path, sections), span_groups=span_groups)


class ContextComponent:
    def __init__(self, rules: ContextRules, *, span_groups: Iterable[str] = ("event_candidates", "entities")
                 ) -> None:
        self.rules = rules
        self.span_groups = tuple(span_groups)

    def __call__(self, doc: Doc) -> Doc:
        groups = [g for g in self.span_groups if g in doc.spans and len(doc.spans[g])]
        if not groups:
            return doc
        norm = doc._.norm if doc._.norm is not None else doc_text(doc)
        index = self.rules.index(norm)
        note_type = doc._.note.note_type if doc._.note is not None else None
        for g in groups:
            for span in doc.spans[g]:
                start, end = span_offsets(span)
                category = span_attrs(span).get("category")
                a = self.rules.assess(index, start, end, category=category,
                                      section=section_at(doc, start), note_type=note_type)
                for mod in ("negated", "historical", "hypothetical", "uncertain", "risk_score"):
                    setattr(span._, mod, mod in a.modifiers)
                if "planned" in a.modifiers:
                    span._.hypothetical = True
                span._.experiencer = a.experiencer
                span._.context_rules = list(a.modifiers.values())
                attrs = dict(span_attrs(span))
                attrs["context"] = a
                set_span_attrs(span, attrs)
        return doc
