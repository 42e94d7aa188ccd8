"""The web report form: what, where, when, who, severity; anonymous if the reporter wishes."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from models import EventSource
from service.deps import SessionDep
from service.edge import RowId, sane_date
from service.services.audit import audit
from service.services.reports import file_manual_report
from service.web import labels
from service.web.auth import CsrfChecked, CurrentUser, WebError
from service.web.queries import can_see_event, user_department_names
from service.web.render import render
from service.web.views.login import client_ip

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=64)]


def _form(request: Request, session, user, values: dict, error: str | None = None, status_code: int = 200):
    settings = request.app.state.settings
    deps = user_department_names(session=session, user=user)
    values = {"department": deps[0] if deps else "", "severity": "III", **values}
    return render(request, "reports/new.html", status_code=status_code, values=values, error=error,
                  event_categories=labels.taxonomy(str(settings.data_dir))["events"])


@router.get("/reports/new")
def report_form(request: Request, session: SessionDep, user: CurrentUser):
    return _form(request, session, user, {})


@router.post("/reports/new")
def submit_report(request: Request, session: SessionDep, user: CurrentUser, _: CsrfChecked,
                  category: Short, severity: Annotated[str, Form(max_length=4)],
                  description: Annotated[str, Form(max_length=5000)], department: Short = "", bed: Short = "",
                  occurred_at: Short = "", encounter_id: Short = "", patient_id: Short = "",
                  anonymous: Annotated[str, Form(max_length=8)] = ""):
    settings = request.app.state.settings
    values = dict(category=category, severity=severity, description=description, department=department, bed=bed,
                  occurred_at=occurred_at, encounter_id=encounter_id, patient_id=patient_id, anonymous=bool(anonymous))
    error = None
    when = None
    if category not in labels.taxonomy(str(settings.data_dir))["events"]:
        error = "请选择事件类别"
    elif not description.strip():
        error = "请描述发生了什么"
    elif not department.strip():
        error = "请填写发生科室"
    if occurred_at and not error:
        try:
            when = datetime.fromisoformat(occurred_at).replace(tzinfo=ZoneInfo(settings.timezone))
            if sane_date(when.date()) is None:
                raise ValueError(occurred_at)
        except ValueError:
            error = "发生时间格式不正确"
    if error:
        return _form(request, session, user, values, error=error, status_code=422)
    try:
        event, _created = file_manual_report(
            session=session, settings=settings, category=category, severity=severity, description=description.strip(),
            source=EventSource.web, department=department.strip(), bed=bed.strip() or None, occurred_at=when,
            encounter_id=encounter_id.strip() or None, patient_id=patient_id.strip() or None,
            reporter_user_id=user.id, reporter_name=user.full_name or user.username, anonymous=bool(anonymous))
    except ValueError as e:
        return _form(request, session, user, values, error=str(e), status_code=422)
    if anonymous:   # no name, account or address of the reporter anywhere an admin can read
        audit(session=session, actor="匿名", action="report_filed", object_type="event", object_id=event.id,
              detail={"anonymous": True})
    else:
        audit(session=session, actor=user.username, user_id=user.id, action="report_filed", object_type="event",
              object_id=event.id, ip=client_ip(request), detail={"anonymous": False})
    session.commit()
    return RedirectResponse(f"/reports/{event.id}/thanks", status_code=303)


@router.get("/reports/{event_id}/thanks")
def thanks(request: Request, event_id: RowId, session: SessionDep, user: CurrentUser):
    from models import AdverseEvent
    event = session.get(AdverseEvent, event_id)
    if event is None:
        raise WebError(404, "上报记录不存在")
    visible = can_see_event(session=session, user=user, event=event)
    return render(request, "reports/thanks.html", event_id=event_id, visible=visible)
