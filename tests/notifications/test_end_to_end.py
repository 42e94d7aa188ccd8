"""A fall note posted to the API becomes a signed, PHI-free markdown message at the fake DingTalk."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.dingtalk import ROBOT_PATH
from tests.notifications.conftest import ROBOT_SECRET, run_until
from tests.notifications.test_phi import ID_NO, NAME, PHONE, TEXT, assert_clean

pytestmark = pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "nlp" / "scanner.py").exists(),
                                reason="needs the NLP scanner (nlp/scanner.py, issue of the NLP engineer)")


def test_fall_note_becomes_signed_markdown_without_phi(client, auth, run_worker, dispatcher, fake):
    note = {"id": "nursing-2026-0001", "text": TEXT, "note_type": "护理记录", "patient_id": "P0001",
            "encounter_id": "E0001", "department": "骨科一病区", "bed": "12", "time": "2026-11-30T06:40:00+08:00",
            "patient": {"name": NAME, "sex": "男", "age": 77}}
    r = client.post("/api/v1/notes", json=note, headers=auth)
    assert r.status_code == 202, r.text
    assert run_worker() == 1
    events = client.get("/api/v1/events?category=fall", headers=auth).json()
    ev = (events["items"] if isinstance(events, dict) else events)[0]
    assert ev["severity"] in ("I", "II"), ev                         # a fall with injury goes out at once
    run_until(dispatcher, lambda: fake.delivered(ROBOT_PATH))
    req, = [x for x in fake.received(ROBOT_PATH) if x.accepted]
    assert req.query["timestamp"] and req.query["sign"]            # the fake checked them against ROBOT_SECRET
    assert ROBOT_SECRET not in json.dumps(req.body, ensure_ascii=False)
    body = req.body
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["text"]
    assert f"AE{ev['id']:06d}" in text and "跌倒/坠床" in text and "骨科一病区" in text and "张*" in text
    assert f"http://testserver/events/{ev['id']}" in text
    assert_clean([x.body for x in fake.received(None)])
    for s in (NAME, ID_NO, PHONE):
        assert s not in text
