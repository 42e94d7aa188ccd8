"""CSV / Excel of the filtered queue and FHIR R4 AdverseEvent JSON of confirmed events (all audited)."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from models.base import utcnow
from service.deps import SessionDep
from service.services.audit import audit
from service.services.events import event_findings
from service.web import exports, labels
from service.web.auth import CurrentUser, TriageUser, WebError
from service.web.queries import QueueFilter, export_rows, patient_names, scope_events, user_names
from service.web.render import local_time
from service.web.views.events import VisibleEvent
from service.web.views.login import client_ip

router = APIRouter(include_in_schema=False)
FHIR_JSON = "application/fhir+json; charset=utf-8"


def _rows(request: Request, session, user):
    settings = request.app.state.settings
    flt = QueueFilter.from_params(request.query_params)
    events = export_rows(session=session, user=user, flt=flt, tz=settings.timezone)
    rows = exports.table_rows(events, names=user_names(session=session, ids={e.assignee_id for e in events if e.assignee_id}),
                              patients=patient_names(session=session, events=events),
                              cats=labels.category_labels(str(settings.data_dir)), fmt=local_time(request), now=utcnow())
    return flt, events, rows


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M")


@router.get("/events/export.csv")
def export_csv(request: Request, session: SessionDep, user: TriageUser):
    flt, events, rows = _rows(request, session, user)
    audit(session=session, actor=user.username, user_id=user.id, action="export", ip=client_ip(request),
          detail={"format": "csv", "filter": flt.query_string(), "count": len(events)})
    session.commit()
    return Response(exports.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="aew-events-{_stamp()}.csv"'})


@router.get("/events/export.xlsx")
def export_xlsx(request: Request, session: SessionDep, user: TriageUser):
    flt, events, rows = _rows(request, session, user)
    audit(session=session, actor=user.username, user_id=user.id, action="export", ip=client_ip(request),
          detail={"format": "xlsx", "filter": flt.query_string(), "count": len(events)})
    session.commit()
    return Response(exports.to_xlsx(rows),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="aew-events-{_stamp()}.xlsx"'})


def _fhir(request: Request, session, event) -> dict:
    settings = request.app.state.settings
    rules = sorted({f.rule for f in event_findings(session=session, event_id=event.id)})
    return exports.fhir_adverse_event(event, cats=labels.category_labels(str(settings.data_dir)),
                                      base_url=settings.public_base_url, rules=rules)


@router.get("/events/export.fhir.json")
def export_fhir_bundle(request: Request, session: SessionDep, user: TriageUser):
    """A Bundle of the confirmed/closed events under the queue's filters."""
    flt = QueueFilter.from_params(request.query_params)
    flt.status = "all"
    from models import AdverseEvent
    from sqlmodel import select
    stmt = scope_events(flt.apply(select(AdverseEvent), tz=request.app.state.settings.timezone),
                        session=session, user=user).where(AdverseEvent.status.in_(exports.EXPORTABLE_FHIR))
    events = list(session.exec(flt.ordered(stmt)).all())
    bundle = exports.fhir_bundle([_fhir(request, session, e) for e in events],
                                 base_url=request.app.state.settings.public_base_url)
    audit(session=session, actor=user.username, user_id=user.id, action="export", ip=client_ip(request),
          detail={"format": "fhir", "filter": flt.query_string(), "count": len(events)})
    session.commit()
    return JSONResponse(bundle, media_type=FHIR_JSON)


@router.get("/events/{event_id}/fhir.json")
def export_fhir_one(request: Request, event: VisibleEvent, session: SessionDep, user: CurrentUser):
    if event.status not in exports.EXPORTABLE_FHIR:
        raise WebError(409, "只有已确认或已关闭的事件可以导出为 FHIR AdverseEvent")
    audit(session=session, actor=user.username, user_id=user.id, action="export", object_type="event",
          object_id=event.id, ip=client_ip(request), detail={"format": "fhir"})
    session.commit()
    return JSONResponse(_fhir(request, session, event), media_type=FHIR_JSON)
