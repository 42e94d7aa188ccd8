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
# 24/8/20: a two-digit year, read as yy/m/d only right after a date label (入院日期：24/8/20)
_YY = re.compile(r"(?<![\d/.\-])(\d{2})\s*/\s*(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")
_LABEL_BEFORE = re.compile(r"(入院|出院|手术|术|死亡|记录|书写|出生|抢救开始|抢救)\s*(?:日期|时间|日)\s*[:：]?\s*(?:为|是|于)?\s*$")
# 2024年3月5日（上午）（在全麻下）行腹腔镜胆囊切除术: the date of this stay's operation
_SURGERY_AFTER = re.compile(r"^\s*(?:\d{1,2}\s*[:：]\s*\d{2}\s*)?(?:上午|下午|晚上|晚间|凌晨|中午|急诊)?\s*"
                            r"(?:在[^，,。；;]{0,12}?下)?\s*(?:行|施行|实施)[^，,。；;]{1,24}?术(?![前后中])")
_LABEL_AFTER = re.compile(r"^\s*(?:\d{1,2}\s*[:：]\s*\d{2}\s*)?(?:在[^，,。；]{0,10})?(入院|出院)")
_NAMES = {"入院": "admission", "出院": "discharge", "手术": "surgery", "术": "surgery", "死亡": "death",
          "记录": "record", "书写": "record", "出生": "birth", "抢救开始": "rescue", "抢救": "rescue"}
_CN = {"admission": "入院", "discharge": "出院", "surgery": "手术", "death": "死亡", "record": "记录", "rescue": "抢救",
       "surgery_implied": "手术"}
_POD_DATED = re.compile(r"^\s*[（(]\s*$")
_PLAN = re.compile(r"(预约|复查|复诊|随访|拟|计划|下次|返院|出院后|门诊|届时|预计|预产期|择期|有效期|至)")
_HISTORY_SECTIONS = {"现病史", "既往史", "个人史", "婚育史", "月经史", "家族史"}
_POD = re.compile(r"(术后|入院)第\s*(\d{1,3})\s*天")
_STAY = re.compile(r"(?:共)?住院\s*(\d{1,3})\s*天")


class _D:
    __slots__ = ("start", "end", "when", "label", "valid", "floating", "timed")

    def __init__(self, start, end, when, label, valid, floating=False, timed=False):
        self.start, self.end, self.when, self.label, self.valid = start, end, when, label, valid
        self.floating = floating        # 8月20日 in a note without any year: the year is a guess
        self.timed = timed


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
        out.append(_D(m.start(), m.end(), _mk(y, int(mo), int(d), hh, mm), None, True, timed=hh is not None))
        taken.append((m.start(), m.end()))
    for m in _YY.finditer(text):
        if any(a <= m.start() < b for a, b in taken) or not _LABEL_BEFORE.search(text[max(0, m.start() - 10):m.start()]):
            continue
        out.append(_D(m.start(), m.end(), _mk(2000 + int(m.group(1)), int(m.group(2)), int(m.group(3)), None, None),
                      None, True))
        taken.append((m.start(), m.end()))
    ref_year = (ctx.time.year if ctx.time else next((x.when.year for x in out if x.when), None))
    floating = ref_year is None
    ref_year = ref_year or 2000                    # a leap year: 2月29日 stays valid
    for m in _MD.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        hh = int(m.group(3)) if m.group(3) else None
        mm = int(m.group(4)) if m.group(4) else None
        when = _mk(ref_year, int(m.group(1)), int(m.group(2)), hh, mm)
        if when and ctx.time and when > ctx.time + timedelta(days=183):
            when = _mk(ref_year - 1, int(m.group(1)), int(m.group(2)), hh, mm)
        out.append(_D(m.start(), m.end(), when, None, False, floating, timed=hh is not None))
    out.sort(key=lambda d: d.start)
    for dt in out:
        before = _LABEL_BEFORE.search(text[max(0, dt.start - 10):dt.start])
        if before:
            dt.label = _NAMES[before.group(1)]
            continue
        after = _LABEL_AFTER.match(text[dt.end:dt.end + 16])
        surgery = None if after else _SURGERY_AFTER.match(text[dt.end:dt.end + 48])
        if (after or surgery) and ctx.section(dt.start) not in _HISTORY_SECTIONS:
            cs, ce = short_clause(text, dt.start)
            if not re.search(r"(曾|外院|既往|前|因)", text[cs:dt.start]) and not _PLAN.search(text[cs:dt.start]):
                dt.label = _NAMES[after.group(1)] if after else "surgery_implied"
    return out


def _dated_pod(m, ds, text):
    """The date written in brackets right after 术后第N天 (术后第1天（3月4日）), if any."""
    return next((d for d in ds if d.when and 0 <= d.start - m.end() <= 2 and _POD_DATED.match(text[m.end():d.start])), None)


def _earlier(a: _D, b: _D) -> bool:
    """a's day is before b's day (dates without a year: only when less than four months apart, else a new year)."""
    if a.floating and b.floating and (b.when.date() - a.when.date()).days > 120:
        return False
    return a.when.date() < b.when.date()


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

    if adm and sur and _earlier(sur, adm):
        flag(sur, f"手术日期{doc_text(ctx.doc)[sur.start:sur.end]}早于入院日期{doc_text(ctx.doc)[adm.start:adm.end]}，时间顺序错误")
    for lab in ("discharge", "death", "record"):
        d = first.get(lab)
        if adm and d and _earlier(d, adm):
            flag(d, f"{_CN[lab]}日期{doc_text(ctx.doc)[d.start:d.end]}早于入院日期{doc_text(ctx.doc)[adm.start:adm.end]}，时间顺序错误")
    if sur and dis and _earlier(dis, sur) and not (adm and _earlier(dis, adm)):
        flag(dis, f"出院日期{doc_text(ctx.doc)[dis.start:dis.end]}早于手术日期{doc_text(ctx.doc)[sur.start:sur.end]}，时间顺序错误")
    # "2024年3月5日行…术" names an operation date without a 手术日期 label: it may be an earlier stay's, so it is
    # used to check day counts (术后第N天) and death, not the admission/discharge order
    sur_any = sur or first.get("surgery_implied")
    death = first.get("death")
    for lab in ("rescue", "surgery"):               # nothing is done to the patient after death
        d = first.get(lab) if lab != "surgery" else sur_any
        if death and d and (d.when > death.when if d.timed and death.timed else _earlier(death, d)):
            flag(d, f"{_CN[lab]}时间{doc_text(ctx.doc)[d.start:d.end]}晚于死亡时间{doc_text(ctx.doc)[death.start:death.end]}，时间顺序错误")
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
            base = sur_any if m.group(1) == "术后" else adm
            if not base or _dated_pod(m, ds, text):
                continue
            real = (ref - day(base)).days
            n = int(m.group(2))
            if real < 0 and n >= 1 and not any(f.start == base.start for f in out):
                flag(base, f"本记录（{ref:%Y-%m-%d}）已写{m.group(1)}第{n}天，但{_CN[base.label]}日期"
                           f"{doc_text(ctx.doc)[base.start:base.end]}晚于记录日期，时间顺序错误", 0.8)
            elif real >= 0 and abs(n - real) > 1 and not (base.label == "surgery_implied" and real > 30):
                out.append(finding(ctx.doc, "time_logic", m.start(), m.end(),
                                   f"记录为{m.group(1)}第{n}天，但按{_CN[base.label]}日期计算应为第{real}天，天数不符",
                                   RULE, 0.75, ctx.section(m.start())))
    for m in _POD.finditer(text):                   # 术后第1天（2024年3月4日） against the operation date
        base = sur_any if m.group(1) == "术后" else adm
        d = _dated_pod(m, ds, text)
        if not base or not d or d is base or any(f.start == d.start for f in out):
            continue
        n, real = int(m.group(2)), (d.when.date() - base.when.date()).days
        if (_earlier(d, base) and n >= 1) or (not _earlier(d, base) and abs(n - real) > 1 and abs(real) < 120):
            flag(d, f"{m.group()}写为{doc_text(ctx.doc)[d.start:d.end]}，但{_CN[base.label]}日期为"
                    f"{doc_text(ctx.doc)[base.start:base.end]}，日期与天数不符", 0.8)
    return out
