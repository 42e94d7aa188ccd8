"""dose_out_of_range: a written dose above the single or daily maximum or far below the usual dose
(10× slips such as 475mg for 47.5mg, unit slips g↔mg, mg↔μg), with units normalised."""
from __future__ import annotations

import re

from ._common import Ctx, finding
from ._drugs import mentions
from .knowledge import MASS_UNITS, UNIT_UNITS, VOLUME_UNITS

RULE = "doc.dose_out_of_range.v1"
_UNITS = sorted({**MASS_UNITS, **UNIT_UNITS, **VOLUME_UNITS, "ug": 0.001, "µg": 0.001}, key=len, reverse=True)
_DOSE = re.compile(r"(\d+(?:\.\d+)?)(?:\s*[-~～至]\s*(\d+(?:\.\d+)?))?\s*(" + "|".join(map(re.escape, _UNITS))
                   + r")(?![A-Za-z])(\s*/\s*(?!次)\S)?", re.I)
_GAP = re.compile(r"[^\d。；;，,+＋\n]{0,10}")
_FREQ = [(re.compile(r"\bqd\b|每日一次|每日1次|每天1次|每天一次|1次/日|1次/天|qn|每晚", re.I), 1),
         (re.compile(r"\bbid\b|每日两次|每日2次|每天2次|每日二次|2次/日|2次/天|q12h", re.I), 2),
         (re.compile(r"\btid\b|每日三次|每日3次|每天3次|3次/日|3次/天|q8h", re.I), 3),
         (re.compile(r"\bqid\b|每日四次|每日4次|每天4次|4次/日|4次/天|q6h", re.I), 4),
         (re.compile(r"q4h", re.I), 6)]
# a weight-based pump rate (0.1μg/kg/min, 2mg/kg/h, 18U/(kg·h)) checked against data/knowledge/infusion_rates.tsv
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(μg|µg|ug|mcg|mg|U|IU|单位)\s*/\s*[（(]?\s*kg\s*[·/•.]?\s*(min|分钟|分|h|小时)[)）]?", re.I)
_RATE_MASS = {"μg": 1.0, "µg": 1.0, "ug": 1.0, "mcg": 1.0, "mg": 1000.0, "u": 1.0, "iu": 1.0, "单位": 1.0}
# whole dosage forms taken at once (50片): beyond any oral single dose of one drug; pills (丸) are counted in tens
_COUNT = re.compile(r"(\d+)\s*(片|粒|胶囊)(?![剂装])")
_MAX_COUNT = 20
# a quantity dispensed, not a dose (出院带药：氨氯地平片 28片 5mg qd, 共24粒)
_SUPPLY = re.compile(r"带药|处方|开具|开药|取药|配药|发药|购买|共计?|总量|余药|剩余|\d\s*盒")
_PREP = re.compile(r"^\s*(\+|＋|加入|加|溶于|配|入)|泵入|微泵|持续泵|维持")


def _unit_kind(u: str):
    for table in (MASS_UNITS, UNIT_UNITS, VOLUME_UNITS):
        for k, f in table.items():
            if k.lower() == u.lower():
                return table, f
    return (MASS_UNITS, 0.001) if u.lower() in ("ug", "µg") else (None, None)


def _to_table_unit(v: float, unit: str, table_unit: str):
    kind, f = _unit_kind(unit)
    tkind, tf = _unit_kind(table_unit)
    if kind is None or kind is not tkind:
        return None
    return v * f / tf


def _freq(clause: str) -> int | None:
    for rx, n in _FREQ:
        if rx.search(clause):
            return n
    return None


def _rate_check(text: str, pos: int, generic: str, kb):
    """(start, end, why) when a weight-based pump rate right after the drug is beyond its maximum."""
    row = kb.infusion_rates.get(generic)
    rm = _RATE.match(text, pos)
    if not row or not rm:
        return None
    unit, mx = row
    tbase, tper = unit.split("/kg/")
    wmass = _RATE_MASS.get(rm.group(2).lower())
    tmass = 1.0 if tbase in ("μg", "U") else 1000.0
    if wmass is None or (tbase == "U") != (rm.group(2).lower() in ("u", "iu", "单位")):
        return None
    v = float(rm.group(1)) * wmass / tmass
    per_min = rm.group(3) in ("min", "分钟", "分")
    v = v * (60 if per_min else 1) if tper == "h" else v / (1 if per_min else 60)
    if v <= mx * 1.001:
        return None
    return rm.start(), rm.end(), f"{generic}泵入速率{rm.group(0).strip()}超过临床上限{mx:g}{unit}，疑为小数点错位或单位错误"


def detect(ctx: Ctx, kb) -> list:
    text, out = ctx.text, []
    prev_end = -1
    for s, e, written, generic in mentions(text, kb):
        d = kb.drugs.get(generic)
        adjacent, prev_end = s == prev_end, e
        if d is not None and not adjacent:
            rgap = re.match(r"(?:注射液|针)?\s*(?:以|按|予|速度|速率|剂量)?\s*[:：]?\s*", text[e:e + 12])
            rc = _rate_check(text, e + rgap.end(), generic, kb)
            if rc:
                out.append(finding(ctx.doc, "dose_out_of_range", rc[0], rc[1], rc[2] + "，请核对", RULE, 0.8,
                                   ctx.section(rc[0])))
                continue
        if d is None or adjacent or re.match(r"[\u4e00-\u9fff]", text[e:e + 1] or " ") and \
                text[e:e + 1] not in "片缓控肠胶注针粉颗口分干软滴气混贴栓乳":
            continue
        gap = _GAP.match(text, e)
        if gap:
            cm = _COUNT.match(text, gap.end())
            supply = _SUPPLY.search(text[max(0, s - 40):s]) or _SUPPLY.search(text[e:cm.start()] if cm else "") \
                or (cm and re.match(r"\s*([/／×xX*]|[^。；;，,]{0,8}(\d\s*(mg|g|μg|ug|片|粒)|每次|盒|瓶))", text[cm.end():cm.end() + 12]))
            if cm and int(cm.group(1)) > _MAX_COUNT and not supply:
                out.append(finding(ctx.doc, "dose_out_of_range", cm.start(), cm.end(),
                                   f"{written}单次{cm.group(0)}，超出任何口服单次用量，疑为剂量/单位录入错误，请核对",
                                   RULE, 0.75, ctx.section(cm.start())))
                continue
        m = _DOSE.match(text, gap.end()) if gap else None
        if not m or m.group(4):                 # no dose, or a rate/concentration (mg/kg, ng/ml)
            continue
        v = float(m.group(2) or m.group(1))
        dose = _to_table_unit(v, m.group(3), d.unit)
        if dose is None:
            continue
        cend = min([i for i in (text.find(c, m.end()) for c in "。；;\n") if i >= 0] + [len(text)])
        tail = re.split(r"[，,+＋、]", text[m.end():cend], maxsplit=1)[0]     # this drug's own order only
        child = ctx.age is not None and ctx.age < 14
        why = None
        if dose > d.max_single * 1.001:
            ratio = dose / d.max_single
            hint = ("，疑为单位错误（g/mg 或 mg/μg）" if dose / 1000 <= d.usual_max * 1.001 and ratio > 100
                    else "，疑为小数点错位/多写一个0" if dose / 10 <= d.max_single else "")
            why = f"{d.drug}单次剂量{m.group(0).strip()}超过成人单次最大量{d.max_single:g}{d.unit}{hint}"
        elif not child and dose < d.usual_min / 10 * 0.999:
            why = (f"{d.drug}单次剂量{m.group(0).strip()}远低于常用量{d.usual_min:g}–{d.usual_max:g}{d.unit}，"
                   f"疑为单位错误（mg/g 或 μg/mg）")
        else:
            n = _freq(tail[:30])
            if n and not _PREP.search(tail[:12]) and dose * n > d.max_daily * 1.001:
                why = f"{d.drug}每日剂量{dose * n:g}{d.unit}（{m.group(0).strip()}×{n}次）超过每日最大量{d.max_daily:g}{d.unit}"
        if why:
            if child:
                why += f"（儿童：{d.paediatric}）"
            out.append(finding(ctx.doc, "dose_out_of_range", m.start(), m.start() + len(m.group(0).rstrip()),
                               why + "，请核对剂量", RULE, 0.85, ctx.section(m.start())))
    seen, uniq = set(), []
    for f in out:                       # 胰岛素注射液（诺和灵R）400IU: two names, one dose
        key = (f.start, f.end)
        if key not in seen:
            seen.add(key)
            uniq.append(f)
    return uniq
