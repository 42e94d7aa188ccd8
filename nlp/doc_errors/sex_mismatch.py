"""sex_mismatch: organs, diagnoses, procedures and tests of one sex in a patient of the other."""
from __future__ import annotations

import re

from ._common import FAMILY, Ctx, clause_bounds, finding

RULE = "doc.sex_mismatch.v1"
_OTHER = {"男": "女", "女": "男"}


def _matcher(terms):
    return re.compile("|".join(sorted(map(re.escape, terms), key=len, reverse=True)))


def detect(ctx: Ctx, kb) -> list:
    if ctx.sex not in _OTHER:
        return []
    spec = kb.sex[_OTHER[ctx.sex]]
    text = ctx.text
    excl = [(m.start(), m.end()) for m in _matcher(spec.get("exclude") or ["\0"]).finditer(text)]
    hits = []
    for m in _matcher(spec["terms"]).finditer(text):
        s, e = m.span()
        if any(a <= s < b for a, b in excl):
            continue
        cs, ce = clause_bounds(text, s)
        if FAMILY.search(text[cs:ce]):
            continue
        hits.append((s, e, m.group()))
    out, i = [], 0
    while i < len(hits):          # one finding per sentence: from its first to its last offending term
        ss, se = clause_bounds(text, hits[i][0])
        j = i
        while j + 1 < len(hits) and hits[j + 1][0] < se:
            j += 1
        s, e = hits[i][0], hits[j][1]
        terms = "、".join(dict.fromkeys(h[2] for h in hits[i:j + 1]))
        out.append(finding(ctx.doc, "sex_mismatch", s, e,
                           f"患者性别为{ctx.sex}，记录中出现{_OTHER[ctx.sex]}性特有的{terms}，请核对性别或是否复制他人病历",
                           RULE, 0.9, ctx.section(s)))
        i = j + 1
    return out
