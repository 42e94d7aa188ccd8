"""Exports of the filtered queue (CSV, Excel) and FHIR R4 AdverseEvent resources of confirmed events."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Callable

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from models import AdverseEvent, EventStatus
from service.web import labels

COLUMNS = ["编号", "类型", "类别", "类别代码", "严重程度", "状态", "来源", "科室", "床号", "患者", "住院号",
           "发生时间", "发现时间", "审核期限", "首次审核", "逾期", "处理人", "排除原因", "最终类别", "最终严重程度",
           "根本原因", "整改措施", "摘要"]
FHIR_CATEGORY_SYSTEM = "urn:aew:taxonomy:category"
FHIR_SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
FHIR_SERIOUSNESS_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
FHIR_LEVEL_SYSTEM = "urn:aew:severity-level"      # 国家标准 I–IV 级
_FHIR_SEVERITY = {"I": "severe", "II": "moderate", "III": "mild", "IV": "mild"}
EXPORTABLE_FHIR = (EventStatus.confirmed, EventStatus.closed)


def table_rows(events: list[AdverseEvent], *, names: dict[int, str], patients: dict[int, str],
               cats: dict[str, str], fmt: Callable[[datetime | None], str], now: datetime) -> list[list[Any]]:
    """One row per event; patient names masked."""
    rows = []
    for e in events:
        overdue = bool(e.deadline_at and e.status in (EventStatus.new, EventStatus.in_review) and e.deadline_at < now)
        rows.append([e.id, "文书错误" if e.kind == "doc_error" else "不良事件", cats.get(e.category, e.category),
                     e.category, labels.SEVERITY_LABELS.get(e.severity, e.severity),
                     labels.STATUS_LABELS.get(e.status.value, e.status.value),
                     labels.SOURCE_LABELS.get(e.source.value, e.source.value), e.department or "", e.bed or "",
                     labels.mask_name(patients.get(e.id)), e.encounter_id or "", fmt(e.occurred_at),
                     fmt(e.detected_at), fmt(e.deadline_at), fmt(e.first_reviewed_at), "是" if overdue else "",
                     names.get(e.assignee_id, "") if e.assignee_id else "", e.dismiss_reason or "",
                     cats.get(e.final_category, e.final_category or ""), e.final_severity or "", e.root_cause or "",
                     e.corrective_actions or "", e.summary or ""])
    return rows


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (=, +, -, @) in text cells."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[list[Any]], columns: list[str] = COLUMNS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([_cell(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")   # BOM: Excel opens UTF-8 CSV correctly


def to_xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "不良事件"
    ws.append(COLUMNS)
    for c in ws[1]:
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor="2F5D8A")
    for r in rows:
        ws.append([_cell(v) for v in r])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for col, width in zip("ABCDEFGHIJKLMNOPQRSTUVW", (8, 10, 24, 18, 16, 8, 10, 12, 6, 8, 14, 17, 17, 17, 17, 6,
                                                       12, 12, 24, 8, 30, 30, 40)):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def fhir_adverse_event(event: AdverseEvent, *, cats: dict[str, str], base_url: str,
                       rules: list[str] | None = None) -> dict[str, Any]:
    """A FHIR R4 AdverseEvent for a confirmed (or closed) event. No patient name: subject is a reference."""
    category = event.final_category or event.category
    level = event.final_severity or event.severity
    res: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": f"aew-{event.id}",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/AdverseEvent"]},
        "identifier": {"system": f"{base_url.rstrip('/')}/events", "value": str(event.id)},
        "actuality": "potential" if level == "IV" else "actual",
        "event": {"coding": [{"system": FHIR_CATEGORY_SYSTEM, "code": category, "display": cats.get(category, category)}],
                  "text": cats.get(category, category)},
        "subject": ({"reference": f"Patient/{event.patient_id}"} if event.patient_id else {"display": "未记录患者"}),
        "seriousness": {"coding": [{"system": FHIR_SERIOUSNESS_SYSTEM,
                                    "code": "serious" if level in ("I", "II") else "non-serious",
                                    "display": "Serious" if level in ("I", "II") else "Non-serious"}]},
        "severity": {"coding": [{"system": FHIR_SEVERITY_SYSTEM, "code": _FHIR_SEVERITY.get(level, "mild"),
                                 "display": _FHIR_SEVERITY.get(level, "mild").capitalize()},
                                {"system": FHIR_LEVEL_SYSTEM, "code": level,
                                 "display": labels.SEVERITY_LABELS.get(level, level)}]},
    }
    if event.encounter_id:
        res["encounter"] = {"reference": f"Encounter/{event.encounter_id}"}
    if event.occurred_at:
        res["date"] = event.occurred_at.isoformat()
    res["detected"] = event.detected_at.isoformat()
    res["recordedDate"] = event.created_at.isoformat()
    if event.department:
        res["location"] = {"display": event.department + (f" {event.bed}床" if event.bed else "")}
    if event.reporter_name and not event.anonymous:
        res["recorder"] = {"display": event.reporter_name}
    notes = [t for t in (event.root_cause and f"根本原因：{event.root_cause}",
                         event.corrective_actions and f"整改措施：{event.corrective_actions}") if t]
    if notes:
        res["extension"] = [{"url": "urn:aew:rca", "valueString": "\n".join(notes)}]
    if rules:
        res.setdefault("extension", []).append({"url": "urn:aew:detection-rules", "valueString": ", ".join(rules)})
    return res


def fhir_bundle(resources: list[dict[str, Any]], *, base_url: str) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "total": len(resources),
            "entry": [{"fullUrl": f"{base_url.rstrip('/')}/fhir/AdverseEvent/{r['id']}", "resource": r}
                      for r in resources]}
