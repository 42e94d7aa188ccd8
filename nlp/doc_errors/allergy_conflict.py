"""allergy_conflict: a drug given although the patient is allergic to it or to its class.

Allergies come from patient.allergies and from the text (过敏史：…、对X过敏、X皮试阳性), ignoring negated
statements (否认药物过敏史、过敏史：无). Classes and cross-reactivity come from drug_classes.yaml."""
from __future__ import annotations

import re

from ._common import Ctx, clause_bounds, finding, short_clause
from ._drugs import mentions

RULE = "doc.allergy_conflict.v1"
CROSS_MIN_CONFIDENCE = 0.6
_ALLERGY = re.compile(r"过敏|皮试\s*(?:阳性|\(\+\)|（\+）|\+)|不耐受")
_NEGATED = re.compile(r"(否认|无|未发现|未见|不详|未知|未诉|否)[^，,。；;]{0,8}(过敏|皮试)|过敏史\s*[:：]?\s*(无|否认|不详|未知|/|-|（-）)"
                      r"|皮试\s*(阴性|\(-\)|（-）|-)")
# 皮试 before the drug is a skin test of it (予青霉素皮试 is written after; 皮试：青霉素 before), but
# "皮试阴性后予X" gives the drug itself: that is no avoidance
_AVOID = re.compile(r"(停用|停|禁用|禁|避免|慎用|忌用|不用|勿用|换用|改为|改用|替代|而非|既往|曾|"
                    r"皮试(?!\s*(?:阴性|\(-\)|（-）|-)\s*后))")


def _allergen_terms(kb):
    terms = kb.cache.get("allergen_terms")
    if terms is None:
        terms = {}
        for cls, spec in kb.classes.items():
            for t in spec["allergy_terms"]:
                terms.setdefault(t, ("class", cls))
        for name, generic in kb.drug_names.items():
            terms.setdefault(name, ("drug", generic))
        rx = re.compile("|".join(sorted(map(re.escape, terms), key=len, reverse=True)), re.I)
        terms = kb.cache["allergen_terms"] = (terms, rx)
    return terms


def _allergies(ctx: Ctx, kb):
    """{generic drug: (confidence, allergen as written)} and the regions of text that state allergies."""
    terms, rx = _allergen_terms(kb)
    found: list[tuple[str, str, str]] = []          # (kind, name, written)
    first = [len(ctx.text)]                          # where the text first states an allergy
    note = getattr(ctx.doc._, "note", None) if ctx.doc.has_extension("note") else None
    for a in getattr(getattr(note, "patient", None), "allergies", ()) or ():
        for m in rx.finditer(a):
            found.append((*terms[m.group()], m.group()))
            first[0] = 0
    regions = []
    text = ctx.text
    for m in _ALLERGY.finditer(text):
        regions.append(short_clause(text, m.start()))
    for sec in ctx.secs:
        if "过敏" in sec.label:
            regions.append((sec.start, min(sec.end, clause_bounds(text, sec.start)[1])))
    for s, e in regions:
        s0 = clause_bounds(text, s)[0]
        if _NEGATED.search(text[s:e]) or re.search(r"(否认|无)[^。；;]{0,20}$", text[s0:s]):
            continue
        for t in rx.finditer(text, s, e):
            first[0] = min(first[0], s)
            found.append((*terms.get(t.group(), terms.get(t.group().lower(), ("drug", t.group()))), t.group()))
    banned: dict[str, tuple[float, str]] = {}
    for kind, name, written in found:
        if kind == "drug":
            banned[name] = (0.92, written)
            for cls in kb.classes_of(name):      # 阿莫西林过敏: every penicillin is suspect, a little less
                for mem in kb.classes[cls]["members"]:
                    banned.setdefault(mem, (0.8, written))
            continue
        for mem in kb.classes[name]["members"]:
            banned[mem] = (0.9, written)
        for cross, conf in kb.classes[name]["cross"]:
            if conf >= CROSS_MIN_CONFIDENCE:
                for mem in kb.classes[cross]["members"]:
                    banned.setdefault(mem, (conf, written))
    return banned, regions, first[0]


def detect(ctx: Ctx, kb) -> list:
    banned, regions, since = _allergies(ctx, kb)
    if not banned:
        return []
    text, out, done = ctx.text, [], set()
    for s, e, written, generic in mentions(text, kb):
        if generic not in banned or generic in done or s < since or any(a <= s < b for a, b in regions):
            continue
        cs, _ = short_clause(text, s)
        if _AVOID.search(text[cs:s]):
            continue
        conf, allergen = banned[generic]
        done.add(generic)
        out.append(finding(ctx.doc, "allergy_conflict", s, e,
                           f"患者有{allergen}过敏史，记录中使用{written}（{generic}，同类或交叉过敏药物），请核实",
                           RULE, conf, ctx.section(s)))
    return out
