"""The triage queue: filters, counts per status, paging; htmx swaps only the list."""
from __future__ import annotations

from fastapi import APIRouter, Request

from models.base import utcnow
from service.deps import SessionDep
from service.web import labels
from service.web.auth import CurrentUser
from service.web.queries import SORTS, QueueFilter, departments_for_filter, queue_page
from service.web.render import render

router = APIRouter(include_in_schema=False)
DONE = {"dismiss": "已排除", "merge": "已合并", "confirm": "已确认"}


@router.get("/events")
def queue(request: Request, session: SessionDep, user: CurrentUser):
    settings = request.app.state.settings
    flt = QueueFilter.from_params(request.query_params)
    page = queue_page(session=session, user=user, flt=flt, tz=settings.timezone, data_dir=str(settings.data_dir))
    ctx = dict(flt=flt, page=page, now=utcnow(), sorts=SORTS,
               deadlines=[(sev, settings.deadline_hours(sev)) for sev in ("I", "II", "III", "IV")],
               departments=departments_for_filter(session=session, user=user),
               categories=labels.category_labels(str(settings.data_dir)))
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "queue":
        return render(request, "events/_queue.html", **ctx)
    done, done_id = request.query_params.get("done"), request.query_params.get("id", "")
    flash = f"事件 #{done_id} {DONE[done]}" if done in DONE and done_id.isdigit() else None
    return render(request, "events/queue.html", flash=flash, **ctx)
