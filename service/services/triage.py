"""Triage decisions on an event. Every function here is the only writer of its change: it validates the move,
updates the event, appends an EventAction row and an audit entry, all in the caller's transaction."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from models import AdverseEvent, EventStatus, User
from models.base import utcnow
from notifications.outbox import enqueue
from service.services.audit import audit
from service.services.events import SEVERITY_RANK, record_action
from service.settings import Settings

DISMISS_REASONS = ("误报", "重复", "非住院期间", "已知并发症", "其他")
OPEN = (EventStatus.new, EventStatus.in_review)
MAX_TEXT = 10_000


class TriageError(ValueError):
    """A decision that is not allowed in the event's current state (message in Chinese, for the page)."""


def _actor(user: User) -> str:
    return user.full_name or user.username


def _require(event: AdverseEvent, allowed: tuple[EventStatus, ...], what: str) -> None:
    if event.status not in allowed:
        raise TriageError(f"事件当前状态为「{_status_zh(event.status)}」，不能{what}")


def _status_zh(status: EventStatus) -> str:
    from service.web.labels import STATUS_LABELS
    return STATUS_LABELS.get(status.value, status.value)


def _text(value: str | None, what: str, required: bool = False) -> str | None:
    value = (value or "").strip() or None
    if required and not value:
        raise TriageError(f"请填写{what}")
    if value and len(value) > MAX_TEXT:
        raise TriageError(f"{what}过长（最多 {MAX_TEXT} 字）")
    return value


def _severity(value: str) -> str:
    if value not in SEVERITY_RANK:
        raise TriageError(f"未知的严重程度：{value}")
    return value


def _write(*, session: Session, event: AdverseEvent, user: User, action: str, ip: str | None,
           from_status: EventStatus | None = None, comment: str | None = None,
           detail: dict[str, Any] | None = None, reviewed: bool = True) -> None:
    now = utcnow()
    if reviewed and event.first_reviewed_at is None:
        event.first_reviewed_at = now
    event.updated_at = now
    session.add(event)
    record_action(session=session, event=event, action=action, actor_name=_actor(user), actor_user_id=user.id,
                  from_status=from_status.value if from_status else None,
                  to_status=event.status.value if from_status else None, comment=comment, detail=detail)
    audit(session=session, actor=user.username, user_id=user.id, action=f"event_{action}", object_type="event",
          object_id=event.id, ip=ip, detail={**(detail or {}), **({"to_status": event.status.value} if from_status else {})})


def confirm(*, session: Session, event: AdverseEvent, user: User, final_category: str, final_severity: str,
            comment: str | None = None, ip: str | None = None) -> AdverseEvent:
    """Confirm that the event happened, with its final category and severity."""
    _require(event, OPEN, "确认")
    if not final_category:
        raise TriageError("请选择最终类别")
    before = event.status
    event.status, event.final_category, event.final_severity = EventStatus.confirmed, final_category, _severity(final_severity)
    _write(session=session, event=event, user=user, action="confirm", ip=ip, from_status=before,
           comment=_text(comment, "说明"), detail={"final_category": final_category, "final_severity": final_severity})
    return event


def dismiss(*, session: Session, event: AdverseEvent, user: User, reason: str, comment: str | None = None,
            ip: str | None = None) -> AdverseEvent:
    """Dismiss the event with one of the fixed reasons (其他 needs a comment)."""
    _require(event, OPEN, "排除")
    if reason not in DISMISS_REASONS:
        raise TriageError("请选择排除原因")
    comment = _text(comment, "说明", required=reason == "其他")
    before = event.status
    event.status, event.dismiss_reason = EventStatus.dismissed, reason
    _write(session=session, event=event, user=user, action="dismiss", ip=ip, from_status=before, comment=comment,
           detail={"reason": reason})
    return event


def merge(*, session: Session, event: AdverseEvent, into: AdverseEvent, user: User, comment: str | None = None,
          ip: str | None = None) -> AdverseEvent:
    """Fold a duplicate into another event; the other event records where it came from."""
    _require(event, OPEN, "合并")
    target = into
    if target.id == event.id:
        raise TriageError("不能合并到事件自身")
    if target.status in (EventStatus.merged, EventStatus.dismissed, EventStatus.draft):
        raise TriageError(f"目标事件 #{target.id} 状态为「{_status_zh(target.status)}」，不能作为合并目标")
    comment = _text(comment, "说明")
    before = event.status
    event.status, event.merged_into_id, event.dismiss_reason = EventStatus.merged, target.id, "重复"
    _write(session=session, event=event, user=user, action="merge", ip=ip, from_status=before, comment=comment,
           detail={"into": target.id})
    target.updated_at = utcnow()
    if SEVERITY_RANK.get(event.severity, 4) < SEVERITY_RANK.get(target.severity, 4) and target.status in OPEN:
        target.severity = event.severity
    session.add(target)
    record_action(session=session, event=target, action="merged_from", actor_name=_actor(user), actor_user_id=user.id,
                  comment=comment, detail={"from": event.id})
    return event


def assign(*, session: Session, event: AdverseEvent, user: User, assignee: User, comment: str | None = None,
           ip: str | None = None) -> AdverseEvent:
    """Give the event to a person; a new event moves to 审核中."""
    if event.status in (EventStatus.merged, EventStatus.closed, EventStatus.dismissed, EventStatus.draft):
        raise TriageError(f"事件当前状态为「{_status_zh(event.status)}」，不能指派")
    if not assignee.is_active:
        raise TriageError("该用户已停用")
    before = event.status
    event.assignee_id = assignee.id
    if event.status == EventStatus.new:
        event.status = EventStatus.in_review
    _write(session=session, event=event, user=user, action="assign", ip=ip,
           from_status=before if before != event.status else None, comment=_text(comment, "说明"),
           detail={"assignee_id": assignee.id, "assignee": assignee.full_name or assignee.username})
    enqueue(session=session, topic="event_assigned", event=event,
            dedup_key=f"event_assigned:{event.id}:{assignee.id}:{utcnow().timestamp():.0f}",
            payload={"severity": event.severity, "category": event.category, "to_assignee": True})
    return event


def add_comment(*, session: Session, event: AdverseEvent, user: User, text: str, ip: str | None = None) -> AdverseEvent:
    """A note in the event's history; does not count as the first review."""
    _write(session=session, event=event, user=user, action="comment", ip=ip, comment=_text(text, "评论内容", required=True),
           reviewed=False)
    return event


def change_severity(*, session: Session, settings: Settings, event: AdverseEvent, user: User, severity: str,
                    comment: str | None = None, ip: str | None = None) -> AdverseEvent:
    """Change the severity; until the first review the deadline follows the new severity."""
    _require(event, (*OPEN, EventStatus.confirmed), "调整严重程度")
    new = _severity(severity)
    if new == event.severity:
        raise TriageError("严重程度未改变")
    old = event.severity
    if event.first_reviewed_at is None:
        event.deadline_at = event.detected_at + timedelta(hours=settings.deadline_hours(new))
    event.severity = new
    if event.status == EventStatus.confirmed:
        event.final_severity = new
    _write(session=session, event=event, user=user, action="change_severity", ip=ip, comment=_text(comment, "说明"),
           detail={"from": old, "to": new}, reviewed=False)
    if SEVERITY_RANK[new] < SEVERITY_RANK.get(old, 4) and event.status in OPEN:
        from notifications.outbox import enqueue_event_notice
        enqueue_event_notice(session=session, event=event, topic="event_upgraded")
    return event


def record_rca(*, session: Session, event: AdverseEvent, user: User, root_cause: str | None,
               corrective_actions: str | None, ip: str | None = None) -> AdverseEvent:
    """Root cause analysis and corrective/preventive actions (RCA/CAPA) of a confirmed event."""
    _require(event, (EventStatus.in_review, EventStatus.confirmed), "填写根因分析")
    rc, ca = _text(root_cause, "根本原因"), _text(corrective_actions, "整改措施")
    if not rc and not ca:
        raise TriageError("请填写根本原因或整改措施")
    event.root_cause, event.corrective_actions = rc, ca
    _write(session=session, event=event, user=user, action="rca", ip=ip, reviewed=False,
           detail={"root_cause": rc, "corrective_actions": ca})
    return event


def close(*, session: Session, event: AdverseEvent, user: User, comment: str | None = None,
          ip: str | None = None) -> AdverseEvent:
    """Close a confirmed event once its follow-up is done."""
    _require(event, (EventStatus.confirmed,), "关闭（请先确认事件）")
    before = event.status
    event.status = EventStatus.closed
    _write(session=session, event=event, user=user, action="close", ip=ip, from_status=before,
           comment=_text(comment, "说明"))
    return event


def reopen(*, session: Session, event: AdverseEvent, user: User, comment: str | None = None,
           ip: str | None = None) -> AdverseEvent:
    """Undo a dismissal or a closing: back to 审核中."""
    _require(event, (EventStatus.dismissed, EventStatus.closed), "重新打开")
    before = event.status
    event.status, event.dismiss_reason = EventStatus.in_review, None
    _write(session=session, event=event, user=user, action="reopen", ip=ip, from_status=before,
           comment=_text(comment, "重新打开原因", required=True), reviewed=False)
    return event
