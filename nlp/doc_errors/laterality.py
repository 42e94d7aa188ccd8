"""laterality_conflict: one structure on one side in the diagnosis and on the other side in the procedure."""
from __future__ import annotations

import re

from ._common import Ctx, clause_bounds, finding, is_diag_section, is_proc_section, short_clause

RULE = "doc.laterality_conflict.v1"
_HIST = re.compile(r"^.{0,6}(术后|史|后\d|年前|月前)")
_SIDE = {"左": "左", "右": "右", "双": "双", "两": "双"}


def _patterns(kb):
    if "laterality" in kb.cache:
        return kb.cache["laterality"]
    structures, proc_words = kb.laterality["structures"].items(), kb.laterality["procedure_words"]
    alts = {}
    for key, names in structures:
        for n in names:
            alts.setdefault(n, key)
    rx = re.compile(r"(左|右|双|两)侧?(?:[^\d\s，,。；;：:左右双两侧]{0,4}?)(" + "|".join(sorted(map(re.escape, alts), key=len, reverse=True)) + ")")
    prx = re.compile("|".join(sorted(map(re.escape, proc_words), key=len, reverse=True)))
    kb.cache["laterality"] = (rx, alts, prx)
    return rx, alts, prx


def detect(ctx: Ctx, kb) -> list:
    rx, alts, prx = _patterns(kb)
    text = ctx.text
    diag: dict[str, set] = {}
    procs = []
    for m in rx.finditer(text):
        s, e = m.span()
        side, organ = _SIDE[m.group(1)], alts[m.group(2)]
        label = ctx.section(s)
        cs, ce = short_clause(text, s)
        sec_end = next((x.end for x in ctx.secs if x.start <= s < x.end and x.label == label), len(text))
        pm = prx.search(text, e, min(ce, e + 12, sec_end))
        sent_start = clause_bounds(text, s)[0]
        acted = pm and re.search(r"(行|予|拟|实施|施行)", text[max(cs, sent_start):s])
        sec_start = next((x.start for x in ctx.secs if x.start <= s < x.end and x.label == label), 0)
        if is_diag_section(label) and not acted:
            diag.setdefault(organ, set()).add(side)
        elif (is_proc_section(label) and sent_start <= sec_start) or pm:
            end = pm.end() if pm else e
            if not _HIST.search(text[end:end + 8]) and label not in ("既往史", "现病史", "个人史"):
                procs.append((s, end, side, organ))
        elif "诊断" in text[clause_bounds(text, s)[0]:s]:
            diag.setdefault(organ, set()).add(side)
    out = []
    for s, e, side, organ in procs:
        sides = diag.get(organ)
        if not sides or len(sides) != 1 or "双" in sides or side == "双" or side in sides:
            continue
        dside = next(iter(sides))
        out.append(finding(ctx.doc, "laterality_conflict", s, e,
                           f"诊断记录为{dside}侧{organ}，手术/操作记录为{side}侧，侧别矛盾，请核对手术部位",
                           RULE, 0.85, ctx.section(s)))
    return out
