"""PHI masking: no outgoing message body carries the patient's name, ID number, phone number or note text."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlmodel import Session, select

from models import Finding, NoteCreate, OutboxMessage, Role, User
from models.notification import DeliveryMode, RoutingRule
from notifications.phi import mask_name, scrub
from service.db import session_scope
from service.services.events import file_findings
from service.services.notes import ingest_note
from tests.fakes.dingtalk import ROBOT_PATH, WORK_NOTICE_PATH
from tests.notifications.conftest import run_until

NAME, ID_NO, PHONE = "张三丰", "110105194912310021", "13912345678"
EVIDENCE = "患者如厕时不慎跌倒，左腕擦伤"
TEXT = (f"患者{NAME}，身份证号{ID_NO}，联系电话{PHONE}。今晨6:30{EVIDENCE}，头部无外伤，"
        "立即通知值班医生，予以伤口处理。")


def identifiers() -> list[str]:
    return [NAME, NAME[1:], ID_NO, PHONE, EVIDENCE, "头部无外伤", "左腕擦伤"]


def assert_clean(bodies) -> None:
    assert bodies, "nothing was sent"
    for b in bodies:
        text = json.dumps(b, ensure_ascii=False)
        for secret in identifiers():
            assert secret not in text, f"{secret!r} leaked in {text[:200]}"


def test_mask_name_and_scrub():
    assert mask_name("张三丰") == "张*" and mask_name("欧阳娜娜") == "欧*" and mask_name("") is None
    assert "110105194912310021" not in scrub("骨科 110105194912310021")
    assert "13912345678" not in scrub("电话13912345678") and "138-1234-5678" not in scrub("138-1234-5678")
    assert scrub("骨科一病区") == "骨科一病区"


def nlp_event(engine, settings, *, severity="II", department="骨科一病区", bed="12") -> int:
    """A note with identifiers in its text and a finding on it, filed with the worker's own function."""
    with session_scope(engine) as s:
        note, _ = ingest_note(session=s, data=NoteCreate.model_validate({
            "id": f"n-{severity}-{bed}", "text": TEXT, "source_system": "his", "note_type": "护理记录",
            "patient_id": "P001", "encounter_id": f"E-{severity}-{bed}", "department": department, "bed": bed,
            "time": datetime.now(timezone.utc).isoformat(), "patient": {"name": NAME, "sex": "男", "age": 77}}),
            client_name="his")
        start = TEXT.index(EVIDENCE)
        f = Finding(note_id=note.id, kind="event", category="fall", severity=severity, start=start,
                    end=start + len(EVIDENCE), evidence=EVIDENCE, confidence=0.9, rule="fall.event.v1",
                    explanation=f"护理记录中描述了{EVIDENCE}", context={}, section="护理记录")
        s.add(f)
        s.flush()
        return file_findings(session=s, note=note, findings=[f], settings=settings)[0].id


def test_no_identifier_in_any_outgoing_body(dispatcher, fake, engine, settings, clock):
    with session_scope(engine) as s:
        u = User(username="hn", full_name="护士长", role=Role.quality_manager, password_hash="x",
                 dingtalk_staff_id="staff-9")
        s.add(u)
        s.flush()
        s.add(RoutingRule(name="质控群", priority=1, target="robot:default"))
        s.add(RoutingRule(name="护士长", priority=2, target="work_notice", user_ids=[u.id],
                          mode=DeliveryMode.immediate))
    severe = nlp_event(engine, settings, severity="II")
    nlp_event(engine, settings, severity="III", bed="13")
    run_until(dispatcher, lambda: fake.delivered(ROBOT_PATH) and fake.delivered(WORK_NOTICE_PATH))
    clock.advance(16 * 60)
    run_until(dispatcher, lambda: len(fake.delivered(ROBOT_PATH)) == 2)
    sent = fake.delivered(ROBOT_PATH)
    assert "张*" in sent[0]["markdown"]["text"] and f"AE{severe:06d}" in sent[0]["markdown"]["text"]
    assert "汇总" in sent[1]["markdown"]["title"]
    assert_clean([r.body for r in fake.received(None)])          # everything DingTalk received, any path
    with Session(engine) as s:                                   # and the outbox rows themselves
        assert_clean([r.payload for r in s.exec(select(OutboxMessage)).all()])
