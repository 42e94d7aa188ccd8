"""age_mismatch: age-specific diagnoses and drugs with age contraindications against the patient's age."""
from __future__ import annotations

import re

from ._common import FAMILY, Ctx, finding, short_clause

RULE = "doc.age_mismatch.v1"
_NEG = re.compile(r"(否认|无|未|禁用|慎用|避免|不宜|停用|停)")
_NEG_DIAG = re.compile(r"(否认|无|排除|未见|未发生|不考虑|除外)[^，,。；;]{0,6}$")
# an adult may recount a childhood illness (幼时患川崎病, 出生时新生儿窒息): not this patient's age now
_CHILDHOOD = re.compile(r"(出生|生后|幼时|幼年|儿时|小时候|童年|年幼|少年时)")


def _fmt(age: float) -> str:
    if age < 1:
        return f"{round(age * 12)}个月"
    return f"{age:g}岁"


def detect(ctx: Ctx, kb) -> list:
    if ctx.age is None:
        return []
    text, age, out = ctx.text, ctx.age, []
    taken: list[tuple[int, int]] = []
    hits: list = []
    for rule in kb.age_rules:
        lo, hi, below = rule.get("min_age"), rule.get("max_age"), rule.get("contraindicated_below")
        bad = (lo is not None and age < lo) or (hi is not None and age > hi) or (below is not None and age < below)
        if not bad or any(w in text for w in rule.get("skip_if_text") or ()):
            continue
        excl = [(m.start(), m.end()) for x in rule.get("exclude") or () for m in re.finditer(re.escape(x), text)]
        for term in sorted(rule["terms"], key=len, reverse=True):
            for m in re.finditer(re.escape(term), text):
                s, e = m.span()
                if any(a < e and s < b for a, b in taken) or any(a <= s < b for a, b in excl):
                    continue
                cs, ce = short_clause(text, s)
                clause = text[cs:ce]
                if FAMILY.search(clause) or (rule["kind"] == "drug" and _NEG.search(text[cs:s])):
                    continue
                if rule["kind"] == "diagnosis" and (_NEG_DIAG.search(text[cs:s]) or
                                                    (hi is not None and _CHILDHOOD.search(clause))):
                    continue
                if rule["kind"] == "diagnosis" and ("科" in text[e:e + 1]):   # 小儿科会诊 names a department
                    continue
                taken.append((s, e))
                hits.append((s, e, term, rule))
    hits.sort()
    i = 0
    while i < len(hits):          # one finding per clause (小儿高热惊厥 is one error, not two)
        cs, ce = short_clause(text, hits[i][0])
        j = i
        while j + 1 < len(hits) and hits[j + 1][0] < ce:
            j += 1
        s, e, term, rule = hits[i][0], hits[j][1], hits[i][2], hits[i][3]
        out.append(finding(ctx.doc, "age_mismatch", s, e,
                           f"患者年龄{_fmt(age)}，记录中出现“{term}”（{rule['reason']}），请核对年龄或诊断/用药",
                           RULE, 0.85 if rule["kind"] == "diagnosis" else 0.8, ctx.section(s)))
        i = j + 1
    return out
