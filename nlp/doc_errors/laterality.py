"""laterality_conflict: one structure on one side in the diagnosis and on the other side in the procedure.

Reference sides come from the diagnosis (诊断 sections, a clause after 诊断, 手术部位：); when the diagnosis
says nothing of a structure, from what the patient and the imaging say of it (主诉, 辅助检查, "CT/MRI/超声：…").
A procedure on the other side than its single reference side is flagged; so is a diagnosis on the other side
than the single side of the chief complaint (主诉：右眼视物模糊 … 诊断：左眼白内障). Sides are written
左/右/双/两 or L/R (the normalised text is lower case)."""
from __future__ import annotations

import re

from ._common import Ctx, clause_bounds, finding, is_diag_section, is_proc_section, short_clause

RULE = "doc.laterality_conflict.v1"
_HIST = re.compile(r"^.{0,6}(术后|史|后\d|年前|月前)")
_SIDE = {"左": "左", "右": "右", "双": "双", "两": "双", "l": "左", "r": "右", "L": "左", "R": "右"}
_SITE = re.compile(r"(手术部位|手术侧别|手术侧|术侧)\s*[:：]\s*$")
_COMPLAINT = re.compile(r"主诉\s*[:：]")
# a procedure header the section step may not know (手术：…, 术式：…, 操作：…, 术中：…)
_PROC_HEAD = re.compile(r"(手术|术式|操作|术中)(名称|方式)?\s*[:：]")
_IMAGING = re.compile(r"(ct|mri|mr|pet|dr|b超|超声|彩超|x线|x片|胸片|平片|核磁|磁共振|造影|钼靶|超声心动图|"
                      r"辅助检查|影像)[^，,。；;]{0,12}?[:：示]", re.I)
_FINDING_SECTIONS = {"主诉", "辅助检查"}
_ACT = re.compile(r"(行|予|拟|实施|施行)")
# chest-wall landmarks name the side of a pleural procedure (于左侧腋中线第7肋间行胸腔穿刺)
# disease modifiers between the side and the structure (右侧慢性化脓性中耳炎, 左侧开放性粉碎性胫骨骨折)
_MODIFIERS = "|".join(["急性", "慢性", "亚急性", "化脓性", "分泌性", "复发性", "陈旧性", "原发性", "继发性", "开放性", "闭合性",
                       "粉碎性", "外伤性", "感染性", "良性", "恶性", "难治性", "渗出性", "增殖性", "年龄相关性", "老年性"])
_LANDMARK = re.compile(r"(左|右)侧?\s*(腋前线|腋中线|腋后线|锁骨中线|肩胛线)")
_PLEURAL = re.compile(r"(胸腔|胸膜|胸穿|胸水|闭式引流|气胸)")


def _patterns(kb):
    if "laterality" in kb.cache:
        return kb.cache["laterality"]
    structures, proc_words = kb.laterality["structures"].items(), kb.laterality["procedure_words"]
    alts = {}
    for key, names in structures:
        for n in names:
            alts.setdefault(n, key)
    names = "|".join(sorted(map(re.escape, alts), key=len, reverse=True))
    rx = re.compile(r"(左|右|双|两|(?<![A-Za-z])[lrLR](?=侧?[\u4e00-\u9fff]))侧?(?:" + _MODIFIERS + r")*(?:[^\d\s，,。；;：:左右双两侧]{0,4}?)(" + names + ")")
    prx = re.compile("|".join(sorted(map(re.escape, proc_words), key=len, reverse=True)))
    kb.cache["laterality"] = (rx, alts, prx)
    return rx, alts, prx


def _single(sides) -> str | None:
    if not sides or len(sides) != 1 or "双" in sides:
        return None
    return next(iter(sides))


def detect(ctx: Ctx, kb) -> list:
    rx, alts, prx = _patterns(kb)
    text = ctx.text
    diag: dict[str, set] = {}
    diag_at: dict[str, list] = {}
    found: dict[str, set] = {}            # 主诉 / imaging: what the patient has, outside the diagnosis
    complaint: dict[str, set] = {}
    procs = []
    for m in rx.finditer(text):
        s, e = m.span()
        side, organ = _SIDE[m.group(1)], alts[m.group(2)]
        label = ctx.section(s)
        cs, ce = short_clause(text, s)
        sec_end = next((x.end for x in ctx.secs if x.start <= s < x.end and x.label == label), len(text))
        sent_start = clause_bounds(text, s)[0]
        acted = _ACT.search(text[max(cs, sent_start):s])
        window = min(ce, sec_end, e + (40 if acted else 12))
        pm = prx.search(text, e, window)
        acted = pm and acted
        sec_start = next((x.start for x in ctx.secs if x.start <= s < x.end and x.label == label), 0)
        before = text[sent_start:s]
        later = _HIST.search(text[e:e + 8])
        if _SITE.search(before):
            diag.setdefault(organ, set()).add(side)
        elif _PROC_HEAD.search(before) and (pm or not before[_PROC_HEAD.search(before).end():].strip()):
            end = pm.end() if pm else e
            if not _HIST.search(text[end:end + 8]):
                procs.append((s, end, side, organ))
        elif is_diag_section(label) and not acted:
            diag.setdefault(organ, set()).add(side)
            diag_at.setdefault(organ, []).append((s, e, side))
        elif (is_proc_section(label) and sent_start <= sec_start) or pm:
            end = pm.end() if pm else e
            if not _HIST.search(text[end:end + 8]) and label not in ("既往史", "现病史", "个人史"):
                procs.append((s, end, side, organ))
        elif "诊断" in before:
            diag.setdefault(organ, set()).add(side)
            diag_at.setdefault(organ, []).append((s, e, side))
        elif not later and label not in ("既往史", "家族史", "个人史"):
            if label == "主诉" or _COMPLAINT.search(before):
                complaint.setdefault(organ, set()).add(side)
                found.setdefault(organ, set()).add(side)
            elif label in _FINDING_SECTIONS or _IMAGING.search(before):
                found.setdefault(organ, set()).add(side)
    for m in _LANDMARK.finditer(text):
        cs, ce = short_clause(text, m.start())
        tail = text[m.end():clause_bounds(text, m.start())[1]]
        if _PLEURAL.search(tail) and prx.search(tail):
            procs.append((m.start(), m.end(), m.group(1), alts.get("胸腔", "胸腔")))
    out = []
    for s, e, side, organ in procs:
        ref, where = _single(diag.get(organ)), "诊断"
        if organ not in diag:
            ref, where = _single(found.get(organ)), "主诉/检查"
        if not ref or side == "双" or side == ref:
            continue
        out.append(finding(ctx.doc, "laterality_conflict", s, e,
                           f"{where}记录为{ref}侧{organ}，手术/操作记录为{side}侧，侧别矛盾，请核对手术部位",
                           RULE, 0.85, ctx.section(s)))
    for organ, sides in complaint.items():
        c, d = _single(sides), _single(diag.get(organ))
        if not c or not d or c == d:
            continue
        for s, e, side in diag_at.get(organ, ()):
            if side == d and not any(a < e and s < b for a, b in ((f.start, f.end) for f in out)):
                out.append(finding(ctx.doc, "laterality_conflict", s, e,
                                   f"主诉为{c}侧{organ}，诊断为{d}侧，侧别矛盾，请核对诊断",
                                   RULE, 0.8, ctx.section(s)))
                break
    return out
