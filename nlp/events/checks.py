"""Small pieces of logic that patterns cannot express. Each check gets the normalised text, the candidate's
sentence range and trigger id, and says whether the candidate is a real event."""
from __future__ import annotations

import re
from typing import Callable

_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：时点](?:([0-5]\d)分?)?")
_RECEIVE = re.compile(r"危急值|接(到|获|收)|报告|回报")
_ACT = re.compile(r"通知|告知|报告(给|予)?(值班|主管|经治)?医(生|师)|汇报|处理|处置|医生(查看|到场|予)|予[^,;。]{0,8}(治疗|处理)")
_PROMPT = re.compile(r"(立即|即刻|马上|随即|当即|迅速)(电话|口头)?(通知|报告|告知|汇报)")   # acted on at once
_RECHECK = re.compile(r"\s*(复查|复测|复检|再次(复查|检测|抽血)|重复检测|再查)")       # a later time that is a re-test
DELAY_MINUTES = 30                     # hospital rule: a critical value is acted on within 30 minutes


def _minutes(m: re.Match) -> int:
    return int(m.group(1)) * 60 + int(m.group(2) or 0)


def critical_value_delay(norm: str, sent: tuple[int, int], trigger_id: str) -> bool:
    """Late handling of a critical value: an explicit delay phrase (trigger ``core``), or two clock times where the
    first is the report and a later one the notification/treatment, more than 30 minutes apart."""
    if trigger_id == "core":
        return True
    s, e = sent
    if _PROMPT.search(norm, s, e):                           # "立即通知医生": the report was acted on at once
        return False
    window = norm[s:min(len(norm), e + 120)]
    times = [(m.start(), m.end(), _minutes(m)) for m in _TIME.finditer(window)]
    if len(times) < 2:
        return False
    first_pos, _, first = times[0]
    prev_end = first_pos + 1
    for pos, end, t in times[1:]:
        gap = (t - first) % (24 * 60)
        lo = max(prev_end, pos - 12)
        cut = max(window.rfind(c, lo, pos) for c in ",;。")    # the words before a time stay in its own clause
        around = window[max(lo, cut + 1):pos + 25]             # "15:05通知医生" or "通知医生时间15:05"
        if (gap > DELAY_MINUTES and gap < 12 * 60 and _ACT.search(around)
                and not _RECHECK.match(window, end)):
            return True
        prev_end = pos + 1
    return False


CHECKS: dict[str, Callable[[str, tuple[int, int], str], bool]] = {
    "critical_value_delay": critical_value_delay,
}
