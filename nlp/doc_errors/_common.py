"""Shared helpers of the documentation-error detectors: text access, sections, patient facts, findings.

Every detector reads a spaCy Doc that follows ``nlp/doc.py`` but must work when only some steps ran:
``doc._.norm`` may be unset, ``doc.spans["sections"]`` may be missing, ``doc._.note`` may be None.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Iterator

from nlp.doc import doc_text
from nlp.types import Finding

SEVERITY = "IV"

# Section headers we recognise ourselves when the sections step did not run (header then ：or :).
_HEADERS = (
    "术前诊断", "术后诊断", "手术名称", "拟行手术", "拟施手术", "手术方式", "手术经过", "手术日期", "手术时间",
    "入院诊断", "出院诊断", "初步诊断", "修正诊断", "门诊诊断", "诊断依据", "鉴别诊断", "诊断",
    "主诉", "现病史", "既往史", "个人史", "婚育史", "月经史", "家族史", "过敏史", "药物过敏史",
    "体格检查", "查体", "专科检查", "专科情况", "辅助检查", "诊疗经过", "治疗经过", "出院医嘱", "医嘱",
    "入院情况", "出院情况", "入院日期", "出院日期", "入院时间", "出院时间", "病程记录", "处理", "治疗计划",
)
_HEADER_RE = re.compile(r"(?:(?<=^)|(?<=[\s。；;，,\n]))(" + "|".join(sorted(_HEADERS, key=len, reverse=True))
                        + r")\s*[：:]")

_DIAG_HEADERS = {"术前诊断", "术后诊断", "入院诊断", "出院诊断", "初步诊断", "修正诊断", "门诊诊断", "诊断"}
_PROC_HEADERS = {"手术名称", "拟行手术", "拟施手术", "手术方式"}

FAMILY = re.compile(r"(父亲|母亲|父母|其父|其母|妻子|配偶|丈夫|爱人|儿子|女儿|子女|兄弟|姐妹|哥哥|姐姐|弟弟|妹妹|"
                    r"外婆|外公|奶奶|爷爷|祖父|祖母|家属|家族|亲属|同胞)")
CLAUSE_END = "。；;！!？?\n"


@dataclass(frozen=True)
class Section:
    label: str
    start: int
    end: int


def text_of(doc) -> str:
    """The normalised text when the normaliser ran (same length as doc.text), else the original."""
    norm = getattr(doc._, "norm", None) if doc.has_extension("norm") else None
    if isinstance(norm, str) and len(norm) == len(doc_text(doc)):
        return norm
    return doc_text(doc)


def note_of(doc):
    return doc._.note if doc.has_extension("note") else None


def history_of(doc) -> list:
    h = doc._.history if doc.has_extension("history") else None
    return list(h or [])


def sections(doc, text: str) -> list[Section]:
    """Sections from the pipeline when present, else a light header detection of our own."""
    spans = doc.spans.get("sections") if "sections" in doc.spans else None
    if spans is not None and len(spans):
        return [Section(s.label_, s.start_char, s.end_char) for s in spans]
    found = [(m.start(1), m.group(1)) for m in _HEADER_RE.finditer(text)]
    out = []
    for i, (s, label) in enumerate(found):
        e = found[i + 1][0] if i + 1 < len(found) else len(text)
        out.append(Section(label, s, e))
    return out


def section_at(secs: list[Section], pos: int) -> str | None:
    best = None
    for s in secs:
        if s.start <= pos < s.end and (best is None or s.start >= best.start):
            best = s
    return best.label if best else None


def is_diag_section(label: str | None) -> bool:
    return bool(label) and (label in _DIAG_HEADERS or label.endswith("诊断"))


def is_proc_section(label: str | None) -> bool:
    return bool(label) and label in _PROC_HEADERS


_SEX_TEXT = (re.compile(r"性\s*别\s*[：:]?\s*(男|女)"),
             re.compile(r"患者[，,、\s]*(?:[\u4e00-\u9fa5]{1,3}[，,、\s]+)?(男|女)(?:性)?[，,、\s]*\d{1,3}\s*岁"),
             re.compile(r"(男|女)(?:性)?[，,、\s]*\d{1,3}\s*岁"))
_AGE_TEXT = (re.compile(r"年\s*龄\s*[：:]?\s*(\d{1,3})\s*岁"),
             re.compile(r"(?:男|女)(?:性)?[，,、\s]*(\d{1,3})\s*岁"),
             re.compile(r"患者[，,、\s]*(\d{1,3})\s*岁"))
_AGE_MONTH = re.compile(r"(?:年\s*龄\s*[：:]?|患儿[，,、\s]*(?:男|女)?[，,、\s]*)\s*(\d{1,2})\s*(个月|月龄|天|日龄)")


def patient_sex(doc, text: str) -> str | None:
    note = note_of(doc)
    sex = getattr(getattr(note, "patient", None), "sex", None)
    if sex in ("男", "女"):
        return sex
    for rx in _SEX_TEXT:
        m = rx.search(text)
        if m:
            return m.group(1)
    return None


def patient_age(doc, text: str) -> float | None:
    note = note_of(doc)
    age = getattr(getattr(note, "patient", None), "age", None)
    if isinstance(age, (int, float)) and not isinstance(age, bool):
        return float(age)
    m = _AGE_MONTH.search(text)
    if m:
        n = int(m.group(1))
        return n / 12 if "月" in m.group(2) else n / 365
    for rx in _AGE_TEXT:
        m = rx.search(text)
        if m:
            return float(m.group(1))
    return None


def note_time(doc) -> datetime | None:
    note = note_of(doc)
    t = getattr(note, "time", None)
    return parse_iso(t)


def parse_iso(t) -> datetime | None:
    if not t:
        return None
    try:
        d = datetime.fromisoformat(str(t).replace("Z", "+00:00"))
    except ValueError:
        return None
    return d.replace(tzinfo=None)


MAX_CLAUSE_REACH = 512      # a clause reaches at most this far either side of the mention (run-on notes)


@lru_cache(maxsize=32)
def _stop_positions(text: str, stops: str) -> list[int]:
    """Offsets of the stop characters of `text`, ascending; computed once per (document, stop set)."""
    return [m.start() for m in re.finditer("[" + re.escape(stops) + "]", text)]


def clause_bounds(text: str, pos: int, stops: str = CLAUSE_END) -> tuple[int, int]:
    """The sentence around pos (delimited by 。；！？ and newlines), at most MAX_CLAUSE_REACH characters either
    side: a bisect into the stop offsets computed once per document, so a scan stays linear in run-on text."""
    at = _stop_positions(text, stops)
    k = bisect.bisect_left(at, pos)                 # the first stop at or after pos ends the clause
    s = at[k - 1] + 1 if k else 0
    e = at[k] if k < len(at) else len(text)
    return max(s, pos - MAX_CLAUSE_REACH), max(pos, min(e, pos + MAX_CLAUSE_REACH))


def short_clause(text: str, pos: int) -> tuple[int, int]:
    """The comma clause around pos."""
    return clause_bounds(text, pos, CLAUSE_END + "，,")


def sentences(text: str) -> Iterator[tuple[int, int]]:
    s = 0
    for i, ch in enumerate(text):
        if ch in CLAUSE_END:
            if i > s:
                yield s, i
            s = i + 1
    if s < len(text):
        yield s, len(text)


def finding(doc, category: str, start: int, end: int, explanation: str, rule: str, confidence: float,
            section: str | None = None) -> Finding:
    """A doc_error finding whose evidence is the ORIGINAL text at [start, end)."""
    return Finding(kind="doc_error", category=category, severity=SEVERITY, start=start, end=end,
                   evidence=doc_text(doc)[start:end], confidence=round(confidence, 2), rule=rule,
                   explanation=explanation, section=section)


@dataclass
class Ctx:
    """What every detector needs of one note, computed once."""
    doc: object
    text: str
    secs: list
    sex: str | None
    age: float | None
    time: datetime | None
    history: list

    @classmethod
    def of(cls, doc) -> "Ctx":
        text = text_of(doc)
        return cls(doc, text, sections(doc, text), patient_sex(doc, text), patient_age(doc, text),
                   note_time(doc), history_of(doc))

    def section(self, pos: int) -> str | None:
        return section_at(self.secs, pos)
