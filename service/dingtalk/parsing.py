"""Read a free-text report ("3床王某某今晨如厕时跌倒，左腕擦伤，已处理") into structured facts:
category and severity (the NLP scanner first, then the keyword table), bed, ward, time, patient, actions."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from service.dingtalk.keywords import KeywordTable

REQUIRED = ("category", "occurred_at", "location")

_CN_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9, "十": 10}

BED_RE = re.compile(r"(?<![\d.])(加\s*)?(\d{1,3})\s*号?床(?!旁|头|尾|边|单|栏|档)")
WARD_SUFFIX_RE = re.compile(r"[一二三四五六七八九十\d]{1,3}\s*(?:病区|区)")
CLOCK_RE = re.compile(r"(?<![\d.])(\d{1,2})\s*(?:[:：](\d{2})|[点时](?!间)(?:\s*(\d{1,2})\s*分?|(半))?)")
CN_CLOCK_RE = re.compile(r"([一二两三四五六七八九十]{1,3})点(半)?")
DATE_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?|(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
DAY_WORDS = (("前天", -2), ("前日", -2), ("昨天", -1), ("昨日", -1), ("昨晚", -1), ("昨夜", -1), ("昨晨", -1),
             ("昨早", -1), ("今天", 0), ("今日", 0), ("今晨", 0), ("今早", 0), ("今晚", 0), ("今夜", 0),
             ("今", 0))
# part of the day: (words, default hour when no clock time, shift afternoon clock hours by 12?)
PARTS = ((("凌晨",), 3, False), (("晨", "早上", "早晨", "清晨", "早"), 6, False), (("上午",), 9, False),
         (("中午", "午间"), 12, False), (("下午", "午后"), 15, True), (("傍晚",), 18, True),
         (("晚上", "晚间", "晚", "夜间", "夜里", "夜"), 21, True))
NOW_WORDS = ("刚才", "刚刚", "现在", "当前")
NIGHT_PARTS = ("晚", "夜间", "夜里", "夜")
SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
               "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
               "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
               "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项"
               "连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛"
               "仲虞敖巩明佘池查麻苑迟邝")
NAME_BREAK = set("今昨前凌早晨上下中晚夜于在因突自入术住发出患家护医今昨刚病已被行时的床，,。；; ")
PATIENT_CUE_RE = re.compile(r"(?:患者|病人|病员|患儿|产妇|老人|床)\s*(?=([\u4e00-\u9fa5]{2,4}))")
NOT_NAMES = {"高热", "高烧", "高龄", "高危", "高血", "黄疸", "常规", "安静", "安全", "明显", "方可", "全身", "全麻",
             "平稳", "平卧", "白天", "夏季", "左侧", "左手", "左腕", "左下", "左上", "右侧", "右手", "右腕", "右下",
             "右上", "双侧", "双下", "单人", "于是", "和家", "向家", "连续", "钱包", "包括", "时间", "任何"}
PSEUDONYM_RE = re.compile(r"([\u4e00-\u9fa5])(某某|某|XX|xx|××|\*\*?)")
ACTION_WORDS = ("已", "立即", "予以", "予", "给予", "通知", "报告", "重新", "停止", "停药", "拔针", "更换", "急查",
                "复查", "会诊", "处理", "松解", "抢救", "送检", "上报", "寻回", "观察", "心肺复苏")
REFERRAL_WORDS = ("请", "通知", "上报", "报", "联系", "转", "转入", "送", "邀")
ANON_RE = re.compile(r"[（(【\[]?\s*匿名(?:上报|报告)?\s*[）)】\]]?[:：，,\s]*")


@dataclass
class ParsedReport:
    """What one message (or a draft plus its follow-ups) says about an incident."""
    text: str = ""
    category: str | None = None
    category_source: str | None = None          # nlp | keywords | form
    severity: str | None = None
    severity_source: str | None = None          # hint | nlp | default | form
    bed: str | None = None
    ward: str | None = None                     # as written: 骨科二病区
    department: str | None = None               # the department part: 骨科
    occurred_at: datetime | None = None         # UTC
    time_text: str | None = None
    time_approx: bool = False
    patient: str | None = None                  # as written (never echoed unmasked)
    actions: str | None = None
    anonymous: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def missing(self, *, reporter_department: str | None = None) -> list[str]:
        out = []
        if not self.category:
            out.append("category")
        if self.occurred_at is None:
            out.append("occurred_at")
        if not (self.bed or self.ward or self.department or reporter_department):
            out.append("location")
        return out

    def fill_from(self, other: "ParsedReport") -> list[str]:
        """Take from a follow-up what this report lacks; returns the names of the fields filled."""
        filled = []
        for name in ("category", "bed", "ward", "department", "occurred_at", "patient", "actions"):
            if getattr(self, name) in (None, "") and getattr(other, name) not in (None, ""):
                setattr(self, name, getattr(other, name))
                filled.append(name)
        if "category" in filled:
            self.category_source = other.category_source
            if self.severity_source in (None, "default") or other.severity_source == "hint":
                self.severity, self.severity_source = other.severity, other.severity_source
        elif other.severity_source == "hint" and self.severity_source != "hint":
            self.severity, self.severity_source = other.severity, "hint"
        if "occurred_at" in filled:
            self.time_text, self.time_approx = other.time_text, other.time_approx
        self.anonymous = self.anonymous or other.anonymous
        self.text = f"{self.text}\n{other.text}".strip()
        return filled

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ParsedReport":
        d = dict(d)
        if d.get("occurred_at"):
            d["occurred_at"] = datetime.fromisoformat(d["occurred_at"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# ---- pieces -------------------------------------------------------------------------------------------------

def strip_anonymous(text: str) -> tuple[str, bool]:
    """Remove the word 匿名 (and brackets around it); True when the reporter asked for anonymity."""
    if "匿名" not in text:
        return text, False
    return ANON_RE.sub("", text, count=1).strip(), True


def extract_bed(text: str) -> str | None:
    m = BED_RE.search(text)
    if not m:
        return None
    return ("加" if m.group(1) else "") + m.group(2)


def extract_ward(text: str, table: KeywordTable, extra_departments: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """(ward as written, department) — "骨科二病区" → ("骨科二病区", "骨科"); "3病区" → ("3病区", None)."""
    best = None
    for dep in extra_departments:
        p = text.find(dep) if dep else -1
        if p >= 0 and (best is None or p < best[0] or (p == best[0] and len(dep) > len(best[1]))):
            best = (p, dep)
    for m in table.department_re.finditer(text):
        if text[max(0, m.start() - 2):m.start()].endswith(REFERRAL_WORDS):
            continue                  # "请神经外科会诊", "上报院感科": another department, not the ward
        if best is None or m.start() < best[0]:
            best = (m.start(), m.group(0))
        break
    if best is not None:
        start, dep = best
        suffix = WARD_SUFFIX_RE.match(text, start + len(dep))
        ward = dep + suffix.group(0) if suffix else dep
        return ward, dep
    m = WARD_SUFFIX_RE.search(text)
    if m and "病区" in m.group(0):
        return m.group(0), None
    return None, None


def _cn_number(s: str) -> int:
    if s in _CN_NUM:
        return _CN_NUM[s]
    if s.startswith("十"):
        return 10 + _CN_NUM.get(s[1:], 0)
    if s.endswith("十"):
        return _CN_NUM.get(s[0], 0) * 10
    if "十" in s:
        a, b = s.split("十", 1)
        return _CN_NUM.get(a, 0) * 10 + _CN_NUM.get(b, 0)
    return _CN_NUM.get(s[0], 0)


def _clock(text: str) -> tuple[int, int, int, int] | None:
    """(hour, minute, start, end) of the first clock time in text."""
    m = CLOCK_RE.search(text)
    if m:
        h = int(m.group(1))
        mi = int(m.group(2) or m.group(3) or (30 if m.group(4) else 0))
        if h <= 24 and mi < 60:
            return h % 24, mi, m.start(), m.end()
    m = CN_CLOCK_RE.search(text)
    if m:
        h = _cn_number(m.group(1))
        if h <= 24:
            return h % 24, 30 if m.group(2) else 0, m.start(), m.end()
    return None


def extract_time(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, str | None, bool]:
    """(time in UTC, the words it came from, approximate?) — 今晨6点, 昨晚22:30, 凌晨2点, 11月28日 14时."""
    local_now = now.astimezone(tz)
    for w in NOW_WORDS:
        if w in text:
            return now, w, False
    day_offset, day_word, explicit_date = None, None, None
    m = DATE_RE.search(text)
    if m:
        y, mo, d = (m.group(1), m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5), m.group(6))
        try:
            year = int(y) if y else local_now.year
            explicit_date = datetime(year, int(mo), int(d)).date()
            if not y and explicit_date > local_now.date():
                explicit_date = explicit_date.replace(year=year - 1)
            day_word = m.group(0)
        except ValueError:
            explicit_date = None
    if explicit_date is None:
        for w, off in DAY_WORDS:
            if w in text:
                day_offset, day_word = off, w
                break
    part = None
    for words, hour, pm in PARTS:
        for w in words:
            if w in text:
                part = (w, hour, pm)
                break
        if part:
            break
    clock = _clock(text)
    if explicit_date is None and day_offset is None and part is None and clock is None:
        return None, None, False
    date = explicit_date or (local_now.date() + timedelta(days=day_offset or 0))
    approx = False
    if clock:
        h, mi = clock[0], clock[1]
        if part and part[2] and 1 <= h < 12 and not (part[0] in NIGHT_PARTS and h <= 4):
            h += 12
        elif part and part[0] == "中午" and h < 6:
            h += 12
        words = text[clock[2]:clock[3]]
    elif part:
        h, mi, approx, words = part[1], 0, True, part[0]
    else:
        # a day without a time of day: noon of that day, or now when it is earlier
        h, mi, approx, words = 12, 0, True, ""
        if date == local_now.date() and local_now.hour < 12:
            h, mi = local_now.hour, local_now.minute
    if day_word and day_word not in words:
        words = words[len(part[0]):] if part and clock is None and part[0] in day_word else words
        words = f"{day_word}{words}"
    local = datetime.combine(date, time(h, mi), tzinfo=tz)
    if explicit_date is None and day_offset is None and local > local_now + timedelta(minutes=10):
        local -= timedelta(days=1)    # "22:30坠床" written at 07:00 means last night
    return local.astimezone(timezone.utc), words or None, approx


def extract_patient(text: str) -> str | None:
    """The patient's name as written (王某某, 张三) or None."""
    for m in PSEUDONYM_RE.finditer(text):
        if m.group(1) in SURNAMES:
            return m.group(0)
    for m in PATIENT_CUE_RE.finditer(text):
        cand = m.group(1)
        if cand[0] not in SURNAMES:
            continue
        name = cand[:2]
        if len(cand) >= 3 and cand[2] not in NAME_BREAK:
            name = cand[:3]
        if name[1] in NAME_BREAK or name[:2] in NOT_NAMES:
            continue
        return name
    return None


def extract_actions(text: str) -> str | None:
    """The clauses that say what was done (已处理, 立即停药, 予地塞米松…)."""
    clauses = [c.strip() for c in re.split(r"[，,。；;！!\n]", text) if c.strip()]
    done = [c for c in clauses if any(w in c for w in ACTION_WORDS)]
    return "，".join(done)[:200] or None


def scanner_category(text: str, scanner, table: KeywordTable) -> tuple[str | None, str | None]:
    """(category, severity) from the scanner's event findings; among several, the one the keywords agree
    with, else the most confident. (None, None) when the scanner finds no event or is unavailable."""
    if scanner is None:
        return None, None
    from nlp.types import NoteInput
    result = scanner.scan(NoteInput(id="dingtalk-report", text=text, note_type="不良事件上报"))
    events = [f for f in result.findings if f.kind == "event" and f.category in table.categories
              and not (f.context or {}).get("negated") and not (f.context or {}).get("hypothetical")]
    if not events:
        return None, None
    keyword_cats = [c for c, _, _ in table.match_categories(text)]
    for cat in keyword_cats:
        agree = [f for f in events if f.category == cat]
        if agree:
            return cat, min((f.severity for f in agree), key=lambda s: ("I", "II", "III", "IV").index(s)
                            if s in ("I", "II", "III", "IV") else 3)
    best = max(events, key=lambda f: f.confidence)
    return best.category, best.severity


def parse_report(text: str, *, table: KeywordTable, now: datetime, tz: ZoneInfo, scanner=None,
                 departments: tuple[str, ...] = ()) -> ParsedReport:
    """Everything one message says. `scanner` is the shared nlp Scanner (None: keywords only);
    `departments` are names of the hospital's departments (from the database) to recognise as wards."""
    text, anonymous = strip_anonymous(text.strip())
    rep = ParsedReport(text=text, anonymous=anonymous)
    cat, sev = scanner_category(text, scanner, table)
    if cat:
        rep.category, rep.category_source = cat, "nlp"
        rep.severity, rep.severity_source = sev, "nlp"
    else:
        cat = table.category(text)
        if cat:
            rep.category, rep.category_source = cat, "keywords"
            rep.severity, rep.severity_source = table.default_severity(cat), "default"
    hint = table.severity_hint(text)
    if hint:
        rep.severity, rep.severity_source = hint, "hint"
    rep.bed = extract_bed(text)
    rep.ward, rep.department = extract_ward(text, table, departments)
    rep.occurred_at, rep.time_text, rep.time_approx = extract_time(text, now=now, tz=tz)
    rep.patient = extract_patient(text)
    rep.actions = extract_actions(text)
    return rep
