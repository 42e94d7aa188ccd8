"""Encrypted event callbacks (check_url, approval form) and Stream mode against a fake gateway."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from dingtalk.crypto import DingTalkCrypto
from sqlmodel import Session, select

from models import AdverseEvent, EventStatus
from models.dingtalk import DingTalkApproval
from tests.dingtalk.conftest import AES_KEY, APP_KEY, APP_SECRET, CALLBACK_TOKEN, PROCESS_CODE, robot_message
from tests.fakes.dingtalk_stream import FakeStreamGateway


def _crypto() -> DingTalkCrypto:
    return DingTalkCrypto(CALLBACK_TOKEN, AES_KEY, APP_KEY)


def _post_event(client, payload: dict):
    enc = _crypto().encrypt_message(json.dumps(payload, ensure_ascii=False))
    params = {"signature": enc["msg_signature"], "timestamp": enc["timeStamp"], "nonce": enc["nonce"]}
    return client.post("/dingtalk/events", params=params, json={"encrypt": enc["encrypt"]})


def _decrypt_answer(body: dict) -> str:
    return _crypto().decrypt_message({"encrypt": body["encrypt"]}, body["msg_signature"], body["timeStamp"],
                                     body["nonce"])


def _instance(**over) -> dict:
    inst = {"title": "李护士提交的不良事件上报", "status": "COMPLETED", "result": "agree",
            "originator_userid": "staff-009", "originator_dept_name": "骨科",
            "form_component_values": [
                {"name": "事件类型", "value": "跌倒/坠床"},
                {"name": "发生时间", "value": "2026-11-28 22:30"},
                {"name": "发生科室", "value": "骨科"},
                {"name": "床号", "value": "12床"},
                {"name": "患者姓名", "value": "张三"},
                {"name": "严重程度", "value": "II级 不良后果事件"},
                {"name": "事件经过", "value": "患者夜间自行下床如厕时跌倒，右髋疼痛，X线提示股骨颈骨折"},
                {"name": "处理措施", "value": "通知医生，请骨科会诊"}]}
    inst.update(over)
    return inst


def test_check_url_answers_encrypted_success(dclient):
    r = _post_event(dclient, {"EventType": "check_url"})
    assert r.status_code == 200, r.text
    assert _decrypt_answer(r.json()) == "success"


def test_event_with_bad_signature_is_refused(dclient, engine):
    enc = _crypto().encrypt_message(json.dumps({"EventType": "check_url"}))
    r = dclient.post("/dingtalk/events", params={"signature": "0" * 40, "timestamp": enc["timeStamp"],
                                                 "nonce": enc["nonce"]}, json={"encrypt": enc["encrypt"]})
    assert r.status_code == 401


def test_approval_event_creates_an_event(dclient, engine, fake_dingtalk):
    fake_dingtalk.instances["proc-1"] = _instance()
    base = {"EventType": "bpms_instance_change", "processInstanceId": "proc-1", "processCode": PROCESS_CODE,
            "corpId": "ding-corp", "staffId": "staff-009"}
    r = _post_event(dclient, {**base, "type": "start"})
    assert _decrypt_answer(r.json()) == "success"
    with Session(engine) as s:
        assert s.exec(select(AdverseEvent)).first() is None
    r = _post_event(dclient, {**base, "type": "finish", "result": "agree"})
    assert r.status_code == 200 and _decrypt_answer(r.json()) == "success"
    r = _post_event(dclient, {**base, "type": "finish", "result": "agree"})     # DingTalk retries: still one
    assert _decrypt_answer(r.json()) == "success"
    with Session(engine) as s:
        [ev] = s.exec(select(AdverseEvent)).all()
        row = s.exec(select(DingTalkApproval)).one()
    assert ev.category == "fall" and ev.severity == "II" and ev.bed == "12" and ev.department == "骨科"
    assert ev.status == EventStatus.new and ev.external_ref == "approval:proc-1" and ev.source.value == "dingtalk"
    assert row.status == "filed" and row.event_id == ev.id
    assert len(fake_dingtalk.received("/topapi/processinstance/get")) == 1
    assert len(fake_dingtalk.received("/gettoken")) == 1


def test_approval_of_another_process_or_refused_is_ignored(dclient, engine, fake_dingtalk):
    fake_dingtalk.instances["proc-2"] = _instance()
    _post_event(dclient, {"EventType": "bpms_instance_change", "processInstanceId": "proc-2",
                          "processCode": "PROC-LEAVE", "type": "finish", "result": "agree"})
    _post_event(dclient, {"EventType": "bpms_instance_change", "processInstanceId": "proc-3",
                          "processCode": PROCESS_CODE, "type": "finish", "result": "refuse"})
    with Session(engine) as s:
        assert s.exec(select(AdverseEvent)).first() is None
        assert {r.status for r in s.exec(select(DingTalkApproval))} == {"ignored"}


def test_approval_fetch_failure_lets_dingtalk_retry(dclient, engine, fake_dingtalk):
    payload = {"EventType": "bpms_instance_change", "processInstanceId": "proc-missing",
               "processCode": PROCESS_CODE, "type": "finish", "result": "agree"}
    r = _post_event(dclient, payload)
    assert r.status_code == 503
    with Session(engine) as s:
        assert s.exec(select(DingTalkApproval)).one().status == "failed"
    fake_dingtalk.instances["proc-missing"] = _instance()
    r = _post_event(dclient, payload)
    assert r.status_code == 200
    with Session(engine) as s:
        assert s.exec(select(DingTalkApproval)).one().status == "filed"


@pytest.fixture
def gateway():
    with FakeStreamGateway(client_id=APP_KEY, client_secret=APP_SECRET) as gw:
        yield gw


def test_stream_frame_creates_report_and_is_acked(engine, bot_ctx, fake_dingtalk, gateway):
    from service.dingtalk.approval import ApprovalFetcher
    from service.dingtalk.stream import build_client
    bot_ctx.dt.dingtalk_openapi_endpoint = gateway.endpoint
    fetch = ApprovalFetcher(api_base=fake_dingtalk.url, app_key=APP_KEY, app_secret=APP_SECRET)
    client = build_client(engine=engine, ctx=bot_ctx, fetch=fetch)
    stop = threading.Event()
    t = threading.Thread(target=lambda: asyncio.run(client.run(stop)), daemon=True)
    t.start()
    try:
        gateway.wait_connected()
        opened = gateway.open_requests[0]
        assert opened["clientId"] == APP_KEY
        assert {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"} in opened["subscriptions"]
        msg = robot_message("神经内科18床今日中午进食馒头时噎食，立即海姆立克急救后咳出",
                            webhook=f"{fake_dingtalk.url}/robot/session?session=stream")
        ack = gateway.wait_ack(gateway.push_chatbot(msg))
        assert ack["code"] == 200
        again = gateway.wait_ack(gateway.push_chatbot(msg))            # redelivered frame: acked, filed once
        assert again["code"] == 200
        fake_dingtalk.instances["proc-s"] = _instance()
        ev_ack = gateway.wait_ack(gateway.push_event("bpms_instance_change", {
            "processInstanceId": "proc-s", "processCode": PROCESS_CODE, "type": "finish", "result": "agree"}))
        assert ev_ack["code"] == 200
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()
    with Session(engine) as s:
        events = s.exec(select(AdverseEvent).order_by(AdverseEvent.id)).all()
    assert [e.category for e in events] == ["aspiration_choking", "fall"]
    assert events[0].bed == "18" and events[0].department == "神经内科"
    [reply] = fake_dingtalk.replies()
    assert "#%d" % events[0].id in reply.body["markdown"]["text"]
