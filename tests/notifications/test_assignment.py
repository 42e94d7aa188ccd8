"""Assigning an event tells the assignee: an outbox row in the same transaction, sent with an @ for them."""
from sqlmodel import Session, select

from models import AdverseEvent, OutboxMessage, Role, User
from service.db import session_scope
from service.services.triage import assign
from tests.fakes.dingtalk import ROBOT_PATH
from tests.notifications.conftest import ROBOT_TOKEN, run_until


def test_assignment_notifies_the_assignee(dispatcher, fake, file_event, engine):
    ev = file_event(severity="II")
    run_until(dispatcher, lambda: len(fake.delivered(ROBOT_PATH)) == 1)      # the "new event" message
    with session_scope(engine) as s:
        boss = User(username="qm", full_name="质控科", role=Role.quality_manager, password_hash="x")
        nurse = User(username="hn", full_name="护士长", role=Role.quality_manager, password_hash="x",
                     dingtalk_staff_id="staff-042")
        s.add(boss)
        s.add(nurse)
        s.flush()
        assign(session=s, event=s.get(AdverseEvent, ev.id), user=boss, assignee=nurse)
    with Session(engine) as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.topic == "event_assigned")).one()
        assert row.event_id == ev.id and row.payload["to_assignee"] is True
    run_until(dispatcher, lambda: len(fake.delivered(ROBOT_PATH)) == 2)
    body = [r.body for r in fake.received(ROBOT_PATH) if r.accepted and r.query.get("access_token") == ROBOT_TOKEN][-1]
    assert body["at"]["atUserIds"] == ["staff-042"] and "指派" in body["markdown"]["text"]
