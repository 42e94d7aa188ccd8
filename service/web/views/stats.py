"""Statistics with server-side SVG charts; the same filters as the queue."""
from __future__ import annotations

from fastapi import APIRouter, Request

from service.deps import SessionDep
from service.web import charts, labels, stats
from service.web.auth import TriageUser
from service.web.queries import QueueFilter, departments_for_filter
from service.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/stats")
def stats_page(request: Request, session: SessionDep, user: TriageUser):
    settings = request.app.state.settings
    params = dict(request.query_params)
    params.setdefault("status", "all")
    flt = QueueFilter.from_params(params)
    cats = labels.category_labels(str(settings.data_dir))
    s = stats.compute(session=session, user=user, flt=flt, tz=settings.timezone, cats=cats)
    sev_colors = {"I": "#c0392b", "II": "#e07a1f", "III": "#d4ac0d", "IV": "#7f8c8d"}
    chart = {
        "months": charts.stacked_columns(s["months"], s["month_series"], width=1240),
        "department": charts.hbar(s["by_department"], color=charts.PALETTE[0]),
        "severity": charts.hbar([(labels.SEVERITY_LABELS[k], v) for k, v in s["by_severity"]], color=sev_colors["II"]),
        "source": charts.hbar(s["by_source"], color=charts.PALETTE[2]),
        "triage": charts.hbar([(labels.SEVERITY_LABELS[sev], round(med, 1)) for sev, n, med, _ in s["triage"]["by_severity"]
                               if med is not None], unit=" 小时", color=charts.PALETTE[4]),
    }
    ctx = dict(flt=flt, s=s, chart=chart, categories=cats, departments=departments_for_filter(session=session, user=user),
               noisy_below=stats.NOISY_BELOW, noisy_min=stats.NOISY_MIN_DECIDED)
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "stats-body":
        return render(request, "stats/_body.html", **ctx)
    return render(request, "stats/index.html", **ctx)
