"""From POST to event: the worker scans, stores findings, merges events, writes outbox rows; reads are audited."""
from sqlmodel import Session, func, select

from models import AdverseEvent, AuditLog, Finding, OutboxMessage

FALL = "患者夜间如厕时不慎跌倒，右髋部疼痛"


def post(client, auth, i, text, enc="E1", time=None):
    body = {"id": i, "text": text, "note_type": "护理记录", "encounter_id": enc, "patient_id": "P1",
            "department": "骨科", "bed": "12"}
    if time:
        body["time"] = time
    r = client.post("/api/v1/notes", json=body, headers=auth)
    assert r.status_code in (200, 202), r.text
    return r.json()


def test_fall_note_becomes_an_event(client, auth, run_worker, engine):
    n = post(client, auth, "n-1", FALL)
    assert run_worker() == 1
    got = client.get(n["url"], headers=auth).json()
    assert got["status"] == "scanned"
    assert any(f["category"] == "fall" for f in got["findings"])
    f = next(f for f in got["findings"] if f["category"] == "fall")
    assert FALL[f["start"]:f["end"]] == f["evidence"]
    events = client.get("/api/v1/events", headers=auth).json()
    assert len(events) == 1
    ev = events[0]
    assert ev["category"] == "fall" and ev["status"] == "new" and ev["source"] == "nlp"
    assert ev["note_ids"] == [n["id"]] and ev["findings"][0]["category"] == "fall"
    assert ev["severity"] in ("I", "II", "III", "IV") and ev["deadline_at"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(OutboxMessage)).one() == 1
        assert s.exec(select(AuditLog).where(AuditLog.action == "view_note")).first() is not None


def test_same_encounter_and_category_merge_into_one_event(client, auth, run_worker):
    post(client, auth, "n-1", FALL, time="2026-11-20T02:00:00+08:00")
    post(client, auth, "n-2", "患者昨夜跌倒后诉右髋部疼痛加重，复查X线示右股骨颈骨折。", time="2026-11-20T09:00:00+08:00")
    post(client, auth, "n-3", FALL, enc="E2", time="2026-11-20T03:00:00+08:00")
    run_worker()
    events = client.get("/api/v1/events?category=fall", headers=auth).json()
    assert len(events) == 2
    merged = next(e for e in events if e["encounter_id"] == "E1")
    assert len(merged["note_ids"]) == 2 and len(merged["findings"]) >= 2


def test_new_version_of_a_note_does_not_make_a_second_event(client, auth, run_worker, engine):
    post(client, auth, "n-1", FALL)
    run_worker()
    post(client, auth, "n-1", FALL + "，已通知值班医生。")
    run_worker()
    assert len(client.get("/api/v1/events", headers=auth).json()) == 1
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(AdverseEvent)).one() == 1


def test_negative_note_makes_no_event(client, auth, run_worker):
    post(client, auth, "n-1", "Morse跌倒评估50分，高危，落实防跌倒措施。否认跌倒史。")
    run_worker()
    assert client.get("/api/v1/events", headers=auth).json() == []


def test_events_filters(client, auth, run_worker):
    post(client, auth, "n-1", FALL)
    run_worker()
    assert len(client.get("/api/v1/events?status=new&category=fall", headers=auth).json()) == 1
    assert client.get("/api/v1/events?category=pressure_injury", headers=auth).json() == []
    assert client.get("/api/v1/events?status=bogus", headers=auth).status_code == 422


def test_sync_scan_stores_nothing(client, auth, engine):
    r = client.post("/api/v1/scan", json={"text": FALL, "note_type": "护理记录"}, headers=auth)
    assert r.status_code == 200
    assert any(f["category"] == "fall" for f in r.json()["findings"])
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Finding)).one() == 0
    bad = client.post("/api/v1/scan", json={"text": FALL, "patient": {"sex": "X"}}, headers=auth)
    assert bad.status_code == 422 and "男" in bad.json()["detail"]["message"]


def test_health_and_metrics(client, auth, run_worker):
    post(client, auth, "n-1", FALL)
    run_worker()
    h = client.get("/healthz").json()
    assert h["database"] is True
    m = client.get("/metrics").text
    assert 'aew_notes_ingested_total{result="accepted"} 1.0' in m
    assert 'aew_scan_queue_depth{status="done"} 1.0' in m
    assert 'aew_events{category="fall",status="new"} 1.0' in m
