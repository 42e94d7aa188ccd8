"""time_logic: dates out of order (admission ≤ surgery ≤ discharge), impossible dates, future dates relative
to the note time, and stated durations that disagree with the dates (住院N天, 术后第N天)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from nlp.doc import doc_text

from ._common import Ctx, finding, short_clause

RULE = "doc.time_logic.v1"
_FULL = re.compile(r"(?<!\d)(\d{4})\s*(?:[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})(?!\d)|年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?)"
                   r"(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})\s*分?)?")
_MD = re.compile(r"(?<![\d年/\-.])(\d{1,2})\s*月\s*(\d{1,2})\s*日(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2}))?")
_LABEL_BEFORE = re.compile(r"(入院|出院|手术|术|死亡|记录|书写|出生)\s*(?:日期|时间|日)\s*[:：]?\s*(?:为|是|于)?\s*$")
_LABEL_AFTER = re.compile(r"^\s*(?:\d{1,2}\s*[:：]\s*\d{2}\s*)?(?:在[^，,。；]{0,10})?(入院|出院)")
_NAMES = {"入院": "admission", "出院": "discharge", "手术": "surgery", "术": "surgery", "死亡": "death",
          "记录": "record", "书写": "record", "出生": "birth"}
_CN = {"admission": "入院", "discharge": "出院", "surgery": "手术", "death": "死亡", "record": "记录"}
_PLAN = re.compile(r"(预约|复查|复诊|随访|拟|计划|下次|返院|出院后|门诊|届时|预计|预产期|择期|有效期|至)")
_HISTORY_SECTIONS = {"现病史", "既往史", "个人史", "婚育史", "月经史", "家族史"}
_POD = re.compile(r"(术后|入院)第\s*(\d{1,3})\s*天")
_STAY = re.compile(r"(?:共)?住院\s*(\d{1,3})\s*天")


class _D:
    __slots__ = ("start", "end", "when", "label", "valid")

    def __init__(self, start, end, when, label, valid):
        self.start, self.end, self.when, self.label, self.valid = start, end, when, label, valid


def _mk(y, mo, d, hh, mm):
    try:
        if hh is not None and not (0 <= hh <= 24 and 0 <= mm < 60):
            return None
        return datetime(y, mo, d, min(hh or 0, 23), mm or 0)
    except ValueError:
        return None


def _dates(ctx: Ctx) -> list[_D]:
    text, out = ctx.text, []
    taken = []
    for m in _FULL.finditer(text):
        y = int(m.group(1))
        mo, d = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        if mo is None or not 1900 <= y <= 2100:
            continue
        hh = int(m.group(6)) if m.group(6) else None
        mm = int(m.group(7)) if m.group(7) else None
        out.append(_D(m.start(), m.end(), _mk(y, int(mo), int(d), hh, mm), None, True))
        taken.append((m.start(), m.end()))
    ref_year = (ctx.time.year if ctx.time else next((x.when.year for x in out if x.when), None))
    if ref_year:
        for m in _MD.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            hh = int(m.group(3)) if m.group(3) else None
            mm = int(m.group(4)) if m.group(4) else None
            when = _mk(ref_year, int(m.group(1)), int(m.group(2)), hh, mm)
            if when and ctx.time and when > ctx.time + timedelta(days=183):
                when = _mk(ref_year - 1, int(m.group(1)), int(m.group(2)), hh, mm)
            out.append(_D(m.start(), m.end(), when, None, False))
    for dt in out:
        before = _LABEL_BEFORE.search(text[max(0, dt.start - 10):dt.start])
        if before:
            dt.label = _NAMES[before.group(1)]
            continue
        after = _LABEL_AFTER.match(text[dt.end:dt.end + 16])
        if after and ctx.section(dt.start) not in _HISTORY_SECTIONS:
            cs, ce = short_clause(text, dt.start)
            if not re.search(r"(曾|外院|既往|前|因)", text[cs:dt.start]):
                dt.label = _NAMES[after.group(1)]
    return out


def detect(ctx: Ctx, kb) -> list:
    text, out = ctx.text, []
    ds = _dates(ctx)

    def flag(dt, why, conf=0.85, end=None):
        out.append(finding(ctx.doc, "time_logic", dt.start, end or dt.end, why, RULE, conf, ctx.section(dt.start)))

    bad = set()
    for dt in ds:
        if dt.when is None:
            bad.add(id(dt))
            flag(dt, f"日期/时间“{doc_text(ctx.doc)[dt.start:dt.end]}”不存在（月、日或时刻超出范围），请核对", 0.9)
    first = {}
    for dt in ds:
        if dt.label and dt.when and dt.label not in first:
            first[dt.label] = dt
    adm, sur, dis = first.get("admission"), first.get("surgery"), first.get("discharge")

    def day(dt):
        return dt.when.date()

    if adm and sur and day(sur) < day(adm):
        flag(sur, f"手术日期{doc_text(ctx.doc)[sur.start:sur.end]}早于入院日期{doc_text(ctx.doc)[adm.start:adm.end]}，时间顺序错误")
    for lab in ("discharge", "death", "record"):
        d = first.get(lab)
        if adm and d and day(d) < day(adm):
            flag(d, f"{_CN[lab]}日期{doc_text(ctx.doc)[d.start:d.end]}早于入院日期{doc_text(ctx.doc)[adm.start:adm.end]}，时间顺序错误")
    if sur and dis and day(dis) < day(sur) and not (adm and day(dis) < day(adm)):
        flag(dis, f"出院日期{doc_text(ctx.doc)[dis.start:dis.end]}早于手术日期{doc_text(ctx.doc)[sur.start:sur.end]}，时间顺序错误")
    if ctx.time:
        for dt in ds:
            if dt.when is None or id(dt) in bad or dt.label == "birth":
                continue
            cs, ce = short_clause(text, dt.start)
            if dt.when.date() > (ctx.time + timedelta(days=1)).date() and not _PLAN.search(text[cs:ce]) \
                    and not any(f.start == dt.start for f in out):
                flag(dt, f"日期{doc_text(ctx.doc)[dt.start:dt.end]}晚于本记录时间{ctx.time:%Y-%m-%d}，记录了未来的时间", 0.8)
    if adm and dis and day(dis) >= day(adm):
        real = (day(dis) - day(adm)).days
        for m in _STAY.finditer(text):
            n = int(m.group(1))
            if abs(n - real) > 1:
                out.append(finding(ctx.doc, "time_logic", m.start(), m.end(),
                                   f"记录住院{n}天，但入院至出院日期相差{real}天，住院天数不符", RULE, 0.8,
                                   ctx.section(m.start())))
    ref = ctx.time.date() if ctx.time else None
    rec = first.get("record")
    if rec:
        ref = day(rec)
    if ref:
        for m in _POD.finditer(text):
            base = sur if m.group(1) == "术后" else adm
            if not base:
                continue
            real = (ref - day(base)).days
            n = int(m.group(2))
            if real >= 0 and abs(n - real) > 1:
                out.append(finding(ctx.doc, "time_logic", m.start(), m.end(),
                                   f"记录为{m.group(1)}第{n}天，但按{_CN[base.label]}日期计算应为第{real}天，天数不符",
                                   RULE, 0.75, ctx.section(m.start())))
    return out
