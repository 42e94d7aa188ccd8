"""OA approval form "不良事件上报": on a finished, approved instance, fetch its form values and file the event."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml
from sqlmodel import Session, select

from models import EventSource, Note
from models.base import utcnow
from models.dingtalk import DingTalkApproval
from service.dingtalk.bot import BotContext, UNCLASSIFIED, _department_code, _departments
from service.dingtalk.identity import resolve_reporter
from service.dingtalk.keywords import category_labels, keyword_table
from service.dingtalk.parsing import ParsedReport, extract_time, parse_report
from service.services.reports import file_manual_report

log = logging.getLogger("aew.dingtalk")

FORM_KEYS = {"category", "occurred_at", "department", "bed", "patient", "encounter_id", "patient_id",
             "description", "severity", "actions", "anonymous"}
ROMAN = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV", "1": "I", "2": "II", "3": "III", "4": "IV",
         "一": "I", "二": "II", "三": "III", "四": "IV"}
SEVERITY_WORDS = {"警讯": "I", "不良后果": "II", "未造成后果": "III", "隐患": "IV", "近似错误": "IV"}
YES = {"是", "yes", "true", "1", "匿名", "是（匿名）"}


class ApprovalFetchError(Exception):
    """The approval instance could not be fetched (DingTalk down, bad credentials)."""


@lru_cache(maxsize=4)
def form_fields(data_dir: str) -> dict[str, tuple[str, ...]]:
    """Field roles → the form field names that may hold them (data/dingtalk/approval_form.yaml)."""
    path = Path(data_dir) / "dingtalk" / "approval_form.yaml"
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    if set(raw) - {"fields"}:
        raise ValueError(f"{path}: unknown keys {sorted(set(raw) - {'fields'})}")
    fields = raw.get("fields") or {}
    if set(fields) - FORM_KEYS:
        raise ValueError(f"{path}: unknown fields {sorted(set(fields) - FORM_KEYS)}")
    return {k: tuple(v or ()) for k, v in fields.items()}


class ApprovalFetcher:
    """Fetches an instance through dingtalk-sdk's AppKeyClient (token cached); the base URL comes from
    AEW_DINGTALK_API_BASE so tests point it at a fake."""

    def __init__(self, *, api_base: str, app_key: str, app_secret: str, timeout: float = 5.0):
        from dingtalk.client import AppKeyClient
        self.client = AppKeyClient(app_key, app_key, app_secret, timeout=timeout)
        self.client.API_BASE_URL = api_base.rstrip("/") + "/"

    def __call__(self, process_instance_id: str) -> dict[str, Any]:
        from dingtalk.core.exceptions import DingTalkClientException
        try:
            res = self.client.post("/topapi/processinstance/get", {"process_instance_id": process_instance_id})
        except (DingTalkClientException, OSError) as e:
            raise ApprovalFetchError(f"{type(e).__name__}: {e}") from None
        except Exception as e:  # noqa: BLE001 — requests' own errors
            raise ApprovalFetchError(f"{type(e).__name__}: {e}") from None
        inst = res.get("process_instance") if isinstance(res, dict) else None
        if not isinstance(inst, dict):
            raise ApprovalFetchError("answer has no process_instance")
        return inst


def _form_values(instance: dict[str, Any], fields: dict[str, tuple[str, ...]]) -> dict[str, str]:
    raw = {}
    for comp in instance.get("form_component_values") or []:
        name, value = comp.get("name"), comp.get("value")
        if name and value not in (None, "", "null"):
            raw[str(name).strip()] = str(value).strip()
    out = {}
    for role, names in fields.items():
        for n in names:
            if n in raw:
                out[role] = raw[n]
                break
    return out


def _category(value: str | None, data_dir: str) -> str | None:
    if not value:
        return None
    labels = category_labels(data_dir)
    if value in labels:
        return value
    for code, label in labels.items():
        if value == label or value in label.split("/") or label.startswith(value) or value in label:
            return code
    return keyword_table(data_dir).category(value)


def _severity(value: str | None) -> str | None:
    if not value:
        return None
    m = re.search(r"(IV|III|II|I|[ⅠⅡⅢⅣ1-4一二三四])\s*级?", value.upper().replace("Ｉ", "I"))
    if m:
        v = m.group(1)
        return ROMAN.get(v, v)
    return next((lvl for w, lvl in SEVERITY_WORDS.items() if w in value), None)


def _when(value: str | None, ctx: BotContext, now: datetime) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=ctx.tz)
        except ValueError:
            continue
    return extract_time(value, now=now, tz=ctx.tz)[0]


def report_from_form(*, instance: dict[str, Any], ctx: BotContext, scanner, now: datetime,
                     departments: tuple[str, ...] = ()) -> tuple[ParsedReport, dict[str, str]]:
    """The form's values, with the free-text description parsed for whatever the fields leave out."""
    vals = _form_values(instance, form_fields(ctx.data_dir))
    text = vals.get("description") or instance.get("title") or ""
    rep = parse_report(text, table=keyword_table(ctx.data_dir), now=now, tz=ctx.tz, scanner=scanner,
                       departments=departments)
    cat = _category(vals.get("category"), ctx.data_dir)
    if cat:
        rep.category, rep.category_source = cat, "form"
        if rep.severity_source != "hint":
            rep.severity, rep.severity_source = keyword_table(ctx.data_dir).default_severity(cat), "default"
    sev = _severity(vals.get("severity"))
    if sev:
        rep.severity, rep.severity_source = sev, "form"
    when = _when(vals.get("occurred_at"), ctx, now)
    if when:
        rep.occurred_at, rep.time_approx = when, False
    if vals.get("department"):
        rep.ward = rep.department = vals["department"]
    if vals.get("bed"):
        rep.bed = vals["bed"].replace("床", "").replace("号", "").strip()
    if vals.get("patient"):
        rep.patient = vals["patient"]
    if vals.get("actions"):
        rep.actions = vals["actions"]
    if vals.get("anonymous", "").lower() in YES:
        rep.anonymous = True
    return rep, vals


def _source_system(session: Session, encounter_id: str | None, patient_id: str | None) -> str | None:
    col, val = (Note.encounter_id, encounter_id) if encounter_id else (Note.patient_id, patient_id)
    if not val:
        return None
    systems = set(session.exec(select(Note.source_system).where(col == val).limit(50)).all())
    return systems.pop() if len(systems) == 1 else None


def handle_approval_event(*, session: Session, ctx: BotContext, payload: dict[str, Any],
                          fetch: Callable[[str], dict[str, Any]], now: datetime | None = None) -> DingTalkApproval | None:
    """bpms_instance_change: remember the instance; when it finished approved, fetch it and file the event.
    Raises ApprovalFetchError (after recording it) so the caller can let DingTalk retry."""
    now = now or utcnow()
    pid = payload.get("processInstanceId")
    code = payload.get("processCode")
    if not pid:
        return None
    row = session.exec(select(DingTalkApproval).where(DingTalkApproval.process_instance_id == pid)).first()
    if row is None:
        row = DingTalkApproval(process_instance_id=pid, process_code=code)
        session.add(row)
        session.flush()
    if row.status in ("filed", "ignored"):
        return row
    wanted = ctx.dt.dingtalk_approval_process_code
    result = payload.get("result")
    row.result, row.updated_at = result or row.result, now
    if wanted and code and code != wanted:
        row.status = "ignored"
        return row
    if payload.get("type") != "finish":
        return row
    if result and result != "agree":
        row.status = "ignored"
        return row
    try:
        instance = fetch(pid)
    except ApprovalFetchError as e:
        row.status, row.error = "failed", str(e)[:500]
        session.add(row)
        raise
    deps = _departments(session)
    rep, vals = report_from_form(instance=instance, ctx=ctx, scanner=ctx.scanner(), now=now,
                                 departments=tuple(n for d in deps for n in (d.name, d.code) if n))
    who = resolve_reporter(session=session, secret=ctx.secret, staff_id=instance.get("originator_userid")
                           or payload.get("staffId"), sender_id=None, nick=None)
    enc_id, pat_id = vals.get("encounter_id"), vals.get("patient_id")
    ev, _ = file_manual_report(
        session=session, settings=ctx.settings, category=rep.category or UNCLASSIFIED, severity=rep.severity or "III",
        description=rep.text or instance.get("title") or "钉钉审批上报", source=EventSource.dingtalk,
        department=_department_code(rep, who, deps), bed=rep.bed, occurred_at=rep.occurred_at,
        encounter_id=enc_id, patient_id=pat_id, source_system=_source_system(session, enc_id, pat_id),
        reporter_user_id=who.user_id, reporter_name=who.name or instance.get("originator_userid"),
        anonymous=rep.anonymous, external_ref=f"approval:{pid}")
    row.status, row.event_id, row.error = "filed", ev.id, None
    session.add(row)
    return row
