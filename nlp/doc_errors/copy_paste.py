"""copy_paste: a note (near-)identical to an earlier note of the same encounter whose day counts
(术后第N天、入院第N天、POD N) or dates were not updated although days have passed."""
from __future__ import annotations

import re

from nlp.normalize import normalize_text

from ._common import Ctx, finding, parse_iso

RULE = "doc.copy_paste.v1"
_DAYCOUNT = re.compile(r"(术后|入院|住院|化疗后|化疗|放疗|治疗|用药|抗感染|机械通气|上机|产后|转入)第\s*(\d{1,3})\s*(天|日)"
                       r"|POD\s*(\d{1,3})", re.I)
_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?|\d{1,2}月\d{1,2}日")
_TODAY = re.compile(r"(今日|今天|今|当日|记录时间|记录日期|日期)\s*[：:为是]?\s*$")
_PUNCT = re.compile(r"[\s，,。；;：:、]")
SIMILAR = 0.85          # shingle similarity above which a note counts as copied
COPY_ONLY_MIN_CHARS = 120


def _shingles(text: str, k: int = 3) -> set:
    t = _PUNCT.sub("", text)
    return {t[i:i + k] for i in range(max(1, len(t) - k + 1))}


def similarity(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / max(1, len(sa | sb))


def detect(ctx: Ctx, kb) -> list:
    if not ctx.history:
        return []
    text, out = normalize_text(ctx.text), []      # both sides normalised (length-preserving: same offsets)
    now = ctx.time
    mine = list(_DAYCOUNT.finditer(text))
    for prev in reversed(ctx.history):
        ptext = normalize_text(getattr(prev, "text", "") or "")
        if len(_PUNCT.sub("", text)) < 15 or similarity(text, ptext) < SIMILAR:
            continue
        then = parse_iso(getattr(prev, "time", None))
        days = (now.date() - then.date()).days if now and then else None
        if days is not None and days < 1:
            continue                          # same day: a correction or a duplicate submission, not a stale copy
        when = f"{days}天前" if days is not None else "更早"
        theirs = {(m.group(1), m.group(2) or m.group(4)) for m in _DAYCOUNT.finditer(ptext)}
        stale = [m for m in mine if (m.group(1), m.group(2) or m.group(4)) in theirs]
        for m in stale:
            out.append(finding(ctx.doc, "copy_paste", m.start(), m.end(),
                               f"本记录与{when}的记录几乎相同，且“{m.group()}”未更新，疑为复制粘贴",
                               RULE, 0.9 if days else 0.7, ctx.section(m.start())))
        if not stale:
            pdates = {_PUNCT.sub("", d.group()) for d in _DATE.finditer(ptext)}
            for d in _DATE.finditer(text):
                if _PUNCT.sub("", d.group()) in pdates and days and _TODAY.search(text[max(0, d.start() - 8):d.start()]):
                    out.append(finding(ctx.doc, "copy_paste", d.start(), d.end(),
                                       f"本记录与{when}的记录几乎相同，日期“{d.group()}”未更新，疑为复制粘贴",
                                       RULE, 0.6, ctx.section(d.start())))
                    break
        if not out and days and len(text) >= COPY_ONLY_MIN_CHARS and similarity(text, ptext) >= 0.95:
            end = next((i for i, ch in enumerate(text) if ch in "。；;\n"), len(text))
            out.append(finding(ctx.doc, "copy_paste", 0, max(1, end),
                               f"本记录与{when}的记录内容几乎完全相同，疑为复制粘贴", RULE, 0.6, ctx.section(0)))
        break
    return out
