"""Ingest API: auth, validation, idempotency, versions, limits, batches."""
from sqlmodel import Session, func, select

from models import Note, ScanJob

FALL = "患者夜间如厕时不慎跌倒，右髋部疼痛"


def note(i="n-1", text=FALL, **kw):
    return {"id": i, "text": text, "note_type": "护理记录", "encounter_id": "E1", "patient_id": "P1",
            "department": "骨科", **kw}


def count(engine, model):
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_requires_api_key(client):
    r = client.post("/api/v1/notes", json=note())
    assert r.status_code == 401
    assert "API" in r.json()["detail"]["message"]
    r = client.post("/api/v1/notes", json=note(), headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_post_note_stores_note_and_job_and_answers_202(client, auth, engine):
    r = client.post("/api/v1/notes", json=note(), headers=auth)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["url"] == f"/api/v1/notes/{body['id']}"
    assert r.headers["location"] == body["url"]
    assert count(engine, Note) == 1 and count(engine, ScanJob) == 1
    got = client.get(body["url"], headers=auth).json()
    assert got["status"] == "pending" and got["text"] == FALL and got["source_system"] == "his-test"


def test_same_note_twice_returns_the_first(client, auth, engine):
    first = client.post("/api/v1/notes", json=note(), headers=auth)
    again = client.post("/api/v1/notes", json=note(), headers=auth)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "duplicate"
    assert count(engine, Note) == 1 and count(engine, ScanJob) == 1


def test_changed_text_is_a_new_version(client, auth, engine):
    a = client.post("/api/v1/notes", json=note(), headers=auth).json()
    b = client.post("/api/v1/notes", json=note(text=FALL + "，已通知医生。"), headers=auth)
    assert b.status_code == 202
    assert b.json()["version"] == 2 and b.json()["id"] != a["id"]
    assert count(engine, ScanJob) == 2


def test_bad_input_gets_clear_4xx(client, auth, settings):
    r = client.post("/api/v1/notes", json={"text": FALL}, headers=auth)
    assert r.status_code == 422 and "id" in r.json()["detail"]["message"]
    r = client.post("/api/v1/notes", json=note(text="   "), headers=auth)
    assert r.status_code == 422 and "不能为空" in r.json()["detail"]["message"]
    r = client.post("/api/v1/notes", json=note(text="跌" * (settings.max_note_chars + 1)), headers=auth)
    assert r.status_code == 413 and "字符" in r.json()["detail"]["message"]
    r = client.post("/api/v1/notes", content=b"{not json", headers={**auth, "content-type": "application/json"})
    assert r.status_code == 422
    r = client.post("/api/v1/notes", json=note(patient={"sex": "男", "age": -3}), headers=auth)
    assert r.status_code == 422


def test_batch_is_all_or_nothing_and_idempotent(client, auth, engine, settings):
    notes = [note(f"b-{i}", text=f"第{i}条记录：患者生命体征平稳。") for i in range(5)]
    r = client.post("/api/v1/notes:batch", json={"notes": notes}, headers=auth)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 5 and len(r.json()["items"]) == 5
    r = client.post("/api/v1/notes:batch", json={"notes": notes + [note("b-9", text="新记录")]}, headers=auth)
    assert r.json()["accepted"] == 1 and r.json()["duplicates"] == 5
    bad = client.post("/api/v1/notes:batch", json={"notes": [note("c-1"), {"id": "c-2"}]}, headers=auth)
    assert bad.status_code == 422 and "notes.1" in bad.json()["detail"]["message"]
    assert count(engine, Note) == 6
    too_many = [note(f"t-{i}") for i in range(settings.max_batch + 1)]
    assert client.post("/api/v1/notes:batch", json={"notes": too_many}, headers=auth).status_code == 413


def test_unknown_note_is_404(client, auth):
    r = client.get("/api/v1/notes/999", headers=auth)
    assert r.status_code == 404 and "not found" in r.json()["detail"]["message"]
