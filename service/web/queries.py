"""Read-side queries of the pages. Every query of events or notes goes through `scope_events` / `can_see_*`:
department reviewers see their department only, reporters their own reports, managers everything."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from models import (AdverseEvent, Department, EventAction, EventFinding, EventSource, EventStatus, Finding, Note, Role,
                    User)
from models.base import utcnow
from models.event import OPEN_STATUSES
from service.edge import sane_date
from service.dingtalk.drafts import Incomplete, incomplete_reports

PAGE_SIZE = 25
EXPORT_LIMIT = 20_000
SORTS = {"deadline": "按期限", "newest": "最新发现", "severity": "按严重程度"}


def user_department_names(*, session: Session, user: User) -> list[str]:
    """The department names an event's `department` column may hold for this user (code and name)."""
    if user.department_id is None:
        return []
    dep = session.get(Department, user.department_id)
    return sorted({dep.code, dep.name}) if dep else []


def scope_events(stmt, *, session: Session, user: User):
    """Restrict a select over AdverseEvent to what the user may see."""
    if user.role in (Role.admin, Role.quality_manager):
        return stmt
    if user.role == Role.department_reviewer:
        names = user_department_names(session=session, user=user)
        return stmt.where(AdverseEvent.department.in_(names)) if names else stmt.where(False)
    return stmt.where(AdverseEvent.reporter_user_id == user.id)


def can_see_event(*, session: Session, user: User, event: AdverseEvent) -> bool:
    if user.role in (Role.admin, Role.quality_manager):
        return True
    if user.role == Role.department_reviewer:
        return event.department is not None and event.department in user_department_names(session=session, user=user)
    return event.reporter_user_id is not None and event.reporter_user_id == user.id


def can_triage(*, session: Session, user: User, event: AdverseEvent) -> bool:
    return user.role != Role.reporter and can_see_event(session=session, user=user, event=event)


def can_see_note(*, session: Session, user: User, note: Note) -> bool:
    if user.role in (Role.admin, Role.quality_manager):
        return True
    if user.role == Role.department_reviewer:
        return note.department is not None and note.department in user_department_names(session=session, user=user)
    return False


@dataclass
class QueueFilter:
    """The queue's filters, from the query string. `status` "open" means new + in review; "incomplete" (待补充)
    means drafts still missing facts plus drafts the sweep filed incomplete that nobody has reviewed yet."""
    status: str = "open"
    severity: str = ""
    category: str = ""
    department: str = ""
    source: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    sort: str = "deadline"
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> "QueueFilter":
        def d(name: str) -> date | None:
            try:
                return sane_date(date.fromisoformat(params.get(name, ""))) if params.get(name) else None
            except ValueError:
                return None
        try:
            page = min(max(1, int(params.get("page", 1))), 1_000_000)
        except ValueError:
            page = 1
        status = params.get("status", "open")
        if status not in ("open", "all", "incomplete", *[s.value for s in EventStatus]):
            status = "open"
        source = params.get("source", "")
        if source not in ("", "manual_any", *[s.value for s in EventSource]):
            source = ""
        sort = params.get("sort", "deadline")
        return cls(status=status, severity=params.get("severity", "") if params.get("severity", "") in
                   ("I", "II", "III", "IV") else "", category=params.get("category", "")[:64],
                   department=params.get("department", "")[:64], source=source, date_from=d("date_from"),
                   date_to=d("date_to"), overdue=params.get("overdue") in ("1", "on", "true"),
                   sort=sort if sort in SORTS else "deadline", page=page)

    def apply(self, stmt, *, tz: str, with_status: bool = True):
        """Add the WHERE clauses (all but paging and sorting)."""
        if with_status:
            if self.status == "open":
                stmt = stmt.where(AdverseEvent.status.in_(OPEN_STATUSES))
            elif self.status == "incomplete":
                stmt = stmt.where(incomplete_clause())
            elif self.status != "all":
                stmt = stmt.where(AdverseEvent.status == EventStatus(self.status))
            else:
                stmt = stmt.where(AdverseEvent.status != EventStatus.draft)
        if self.severity:
            stmt = stmt.where(AdverseEvent.severity == self.severity)
        if self.category:
            stmt = stmt.where(AdverseEvent.category == self.category)
        if self.department:
            stmt = stmt.where(AdverseEvent.department == self.department)
        if self.source == "manual_any":
            stmt = stmt.where(AdverseEvent.source != EventSource.nlp)
        elif self.source:
            stmt = stmt.where(AdverseEvent.source == EventSource(self.source))
        zone = ZoneInfo(tz)
        if self.date_from:
            stmt = stmt.where(AdverseEvent.detected_at >= datetime.combine(self.date_from, time(), zone))
        if self.date_to:
            stmt = stmt.where(AdverseEvent.detected_at < datetime.combine(self.date_to + timedelta(days=1), time(), zone))
        if self.overdue:
            stmt = stmt.where(AdverseEvent.status.in_(OPEN_STATUSES), AdverseEvent.deadline_at < utcnow())
        return stmt

    def ordered(self, stmt):
        if self.sort == "newest":
            return stmt.order_by(AdverseEvent.detected_at.desc(), AdverseEvent.id.desc())
        if self.sort == "severity":
            return stmt.order_by(_severity_rank(), AdverseEvent.deadline_at.asc(), AdverseEvent.id)
        # deadline: soonest (most overdue) first; events without a deadline last
        return stmt.order_by(AdverseEvent.deadline_at.is_(None), AdverseEvent.deadline_at.asc(), AdverseEvent.id)

    def query_string(self, **changes: Any) -> str:
        from urllib.parse import urlencode
        values = {"status": self.status, "severity": self.severity, "category": self.category,
                  "department": self.department, "source": self.source,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "",
                  "overdue": "1" if self.overdue else "", "sort": self.sort, "page": self.page}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def incomplete_clause():
    """待补充: a draft, or an event filed incomplete (history `filed_incomplete`) still waiting for review."""
    filed = select(EventAction.event_id).where(EventAction.action == "filed_incomplete")
    return or_(AdverseEvent.status == EventStatus.draft,
               and_(AdverseEvent.status.in_(OPEN_STATUSES), AdverseEvent.id.in_(filed)))


def _severity_rank():
    from sqlalchemy import case
    return case({"I": 1, "II": 2, "III": 3, "IV": 4}, value=AdverseEvent.severity, else_=5)


@dataclass
class QueuePage:
    events: list[AdverseEvent]
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    incomplete: int = 0                                            # the 待补充 tab's count
    gaps: dict[int, Incomplete] = field(default_factory=dict)     # event id → what a 待补充 report lacks
    patient_names: dict[int, str] = field(default_factory=dict)
    assignees: dict[int, str] = field(default_factory=dict)


def queue_page(*, session: Session, user: User, flt: QueueFilter, tz: str, data_dir: str,
               page_size: int = PAGE_SIZE) -> QueuePage:
    """One page of the user's queue, the total, counts per status (and 待补充) under the same filters."""
    base = scope_events(flt.apply(select(AdverseEvent), tz=tz), session=session, user=user)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    pages = max(1, -(-total // page_size))
    page = min(flt.page, pages)
    events = list(session.exec(flt.ordered(base).offset((page - 1) * page_size).limit(page_size)).all())
    counts_q = scope_events(flt.apply(select(AdverseEvent.status, func.count()), tz=tz, with_status=False),
                            session=session, user=user).group_by(AdverseEvent.status)
    counts = {getattr(s, "value", s): n for s, n in session.exec(counts_q).all()}
    incomplete_q = scope_events(flt.apply(select(func.count(AdverseEvent.id)), tz=tz, with_status=False),
                                session=session, user=user).where(incomplete_clause())
    return QueuePage(events=events, total=total, page=page, pages=pages, counts=counts,
                     incomplete=session.exec(incomplete_q).one(),
                     gaps=incomplete_reports(session=session, events=events, data_dir=data_dir),
                     patient_names=patient_names(session=session, events=events),
                     assignees=user_names(session=session, ids={e.assignee_id for e in events if e.assignee_id}))


def export_rows(*, session: Session, user: User, flt: QueueFilter, tz: str) -> list[AdverseEvent]:
    base = scope_events(flt.apply(select(AdverseEvent), tz=tz), session=session, user=user)
    return list(session.exec(flt.ordered(base).limit(EXPORT_LIMIT)).all())


def patient_names(*, session: Session, events: list[AdverseEvent]) -> dict[int, str]:
    """event id → the patient's name from its notes (or a note of its encounter)."""
    ids = [e.id for e in events]
    out: dict[int, str] = {}
    if not ids:
        return out
    q = (select(EventFinding.event_id, Note.patient_name).join(Finding, Finding.id == EventFinding.finding_id)
         .join(Note, Note.id == Finding.note_id).where(EventFinding.event_id.in_(ids), Note.patient_name.is_not(None)))
    for eid, name in session.exec(q).all():
        out.setdefault(eid, name)
    missing = {e.encounter_id: e.id for e in events if e.id not in out and e.encounter_id}
    if missing:
        q2 = select(Note.encounter_id, Note.patient_name).where(Note.encounter_id.in_(list(missing)),
                                                                  Note.patient_name.is_not(None))
        for enc, name in session.exec(q2).all():
            out.setdefault(missing[enc], name)
    return out


def user_names(*, session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.full_name or u.username for u in session.exec(select(User).where(User.id.in_(list(ids)))).all()}


def departments_for_filter(*, session: Session, user: User) -> list[str]:
    q = scope_events(select(AdverseEvent.department).where(AdverseEvent.department.is_not(None)).distinct(),
                     session=session, user=user)
    return sorted(d for d in session.exec(q).all() if d)


def assignable_users(*, session: Session, event: AdverseEvent) -> list[User]:
    """Managers, and the reviewers of the event's department."""
    users = session.exec(select(User).where(User.is_active, User.role != Role.reporter).order_by(User.username)).all()
    out = []
    for u in users:
        if u.role in (Role.admin, Role.quality_manager) or (
                u.role == Role.department_reviewer and event.department
                and event.department in user_department_names(session=session, user=u)):
            out.append(u)
    return out


def encounter_notes(*, session: Session, event: AdverseEvent, evidence_note_ids: list[int]) -> list[Note]:
    """The notes behind the event's findings plus every other note of its encounter, oldest first."""
    conds = [Note.id.in_(evidence_note_ids)] if evidence_note_ids else []
    if event.encounter_id:
        conds.append(Note.encounter_id == event.encounter_id)
    if not conds:
        return []
    notes = session.exec(select(Note).where(or_(*conds))).all()
    latest: dict[tuple[str, str], Note] = {}
    for n in notes:  # keep every note version that carries evidence, else only the newest version
        key = (n.source_system, n.external_id)
        if n.id in evidence_note_ids:
            latest[(n.source_system, f"{n.external_id}#v{n.version}")] = n
        elif key not in latest or latest[key].version < n.version:
            latest[key] = n
    return sorted(latest.values(), key=lambda n: (n.note_time or n.received_at, n.id))
