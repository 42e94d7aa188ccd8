"""Shared by implausible_vital and implausible_lab: find "name value unit" and test the value against the
physiologically possible range of data/knowledge/plausible_ranges.tsv (not the normal reference range)."""
from __future__ import annotations

import re

from nlp.regex_scan import lead_class, lead_finditer

from ._common import Ctx, finding

_NUM = r"(\d+(?:\.\d+)?)"
_SEP = r"\s*(?:[:：=]|为|是|约|升至|降至|波动于|测)?\s*"
_NUM_RX = re.compile(_NUM)
# a reference range printed between the value and its unit: K+ 3.5(3.5-5.5)mmol/L, Hb 96（115-150）g/L
_REF_RANGE = re.compile(r"\s*[↑↓]?\s*[（(]\s*\d+(?:\.\d+)?\s*[-~～—–]\s*\d+(?:\.\d+)?\s*[)）]\s*[↑↓]?")
_BP_RX = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_VITAL_NAMES = re.compile(r"(?<![A-Za-z])(T|P|R|BP|HR|SpO2|体温|脉搏|呼吸|血压|心率)(?![A-Za-z])\s*[:：]?\s*\d", re.I)


def norm_unit(u: str) -> str:
    u = u.lower().replace("μ", "u").replace("µ", "u").replace("⁹", "9").replace("¹²", "12").replace("°c", "℃")
    u = re.sub(r"[\s×*^]", "", u)
    return re.sub(r"^x(?=\d)", "", u)


def _compiled(kb):
    cached = kb.cache.get("measures")
    if cached is not None:
        return cached
    out = []
    for r in kb.ranges:
        latin = [n for n in r.names if re.fullmatch(r"[A-Za-z0-9+\-]+", n)]
        cjk = [n for n in r.names if n not in latin]
        units = {norm_unit(r.unit): 1.0} if r.unit != "-" else {}
        units.update({norm_unit(k): v for k, v in r.alt_units.items()})
        if r.key == "temperature":
            units.update({"℃": 1.0, "度": 1.0, "°": 1.0})
        pats = []
        if latin:
            pats.append(re.compile(r"(?<![A-Za-z])(?:" + "|".join(sorted(map(re.escape, latin), key=len, reverse=True))
                                   + r")(?![A-Za-z])" + _SEP, re.I))
        if cjk:
            pats.append(re.compile("(?:" + "|".join(sorted(map(re.escape, cjk), key=len, reverse=True)) + ")" + _SEP))
        out.append((r, [(rx, lead_class(rx)) for rx in pats], dict(sorted(units.items(), key=lambda kv: -len(kv[0])))))
    kb.cache["measures"] = out
    return out


def _unit_at(text: str, pos: int, units: dict):
    """(matched normalised unit or None, end offset, known?) of the unit written right after a number."""
    raw = text[pos:pos + 12]
    if not raw or not re.match(r"\s?[A-Za-zμµ℃°%×*/度次公斤厘米kKmM\d^⁹¹²]", raw):
        return None, pos, True
    for k in range(min(12, len(raw)), 0, -1):
        piece = raw[:k]
        if norm_unit(piece) in units and not re.match(r"[A-Za-z]", raw[k:k + 1] or " "):
            return norm_unit(piece), pos + k, True
    if re.match(r"\s", raw) or re.match(r"[，,。；;、)）]", raw):
        return None, pos, True
    return None, pos, False


def _plausible(v: float, r, factor: float) -> bool:
    x = v * factor
    return (r.allow_zero and v == 0) or r.low <= x <= r.high


def detect(ctx: Ctx, kb, kind: str) -> list:
    text = ctx.text
    comp = _compiled(kb)
    out, seen = [], set()
    vital_names = _VITAL_NAMES
    for r, pats, units in comp:
        if r.kind != kind:
            continue
        for rx, lead in pats:
            for m in lead_finditer(rx, lead, text):
                name = m.group(0).rstrip(" :：=为是约升至降至波动于测")
                s = m.end()
                if r.key.startswith("bp_"):
                    bm = _BP_RX.match(text, s)
                    if not bm:
                        continue
                    v = float(bm.group(1) if r.key == "bp_systolic" else bm.group(2))
                    unit, uend, known = _unit_at(text, bm.end(), units)
                    vstart, vend = s, (uend if unit else bm.end())
                    other = float(bm.group(2) if r.key == "bp_systolic" else bm.group(1))
                else:
                    nm = _NUM_RX.match(text, s)
                    if not nm:
                        continue
                    v = float(nm.group(1))
                    unit, uend, known = _unit_at(text, nm.end(), units)
                    vstart, vend = s, (uend if unit else nm.end())
                    rm = _REF_RANGE.match(text, nm.end()) if unit is None else None
                    if rm:
                        unit2, _, known2 = _unit_at(text, rm.end(), units)
                        if unit2 is not None:
                            unit, known, vend = unit2, True, nm.end()
                    other = None
                if vstart and text[vstart - 1:vstart].isdigit():
                    continue
                if not known:
                    continue
                if unit is None and re.match(r"[\u4e00-\u9fff]", text[vend:vend + 1]):
                    continue            # 红细胞约15分钟, 血小板1袋: the number counts something else
                if kind == "lab" and re.search(r"(悬浮|洗涤|浓缩|去白|辐照|单采|输注?)$", text[max(0, m.start() - 3):m.start()]):
                    continue            # 输注悬浮红细胞 2U: a blood product, not a lab result
                latin_short = re.fullmatch(r"[A-Za-z+\-]{1,2}", name) is not None
                single_cjk = len(name) == 1 and "\u4e00" <= name <= "\u9fff"
                if unit is None and (single_cjk or (latin_short and kind == "lab" and r.key not in ("ph", "inr"))):
                    continue
                if latin_short and len(name) == 1 and not re.search(r"[\s:：=]", m.group(0)) and unit is None:
                    continue            # t1/t2 (MRI), p16, T3 (vertebra): a letter glued to a number is no vital sign
                if kind == "lab" and re.search(r"(前|微量|尿|糖化|餐后|脑脊液|胸水|腹水)$", text[max(0, m.start() - 3):m.start()]):
                    continue            # 前白蛋白, 尿微量白蛋白, 尿钠: another analyte with another range
                if kind == "vital" and latin_short and re.match(r"[\u4e00-\u9fffA-Za-z]", text[m.start() - 1:m.start()] or " "):
                    continue            # 肌钙蛋白T 46.61: a letter that ends another name
                if unit is None and latin_short and kind == "vital":
                    near = text[max(0, m.start() - 40):m.end() + 40]
                    if len(vital_names.findall(near)) < 2:
                        continue
                if single_cjk and re.match(r"[\u4e00-\u9fa5]", text[m.start() - 1:m.start()] or " ") \
                        and text[m.start() - 1] not in "血清":
                    continue
                if unit is not None:
                    ok = _plausible(v, r, units[unit])
                else:
                    ok = any(_plausible(v, r, f) for f in ({**units, "": 1.0}).values())
                if r.key == "bp_systolic" and ok and other is not None and v <= other and v > 0:
                    ok = False
                if ok or (vstart, vend) in seen:
                    continue
                seen.add((vstart, vend))
                shown = text[vstart:vend]
                out.append(finding(ctx.doc, "implausible_" + kind, vstart, vend,
                                   f"{r.label} {shown} 超出生理可能范围（{r.low:g}–{r.high:g} {r.unit}），"
                                   f"疑为小数点错位或录入错误", f"doc.implausible_{kind}.{r.key}.v1",
                                   0.9, ctx.section(vstart)))
    return out
