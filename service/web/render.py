"""One Jinja2 environment for every page (autoescape on), and `render` that fills the common context."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from service.web import labels
from service.web.session import get_web_session

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The one template environment, built on first use."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
    t = Jinja2Templates(env=env)
    env.filters.update(mask=labels.mask_name, severity_label=lambda s: labels.SEVERITY_LABELS.get(s or "", s or ""),
                       status_label=lambda s: labels.STATUS_LABELS.get(_val(s), _val(s)),
                       source_label=lambda s: labels.SOURCE_LABELS.get(_val(s), _val(s)),
                       role_label=lambda s: labels.ROLE_LABELS.get(_val(s), _val(s)),
                       action_label=lambda s: labels.ACTION_LABELS.get(s or "", s or ""),
                       jsontext=lambda v: json.dumps(v, ensure_ascii=False, default=str))
    env.globals.update(DISMISS_REASONS=labels.DISMISS_REASONS, SEVERITY_LABELS=labels.SEVERITY_LABELS,
                       STATUS_LABELS=labels.STATUS_LABELS, SOURCE_LABELS=labels.SOURCE_LABELS)
    return t


def _val(x: Any) -> str:
    return "" if x is None else str(getattr(x, "value", x))


def local_time(request: Request):
    tz = ZoneInfo(request.app.state.settings.timezone)

    def fmt(dt: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if dt is None:
            return ""
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(tz).strftime(pattern)
    return fmt


def render(request: Request, template_name: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **ctx: Any) -> Response:
    """Render a page with: current_user, csrf_token, csrf_input(), category_label(), fmt_time(), url_with()."""
    web = get_web_session(request)
    settings = request.app.state.settings
    cats = labels.category_labels(str(settings.data_dir))

    def csrf_input() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="%s">') % escape(web.csrf_token)

    def url_with(**changes: Any) -> str:
        """The current URL's query with some parameters replaced (None removes one)."""
        params = dict(request.query_params)
        for k, v in changes.items():
            if v is None or v == "":
                params.pop(k, None)
            else:
                params[k] = str(v)
        return "?" + urlencode(params) if params else "?"

    context = {"request": request, "current_user": getattr(request.state, "user", None),
               "csrf_token": web.csrf_token, "csrf_input": csrf_input,
               "category_label": lambda c: cats.get(c or "", c or ""), "category_labels": cats,
               "fmt_time": local_time(request), "url_with": url_with,
               "is_htmx": request.headers.get("hx-request") == "true", "context_text": labels.context_text}
    context.update(ctx)
    return templates().TemplateResponse(request, template_name, context, status_code=status_code, headers=headers)
