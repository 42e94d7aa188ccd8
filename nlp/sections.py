"""Sections of Chinese EMR documents (主诉、现病史、既往史 …) and canonical note types, rules in
``data/rules/sections.yaml``. Writes ``doc.spans["sections"]`` (label = canonical section name)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text
from nlp.rulefiles import load_yaml, require_keys

EFFECTS = {"historical", "experiencer", "allergy_history", "admission", "none", "risk_score", "hypothetical"}


@dataclass(frozen=True)
class SectionRule:
    name: str
    headers: tuple[str, ...]
    effect: str
    in_note_types: tuple[str, ...] = ()
    yields_after_admission: bool = False   # the effect lapses where the sentence says "after admission"


@dataclass(frozen=True)
class SectionRules:
    version: str
    note_types: dict[str, str]          # spelling -> canonical
    sections: tuple[SectionRule, ...]
    admission_note_types: tuple[str, ...] = ()
    after_admission: re.Pattern | None = None

    def canonical_note_type(self, note_type: str | None) -> str | None:
        if not note_type:
            return None
        nt = note_type.strip()
        if nt in self.note_types:
            return self.note_types[nt]
        for spelling in sorted(self.note_types, key=len, reverse=True):   # "危重护理记录单(2)" etc.
            if spelling in nt:
                return self.note_types[spelling]
        return nt

    def by_name(self, name: str) -> SectionRule | None:
        return next((s for s in self.sections if s.name == name), None)


def load_section_rules(path: str | Path) -> SectionRules:
    data = load_yaml(path)
    require_keys(data, {"version", "note_types", "sections"}, {"admission_note_types", "after_admission"}, path)
    spellings: dict[str, str] = {}
    for canon, names in data["note_types"].items():
        if not isinstance(names, list):
            raise ValueError(f"{path}: note_types.{canon} must be a list")
        spellings[canon] = canon
        for n in names:
            spellings[str(n)] = canon
    rules = []
    for i, s in enumerate(data["sections"]):
        require_keys(s, {"name", "headers", "effect"}, {"in_note_types", "yields_after_admission"}, f"{path} sections[{i}]")
        if s["effect"] not in EFFECTS:
            raise ValueError(f"{path} sections[{i}]: unknown effect {s['effect']!r} (one of {sorted(EFFECTS)})")
        rules.append(SectionRule(s["name"], tuple(s["headers"]), s["effect"], tuple(s.get("in_note_types", ())),
                                 bool(s.get("yields_after_admission", False))))
    after = data.get("after_admission")
    return SectionRules(str(data["version"]), spellings, tuple(rules), tuple(data.get("admission_note_types") or ()),
                        re.compile(after) if after else None)


def header_regex(rules: SectionRules) -> re.Pattern:
    """A header: a known name at a line/sentence start, in 【】 or followed by a colon (normalised text)."""
    names = sorted({h for s in rules.sections for h in s.headers}, key=len, reverse=True)
    alt = "|".join(re.escape(h) for h in names)
    return re.compile(
        rf"(?:(?<=^)|(?<=[\n。;!?\s\]】)]))[\s\d.、]*(?:【(?P<b>{alt})】|(?P<h>{alt})\s*[:])", re.M)


def find_sections(norm: str, rules: SectionRules, rx: re.Pattern) -> list[tuple[int, int, str]]:
    """(start, end, canonical name) for every section; text before the first header has none."""
    canon = {h: s.name for s in rules.sections for h in s.headers}
    heads = [(m.start("b") if m.group("b") else m.start("h"), canon[m.group("b") or m.group("h")])
             for m in rx.finditer(norm)]
    out = []
    for i, (start, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(norm)
        out.append((start, end, name))
    return out


@Language.factory("aew_sections", default_config={"rules_path": ""})
def make_sections(nlp: Language, name: str, rules_path: str) -> "SectionTagger":
    """``rules_path``: the sections YAML (data/rules/sections.yaml)."""
    return SectionTagger(load_section_rules(rules_path))


class SectionTagger:
    def __init__(self, rules: SectionRules) -> None:
        self.rules = rules
        self.rx = header_regex(rules)

    def __call__(self, doc: Doc) -> Doc:
        norm = doc._.norm if doc._.norm is not None else doc_text(doc)
        spans = []
        for start, end, name in find_sections(norm, self.rules, self.rx):
            span = doc.char_span(start, end, label=name, alignment_mode="expand")
            if span is not None and len(span):
                spans.append(span)
        doc.spans["sections"] = spans
        return doc
