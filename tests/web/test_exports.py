"""Exports of the filtered queue (CSV, Excel) and FHIR R4 AdverseEvent JSON of confirmed events."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlmodel import Session, select

from models import AuditLog
from tests.web.helpers import csrf, login, nlp_event

FALL = "患者夜间如厕时不慎跌倒，右髋部着地。"


def _confirm(web, eid, category="fall", severity="II"):
    r = web.post(f"/events/{eid}/confirm", data={"final_category": category, "final_severity": severity,
                                                 "csrf_token": csrf(web)}, follow_redirects=False)
    assert r.status_code == 303


def test_csv_and_excel_follow_the_filters_and_mask_names(web, users, engine, settings):
    a = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", encounter="E1")
    b = nlp_event(engine, settings, text="=HYPERLINK(\"x\") 输液外渗", evidence="输液外渗", category="infusion_injury",
                  severity="III", encounter="E2", patient_name="王强")
    login(web, "quality")
    r = web.get("/events/export.csv?category=fall")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and [row[0] for row in rows[1:]] == [str(a)]
    assert rows[1][9] == "张**" and "张秀英" not in r.content.decode("utf-8-sig")
    x = web.get("/events/export.xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    ids = [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)]
    assert sorted(ids) == sorted([a, b]) and ws.cell(row=1, column=3).value == "类别"
    assert all(not str(c.value or "").startswith("=") for row in ws.iter_rows() for c in row)
    with Session(engine) as s:
        formats = [a.detail["format"] for a in s.exec(select(AuditLog).where(AuditLog.action == "export")).all()]
    assert formats == ["csv", "xlsx"]


def test_fhir_adverse_event_for_confirmed_events_only(web, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", encounter="E7")
    other = nlp_event(engine, settings, text="患者自行拔出胃管。", evidence="自行拔出胃管", category="unplanned_extubation",
                      encounter="E8")
    login(web, "quality")
    assert web.get(f"/events/{eid}/fhir.json").status_code == 409
    _confirm(web, eid, severity="I")
    r = web.get(f"/events/{eid}/fhir.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    res = r.json()
    assert res["resourceType"] == "AdverseEvent" and res["actuality"] == "actual"
    assert res["subject"] == {"reference": "Patient/PE7"} and res["encounter"] == {"reference": "Encounter/E7"}
    assert res["event"]["coding"][0]["code"] == "fall" and res["event"]["coding"][0]["display"].startswith("跌倒")
    sev = {c["system"]: c["code"] for c in res["severity"]["coding"]}
    assert sev["http://terminology.hl7.org/CodeSystem/adverse-event-severity"] == "severe"
    assert res["seriousness"]["coding"][0]["code"] == "serious"
    for key in ("date", "detected", "recordedDate"):
        assert "T" in res[key]
    assert "张秀英" not in r.text
    bundle = web.get("/events/export.fhir.json").json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert [e["resource"]["id"] for e in bundle["entry"]] == [f"aew-{eid}"]
    assert f"aew-{other}" not in web.get("/events/export.fhir.json").text


def test_exports_need_a_triage_role(web, users, engine, settings):
    login(web, "nurse")
    assert web.get("/events/export.csv").status_code == 403
    assert web.get("/events/export.fhir.json").status_code == 403


def test_stats_counts_rule_precision(web, users, engine, settings):
    ids = [nlp_event(engine, settings, text=f"第{i}次：患者不慎跌倒。", evidence="不慎跌倒", encounter=f"E{i}",
                     rule="fall.noisy") for i in range(4)]
    good = nlp_event(engine, settings, text="患者自行拔出胃管。", evidence="自行拔出胃管", category="unplanned_extubation",
                     encounter="E9", rule="tube.good")
    login(web, "quality")
    for eid in ids[:3]:
        web.post(f"/events/{eid}/dismiss", data={"reason": "误报", "csrf_token": csrf(web)})
    _confirm(web, ids[3])
    _confirm(web, good, category="unplanned_extubation")
    page = web.get("/stats").text
    assert "按月份 × 类别" in page and "<svg" in page
    body = page.split('id="rule-precision"')[1]
    noisy_row = body.split("fall.noisy")[1].split("</tr>")[0]
    assert "25%" in noisy_row and "噪声" in noisy_row
    assert "100%" in body.split("tube.good")[1].split("</tr>")[0]
    assert "<script" not in page.split('id="stats-body"')[1]
