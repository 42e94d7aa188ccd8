"""Statistics of the queue under the same filters: volume by month × category, department, severity, source;
rule precision from triage decisions; time to first review."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from statistics import median
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models import AdverseEvent, EventFinding, EventStatus, Finding, User
from service.web.queries import QueueFilter, scope_events

CONFIRMED = (EventStatus.confirmed, EventStatus.closed)
NOISY_BELOW = 0.5
NOISY_MIN_DECIDED = 3
TOP_CATEGORIES = 6


@dataclass
class RulePrecision:
    rule: str
    events: int
    confirmed: int
    dismissed: int

    @property
    def decided(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.decided if self.decided else None

    @property
    def noisy(self) -> bool:
        return self.decided >= NOISY_MIN_DECIDED and (self.rate or 0) < NOISY_BELOW


def compute(*, session: Session, user: User, flt: QueueFilter, tz: str, cats: dict[str, str]) -> dict:
    cols = select(AdverseEvent.id, AdverseEvent.detected_at, AdverseEvent.category, AdverseEvent.department,
                  AdverseEvent.severity, AdverseEvent.source, AdverseEvent.status, AdverseEvent.first_reviewed_at,
                  AdverseEvent.deadline_at)
    rows = session.exec(scope_events(flt.apply(cols, tz=tz), session=session, user=user)).all()
    zone = ZoneInfo(tz)
    months = sorted({r.detected_at.astimezone(zone).strftime("%Y-%m") for r in rows})
    by_cat = Counter(r.category for r in rows)
    top = [c for c, _ in by_cat.most_common(TOP_CATEGORIES)]
    grid: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    for r in rows:
        name = cats.get(r.category, r.category) if r.category in top else "其他"
        grid[name][months.index(r.detected_at.astimezone(zone).strftime("%Y-%m"))] += 1
    order = [cats.get(c, c) for c in top] + (["其他"] if "其他" in grid else [])
    source = Counter("NLP 识别" if _v(r.source) == "nlp" else "人工上报" for r in rows)
    return {
        "total": len(rows),
        "months": months, "month_series": [(name, grid[name]) for name in order],
        "by_category": [(cats.get(c, c), n) for c, n in by_cat.most_common()],
        "by_department": Counter(r.department or "未填写" for r in rows).most_common(15),
        "by_severity": [(s, sum(1 for r in rows if r.severity == s)) for s in ("I", "II", "III", "IV")],
        "by_source": sorted(source.items()),
        "by_source_detail": Counter(_v(r.source) for r in rows),
        "by_status": Counter(_v(r.status) for r in rows),
        "rules": rule_precision(session=session, user=user, flt=flt, tz=tz),
        "triage": time_to_triage(rows),
    }


def _v(x) -> str:
    return getattr(x, "value", x)


def rule_precision(*, session: Session, user: User, flt: QueueFilter, tz: str) -> list[RulePrecision]:
    """Per rule: events it contributed to, how many were confirmed and how many dismissed (merged = duplicate,
    not counted either way). Sorted noisiest first."""
    stmt = (select(Finding.rule, AdverseEvent.id, AdverseEvent.status)
            .join(EventFinding, EventFinding.finding_id == Finding.id)
            .join(AdverseEvent, AdverseEvent.id == EventFinding.event_id).distinct())
    seen: dict[str, dict[int, str]] = defaultdict(dict)
    for rule, eid, status in session.exec(scope_events(flt.apply(stmt, tz=tz), session=session, user=user)).all():
        seen[rule][eid] = _v(status)
    out = []
    for rule, events in seen.items():
        st = Counter(events.values())
        out.append(RulePrecision(rule=rule, events=len(events), confirmed=st["confirmed"] + st["closed"],
                                 dismissed=st["dismissed"]))
    return sorted(out, key=lambda r: (r.rate is None, r.rate if r.rate is not None else 0, -r.events, r.rule))


def time_to_triage(rows) -> dict:
    """Hours from detection to first review, overall and per severity; share reviewed within the deadline."""
    per: dict[str, list[float]] = defaultdict(list)
    in_time = reviewed = 0
    for r in rows:
        if r.first_reviewed_at is None:
            continue
        hours = max(0.0, (r.first_reviewed_at - r.detected_at).total_seconds() / 3600)
        per[r.severity].append(hours)
        reviewed += 1
        in_time += bool(r.deadline_at and r.first_reviewed_at <= r.deadline_at)
    all_h = sorted(h for v in per.values() for h in v)
    return {"reviewed": reviewed, "in_time": in_time,
            "median": median(all_h) if all_h else None, "p90": _pct(all_h, 0.9),
            "by_severity": [(s, len(per[s]), median(per[s]) if per[s] else None, _pct(sorted(per[s]), 0.9))
                            for s in ("I", "II", "III", "IV")]}


def _pct(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
