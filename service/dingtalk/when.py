"""When it happened, read the way people write it in a chat: 凌晨三点半, 晚上十点二十, 昨晚11点多, 下午2点左右,
十分钟前, 刚才. A stated clock time wins over 刚才/现在; 晚期 is not 晚, and 一点皮, 点滴, 三点九 (a value) are
not clocks; a day word alone (今天出院) is not a time of the event."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CN = "零〇一二两三四五六七八九十"
CN_VAL = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
          "九": 9, "十": 10}


def cn_number(s: str) -> int | None:
    """一 → 1, 十二 → 12, 二十一 → 21, 三十 → 30, 12 → 12; None when s is not a number up to 99."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(c not in CN_VAL for c in s) or len(s) > 3:
        return None
    if "十" not in s:
        return CN_VAL[s[0]] if len(s) == 1 else (CN_VAL[s[0]] * 10 + CN_VAL[s[1]] if s[0] in "零〇" else None)
    a, _, b = s.partition("十")
    if "十" in b:
        return None
    return (CN_VAL[a] if a else 1) * 10 + (CN_VAL[b] if b else 0)


# parts of the day: word → (default hour, afternoon/evening?, night?, a time on its own?)
PARTS: dict[str, tuple[int, bool, bool, bool]] = {
    "凌晨": (3, False, True, True), "半夜": (1, False, True, True), "深夜": (23, True, True, True),
    "清晨": (6, False, False, True), "早晨": (7, False, False, True), "早上": (7, False, False, True),
    "一早": (7, False, False, True), "今早": (7, False, False, True), "昨早": (7, False, False, True),
    "今晨": (7, False, False, True), "昨晨": (7, False, False, True), "晨间": (7, False, False, True),
    "上午": (9, False, False, True), "中午": (12, False, False, True), "午间": (12, False, False, True),
    "下午": (15, True, False, True), "午后": (15, True, False, True), "傍晚": (18, True, False, True),
    "晚上": (21, True, True, True), "晚间": (21, True, True, True), "今晚": (21, True, True, True),
    "昨晚": (21, True, True, True), "前晚": (21, True, True, True), "夜间": (23, True, True, True),
    "夜里": (23, True, True, True), "今夜": (23, True, True, True), "昨夜": (23, True, True, True),
    # these set the half of the day of a clock next to them, but are no time on their own
    "早餐": (7, False, False, False), "早饭": (7, False, False, False), "午餐": (12, False, False, False),
    "午饭": (12, False, False, False), "晚饭": (18, True, False, False), "晚餐": (18, True, False, False),
    "夜班": (23, True, True, False), "白班": (9, False, False, False),
}
# bare 早/晚/夜 count only right before a clock: 晚10点, 早八点 (never 晚期, 早期, 较晚)
BARE_PARTS = {"早": (7, False, False, False), "晚": (21, True, True, False), "夜": (23, True, True, False)}
PART_RE = re.compile("|".join(sorted(PARTS, key=len, reverse=True))
                     + rf"|[早晚夜](?=\s*[{CN}\d]{{1,3}}\s*[点时:：])")
DAY_WORDS = {"大前天": -3, "前天": -2, "前日": -2, "前晚": -2, "昨天": -1, "昨日": -1, "昨晚": -1, "昨夜": -1,
             "昨晨": -1, "昨早": -1, "今天": 0, "今日": 0, "今晨": 0, "今早": 0, "今晚": 0, "今夜": 0}
DAY_RE = re.compile("|".join(sorted(DAY_WORDS, key=len, reverse=True)))
DATE_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?|(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
ARABIC_CLOCK_RE = re.compile(r"(?<![\d.])(\d{1,2})\s*(?:[:：]\s*(\d{2})(?!\d)|[点时](?![间钟])\s*(?:(半)|(\d{1,2})(?![\d.])\s*(分)?)?)")
CN_CLOCK_RE = re.compile(rf"(?<![{CN}])([{CN}]{{1,3}})\s*点\s*(?:(半)|(零?[{CN}]{{1,3}})\s*(分)?)?")
ONE_O_CLOCK_OK_AFTER = re.compile(r"\s*(?:半|多|左右|钟|整|许|过|的时候|[零〇一二三四五六七八九十\d]{1,3}\s*分)")
APPROX_RE = re.compile(r"^\s*(?:多|左右|许|来钟)|(?:大概|大约|约|差不多|估计)\s*$")
RELATIVE_RE = re.compile(rf"([{CN}\d半]{{1,3}})\s*(?:个)?\s*(?:多)?\s*(分钟|小时|钟头)\s*(?:之前|以前|前)")
JUST_NOW = ("刚才", "刚刚", "方才", "刚发现", "刚看到")
NOW_WORDS = ("现在", "当前", "目前")


@dataclass
class Clock:
    hour: int
    minute: int
    start: int
    end: int
    approx: bool
    h24: bool = False          # 06:40, 0点: a 24-hour time, never read as the afternoon


def _clocks(text: str) -> list[Clock]:
    out = []
    for m in ARABIC_CLOCK_RE.finditer(text):
        h = int(m.group(1))
        if m.group(2):
            mi = int(m.group(2))
        elif m.group(3):
            mi = 30
        elif m.group(4):
            if len(m.group(4)) == 1 and not m.group(5):
                continue                          # 2点6: a value, not a clock
            mi = int(m.group(4))
        else:
            mi = 0
        if h <= 24 and mi < 60:
            out.append(Clock(h % 24, mi, m.start(), m.end(), False, bool(m.group(2)) or h == 0))
    for m in CN_CLOCK_RE.finditer(text):
        h = cn_number(m.group(1))
        if h is None or h > 24:
            continue
        mi = 30 if m.group(2) else 0
        if m.group(3):
            raw = m.group(3)
            if len(raw) == 1 and raw not in "十" and not m.group(4):
                continue                          # 三点九, 六点八, 三十九点二: values
            mi = cn_number(raw.lstrip("零〇")) if raw.lstrip("零〇") else 0
            if mi is None or mi >= 60:
                continue
        if h == 1 and not m.group(2) and not m.group(3) and not _one_oclock(text, m):
            continue                              # 一点皮, 有一点, 一点征兆
        out.append(Clock(h % 24, mi, m.start(), m.end(), False))
    for c in out:
        c.approx = bool(APPROX_RE.search(text[c.end:c.end + 3]) or APPROX_RE.search(text[max(0, c.start - 3):c.start]))
    return sorted(out, key=lambda c: c.start)


def _one_oclock(text: str, m: re.Match) -> bool:
    """一点 is 1 o'clock only with a part of the day just before it, or 半/多/左右/分 after it."""
    if ONE_O_CLOCK_OK_AFTER.match(text, m.end()):
        return True
    before = text[max(0, m.start() - 4):m.start()]
    return bool(PART_RE.search(before)) and not before.endswith(("有", "差", "这", "那", "快", "慢", "好"))


def _part_before(text: str, pos: int) -> tuple[int, bool, bool, bool] | None:
    """The part of the day written nearest before pos (in the same sentence)."""
    found = None
    for m in PART_RE.finditer(text, 0, pos):
        if "。" not in text[m.end():pos]:
            found = m
    if found is None:
        return None
    word = found.group(0)
    return PARTS.get(word) or BARE_PARTS[word]


def _day_offset(text: str, pos: int | None) -> int | None:
    """The day word nearest before pos (or anywhere when pos is None)."""
    best = None
    for m in DAY_RE.finditer(text):
        if pos is None or m.start() <= pos:
            best = DAY_WORDS[m.group(0)]
        elif best is None:
            best = DAY_WORDS[m.group(0)]
    return best


def _explicit_date(text: str, today: date) -> date | None:
    m = DATE_RE.search(text)
    if not m:
        return None
    y, mo, d = (m.group(1), m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5), m.group(6))
    try:
        out = date(int(y) if y else today.year, int(mo), int(d))
    except ValueError:
        return None
    if not y and out > today:
        out = out.replace(year=out.year - 1)
    return out


def _relative(text: str, now: datetime) -> tuple[datetime, str] | None:
    m = RELATIVE_RE.search(text)
    if m:
        n = 0.5 if m.group(1) == "半" else cn_number(m.group(1))
        if n:
            unit = timedelta(minutes=1) if m.group(2) == "分钟" else timedelta(hours=1)
            return now - unit * n, m.group(0)
    for w in JUST_NOW:
        if w in text:
            return now, w
    return None


def extract_time(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, str | None, bool]:
    """(time in UTC, the words it came from, approximate?). None when the message states no time."""
    local_now = now.astimezone(tz)
    clocks = _clocks(text)
    explicit = _explicit_date(text, local_now.date())
    if clocks:
        c = clocks[0]
        part = _part_before(text, c.start)
        if part is None:
            after = PART_RE.match(text, c.end)
            part = (PARTS.get(after.group(0)) or BARE_PARTS.get(after.group(0))) if after else None
        offset = _day_offset(text, c.start)
        h = c.hour
        if part is not None:
            _, pm, night, _ = part
            if pm and 1 <= h < 12 and not (night and h <= 4):
                h += 12
            elif night and h == 12:
                h = 0
            elif part[0] == 12 and h < 6:
                h += 12
        day = explicit or local_now.date() + timedelta(days=offset or 0)
        local = datetime.combine(day, time(h, c.minute), tzinfo=tz)
        if part is None and not c.h24 and c.hour < 12 and explicit is None and offset is None:
            later = local + timedelta(hours=12)       # 8点 written at 21:10: 20:00 is the recent one
            if later <= local_now + timedelta(minutes=10):
                local = later
        if explicit is None and offset is None and local > local_now + timedelta(minutes=10):
            local -= timedelta(days=1)                # 22:30 written at 07:00 means last night
        return local.astimezone(timezone.utc), text[c.start:c.end], c.approx
    rel = _relative(text, now)
    if rel:
        return rel[0], rel[1], False
    for m in PART_RE.finditer(text):
        word = m.group(0)
        spec = PARTS.get(word)
        if spec is None or not spec[3]:
            continue
        offset = _day_offset(text, m.start()) or 0
        day = explicit or local_now.date() + timedelta(days=offset)
        local = datetime.combine(day, time(spec[0], 0), tzinfo=tz)
        if local > local_now + timedelta(minutes=10):       # 今晨 at 06:10: now; 晚上 at 08:00: last night
            local = local_now if (DAY_RE.search(text) or explicit) else local - timedelta(days=1)
        return local.astimezone(timezone.utc), word, True
    for w in NOW_WORDS:
        if w in text and not re.search(rf"{w}\s*(?:血|体温|心率|血压|血氧|生命|患者|病人|已|无|没|好|在)", text):
            return now, w, False
    return None, None, False
