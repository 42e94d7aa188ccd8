"""Small pieces of logic that patterns cannot express. Each check gets the normalised text, the candidate's
sentence range and trigger id, and says whether the candidate is a real event."""
from __future__ import annotations

import re
from typing import Callable

_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：时点](?:([0-5]\d)分?)?")
_RECEIVE = re.compile(r"危急值|接(到|获|收)|报告|回报")
_ACT = re.compile(r"通知|告知|报告(给|予)?(值班|主管|经治)?医(生|师)|汇报|处理|处置|医生(查看|到场|予)|予[^,;。]{0,8}(治疗|处理)")
DELAY_MINUTES = 30                     # hospital rule: a critical value is acted on within 30 minutes


def _minutes(m: re.Match) -> int:
    return int(m.group(1)) * 60 + int(m.group(2) or 0)


def critical_value_delay(norm: str, sent: tuple[int, int], trigger_id: str) -> bool:
    """Late handling of a critical value: an explicit delay phrase (trigger ``core``), or two clock times where the
    first is the report and a later one the notification/treatment, more than 30 minutes apart."""
    if trigger_id == "core":
        return True
    s, e = sent
    window = norm[s:min(len(norm), e + 120)]
    times = [(m.start(), _minutes(m)) for m in _TIME.finditer(window)]
    if len(times) < 2:
        return False
    first_pos, first = times[0]
    prev_end = first_pos + 1
    for pos, t in times[1:]:
        gap = (t - first) % (24 * 60)
        around = window[max(prev_end, pos - 12):pos + 25]     # "15:05通知医生" or "通知医生时间15:05"
        if gap > DELAY_MINUTES and gap < 12 * 60 and _ACT.search(around):
            return True
        prev_end = pos + 1
    return False


CHECKS: dict[str, Callable[[str, tuple[int, int], str], bool]] = {
    "critical_value_delay": critical_value_delay,
}
