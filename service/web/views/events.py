"""The event page (the deep link of every DingTalk message) and the triage actions on it."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from models import AdverseEvent, EventAction, Note, User
from service.deps import SessionDep, SettingsDep
from service.edge import DB_INT_MAX, RowId
from service.services import triage
from service.services.audit import audit
from service.services.events import event_findings
from service.web import labels
from service.web.auth import CsrfChecked, CurrentUser, TriageUser, WebError
from service.web.evidence import highlight, spans_for
from service.web.queries import (assignable_users, can_see_event, can_see_note, can_triage, encounter_notes,
                                 user_names)
from service.web.render import render
from service.web.views.login import client_ip

router = APIRouter(include_in_schema=False)
MAX_NOTES_SHOWN = 50
DONE_MESSAGES = {"assign": "已指派", "comment": "已添加评论", "severity": "严重程度已调整", "rca": "根因分析/整改措施已保存",
                 "close": "事件已关闭", "reopen": "事件已重新打开", "confirm": "事件已确认"}


def visible_event(event_id: RowId, session: SessionDep, user: CurrentUser) -> AdverseEvent:
    """Load the event or 404; 403 when it is outside the user's scope."""
    event = session.get(AdverseEvent, event_id)
    if event is None:
        raise WebError(404, f"事件 #{event_id} 不存在")
    if not can_see_event(session=session, user=user, event=event):
        raise WebError(403, "该事件不属于您的科室或权限范围")
    return event


VisibleEvent = Annotated[AdverseEvent, Depends(visible_event)]


def triageable_event(event: VisibleEvent, session: SessionDep, user: TriageUser) -> AdverseEvent:
    if not can_triage(session=session, user=user, event=event):
        raise WebError(403, "您没有处理该事件的权限")
    return event


TriageEvent = Annotated[AdverseEvent, Depends(triageable_event)]


@router.get("/events/{event_id}")
def event_page(request: Request, event: VisibleEvent, session: SessionDep, user: CurrentUser,
               done: str | None = None):
    settings = request.app.state.settings
    cats = labels.category_labels(str(settings.data_dir))
    children = session.exec(select(AdverseEvent).where(AdverseEvent.merged_into_id == event.id)).all()
    findings = event_findings(session=session, event_id=event.id)
    for child in children:
        findings += event_findings(session=session, event_id=child.id)
    by_note: dict[int, list] = {}
    for f in findings:
        by_note.setdefault(f.note_id, []).append(f)
    notes = [n for n in encounter_notes(session=session, event=event, evidence_note_ids=list(by_note))
             if n.id in by_note or can_see_note(session=session, user=user, note=n)][:MAX_NOTES_SHOWN]
    rendered = [{"note": n, "findings": by_note.get(n.id, []),
                 "html": highlight(n.text, spans_for(n.text, by_note.get(n.id, []), lambda c: cats.get(c, c)))}
                for n in notes]
    history = session.exec(select(EventAction).where(EventAction.event_id == event.id)
                           .order_by(EventAction.created_at, EventAction.id)).all()
    ip = client_ip(request)
    audit(session=session, actor=user.username, user_id=user.id, action="view_event", object_type="event",
          object_id=event.id, ip=ip, detail={"note_ids": [n.id for n in notes]})
    for n in notes:
        audit(session=session, actor=user.username, user_id=user.id, action="view_note", object_type="note",
              object_id=n.id, ip=ip, detail={"event_id": event.id})
    session.commit()
    patient = next((n.patient_name for n in notes if n.patient_name), None)
    may_triage = can_triage(session=session, user=user, event=event)
    return render(request, "events/detail.html", event=event, notes=rendered, findings=findings,
                  history=history, children=children, patient_name=patient, may_triage=may_triage,
                  assignees=assignable_users(session=session, event=event) if may_triage else [],
                  names=user_names(session=session, ids={i for i in (event.assignee_id, event.reporter_user_id) if i}),
                  done=DONE_MESSAGES.get(done or ""), overdue=_overdue(event),
                  deadline_hours=settings.deadline_hours(event.severity))


def _overdue(event: AdverseEvent) -> bool:
    from models.base import utcnow
    from models.event import OPEN_STATUSES
    return bool(event.deadline_at and event.status in OPEN_STATUSES and event.deadline_at < utcnow())


def _run(request: Request, session, action, event: AdverseEvent, done: str, to_queue: bool = False, **kw):
    """Call one triage function; a refused move shows the reason (409)."""
    try:
        action(session=session, event=event, ip=client_ip(request), **kw)
    except triage.TriageError as e:  # nothing is committed: the session closes with the request
        raise WebError(409, str(e)) from e
    session.commit()
    if to_queue:
        return RedirectResponse(f"/events?done={done}&id={event.id}", status_code=303)
    return RedirectResponse(f"/events/{event.id}?done={done}", status_code=303)


Text = Annotated[str, Form(max_length=triage.MAX_TEXT)]


@router.post("/events/{event_id}/confirm")
def confirm(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
            final_category: Annotated[str, Form(max_length=64)], final_severity: Annotated[str, Form(max_length=4)],
            comment: Text = ""):
    return _run(request, session, triage.confirm, event, "confirm", user=user, final_category=final_category,
                final_severity=final_severity, comment=comment)


@router.post("/events/{event_id}/dismiss")
def dismiss(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
            reason: Annotated[str, Form(max_length=32)] = "", comment: Text = ""):
    return _run(request, session, triage.dismiss, event, "dismiss", to_queue=True, user=user, reason=reason,
                comment=comment)


@router.post("/events/{event_id}/merge")
def merge(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
          into_id: Annotated[int, Form(ge=1, le=DB_INT_MAX)], comment: Text = ""):
    target = session.get(AdverseEvent, into_id)
    if target is None or not can_see_event(session=session, user=user, event=target):
        raise WebError(404, f"目标事件 #{into_id} 不存在或不在您的权限范围内")
    return _run(request, session, triage.merge, event, "merge", to_queue=True, user=user, into=target,
                comment=comment)


@router.post("/events/{event_id}/assign")
def assign(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
           assignee_id: Annotated[int, Form(ge=1, le=DB_INT_MAX)], comment: Text = ""):
    assignee = session.get(User, assignee_id)
    if assignee is None or assignee.id not in {u.id for u in assignable_users(session=session, event=event)}:
        raise WebError(409, "不能指派给该用户")
    return _run(request, session, triage.assign, event, "assign", user=user, assignee=assignee, comment=comment)


@router.post("/events/{event_id}/comment")
def comment(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
            text: Text = ""):
    return _run(request, session, triage.add_comment, event, "comment", user=user, text=text)


@router.post("/events/{event_id}/severity")
def change_severity(request: Request, event: TriageEvent, session: SessionDep, settings: SettingsDep,
                    user: TriageUser, _: CsrfChecked, severity: Annotated[str, Form(max_length=4)], comment: Text = ""):
    return _run(request, session, triage.change_severity, event, "severity", settings=settings, user=user,
                severity=severity, comment=comment)


@router.post("/events/{event_id}/rca")
def rca(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
        root_cause: Text = "", corrective_actions: Text = ""):
    return _run(request, session, triage.record_rca, event, "rca", user=user, root_cause=root_cause,
                corrective_actions=corrective_actions)


@router.post("/events/{event_id}/close")
def close(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
          comment: Text = ""):
    return _run(request, session, triage.close, event, "close", user=user, comment=comment)


@router.post("/events/{event_id}/reopen")
def reopen(request: Request, event: TriageEvent, session: SessionDep, user: TriageUser, _: CsrfChecked,
           comment: Text = ""):
    return _run(request, session, triage.reopen, event, "reopen", user=user, comment=comment)


@router.get("/notes/{note_id}")
def note_page(request: Request, note_id: RowId, session: SessionDep, user: CurrentUser):
    """One note in full (audited)."""
    note = session.get(Note, note_id)
    if note is None:
        raise WebError(404, f"病历文书 #{note_id} 不存在")
    if not can_see_note(session=session, user=user, note=note):
        raise WebError(403, "该病历文书不属于您的科室或权限范围")
    audit(session=session, actor=user.username, user_id=user.id, action="view_note", object_type="note",
          object_id=note.id, ip=client_ip(request))
    session.commit()
    return render(request, "events/note.html", note=note, html=highlight(note.text, []))
