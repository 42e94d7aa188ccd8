"""The outgoing-robot HTTP callback: signature, replay protection, drafts, follow-ups, commands, identity."""
from __future__ import annotations

import time

from sqlmodel import Session, select

from models import AdverseEvent, EventAction, EventStatus, OutboxMessage, User
from models.dingtalk import DingTalkContact, DingTalkMessage
from tests.dingtalk.conftest import robot_message, sign_headers


def _events(engine) -> list[AdverseEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AdverseEvent).order_by(AdverseEvent.id)).all())


def _reply_text(fake, i: int = -1) -> str:
    return fake.replies()[i].body["markdown"]["text"]


def test_signed_callback_creates_report_and_replies(send, engine, fake_dingtalk):
    r, _ = send("3床王某某今晨如厕时跌倒，左腕擦伤，已处理")
    assert r.status_code == 200, r.text
    [ev] = _events(engine)
    assert ev.category == "fall" and ev.source.value == "dingtalk" and ev.bed == "3"
    assert ev.status == EventStatus.new and ev.occurred_at is not None and ev.deadline_at is not None
    assert ev.reporter_name == "李护士" and not ev.anonymous
    [reply] = fake_dingtalk.replies()
    assert reply.accepted and reply.body["msgtype"] == "markdown"
    text = reply.body["markdown"]["text"]
    assert f"#{ev.id}" in text and "跌倒" in text and "3床" in text and "王**" in text
    assert "王某某" not in text and f"http://testserver/events/{ev.id}" in text
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage).where(OutboxMessage.topic == "event_created")).first() is not None


def test_draft_then_follow_up_completes_it(send, engine, fake_dingtalk):
    send("骨科二病区5床患者张三如厕时跌倒，右膝擦伤，已消毒包扎")
    [ev] = _events(engine)
    assert ev.status == EventStatus.draft and ev.occurred_at is None and ev.department == "骨科"
    first = _reply_text(fake_dingtalk)
    assert "请补充发生时间" in first and "张*" in first and "张三" not in first
    send("今晨6点")
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.deadline_at is not None
    assert ev.occurred_at.astimezone().hour is not None
    from zoneinfo import ZoneInfo
    assert ev.occurred_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "06:00"
    assert "已补充完整" in _reply_text(fake_dingtalk)
    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(EventAction).where(EventAction.event_id == ev.id))]
    assert "report_followup" in actions and "submitted" in actions


def test_forged_sign_is_refused_and_nothing_stored(dclient, engine, fake_dingtalk):
    msg = robot_message("3床今晨跌倒", webhook=f"{fake_dingtalk.url}/robot/session")
    r = dclient.post("/dingtalk/robot", json=msg, headers=sign_headers(secret="not-the-secret"))
    assert r.status_code == 401
    r = dclient.post("/dingtalk/robot", json=msg)
    assert r.status_code == 401
    with Session(engine) as s:
        assert s.exec(select(DingTalkMessage)).first() is None
    assert _events(engine) == [] and fake_dingtalk.replies() == []


def test_stale_timestamp_is_refused(dclient, engine, fake_dingtalk):
    msg = robot_message("3床今晨跌倒", webhook=f"{fake_dingtalk.url}/robot/session")
    old = int((time.time() - 3601) * 1000)
    assert dclient.post("/dingtalk/robot", json=msg, headers=sign_headers(ts_ms=old)).status_code == 401
    future = int((time.time() + 3700) * 1000)
    assert dclient.post("/dingtalk/robot", json=msg, headers=sign_headers(ts_ms=future)).status_code == 401
    assert _events(engine) == []


def test_same_msg_id_twice_is_one_report(send, engine, fake_dingtalk):
    r1, msg = send("12床今日14:30发现骶尾部2期压力性损伤", msg_id="msg-replay-1")
    r2, _ = send("12床今日14:30发现骶尾部2期压力性损伤", msg_id="msg-replay-1")
    assert r1.status_code == r2.status_code == 200
    assert r2.json()["status"] == "duplicate"
    assert len(_events(engine)) == 1 and len(fake_dingtalk.replies()) == 1


def test_anonymous_report_keeps_no_reporter(send, engine, fake_dingtalk):
    send("匿名 心内科20床今日上午9点发药时将头孢呋辛错发给21床患者，已报告医生")
    [ev] = _events(engine)
    assert ev.anonymous and ev.reporter_user_id is None and ev.reporter_name is None
    assert ev.category == "medication_error"
    with Session(engine) as s:
        acts = s.exec(select(EventAction).where(EventAction.event_id == ev.id)).all()
        assert all(a.actor_name in ("匿名", "system") and a.actor_user_id is None for a in acts)
        row = s.exec(select(DingTalkMessage)).one()
        assert "staff-001" not in row.sender_key
    assert "匿名" in _reply_text(fake_dingtalk)


def test_known_sender_maps_to_user_and_department(send, engine, fake_dingtalk):
    from service.db import session_scope
    from models import Role
    from service.services.accounts import create_user
    with session_scope(engine) as s:
        create_user(session=s, username="linurse", password="password-123", role=Role.reporter,
                    department="神经内科", full_name="林护士", dingtalk_staff_id="staff-777")
    send("8床今晨6点胃管滑脱，已重新置管", staff_id="staff-777", nick="小林")
    [ev] = _events(engine)
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "linurse")).one()
    assert ev.reporter_user_id == user.id and ev.reporter_name == "林护士" and ev.department == "神经内科"


def test_unknown_sender_keeps_the_nick(send, engine):
    send("ICU 8床患者凌晨2点躁动，自行拔除气管插管，立即重新插管", staff_id="staff-new", nick="王医生")
    [ev] = _events(engine)
    assert ev.reporter_user_id is None and ev.reporter_name == "王医生"
    with Session(engine) as s:
        c = s.exec(select(DingTalkContact).where(DingTalkContact.staff_id == "staff-new")).one()
        assert c.nick == "王医生" and c.user_id is None


def test_commands_help_my_reports_withdraw(send, engine, fake_dingtalk):
    send("帮助")
    assert "我的上报" in _reply_text(fake_dingtalk) and "撤回" in _reply_text(fake_dingtalk)
    send("我的上报")
    assert "还没有" in _reply_text(fake_dingtalk)
    send("3床王某某今晨如厕时跌倒，左腕擦伤，已处理")
    send("血液科9床今日15:00输注红细胞悬液约20分钟后寒战、发热，立即停止输血")
    a, b = _events(engine)
    send("我的上报")
    mine = _reply_text(fake_dingtalk)
    assert f"#{a.id}" in mine and f"#{b.id}" in mine and "输血反应" in mine
    send(f"撤回 {a.id}")
    assert "已撤回" in _reply_text(fake_dingtalk)
    send(f"撤回 {b.id}", staff_id="someone-else", nick="别人")
    assert "没有找到" in _reply_text(fake_dingtalk)
    a, b = _events(engine)
    assert a.status == EventStatus.dismissed and a.dismiss_reason == "上报人撤回" and b.status == EventStatus.new
    send("撤回")
    assert "请写明" in _reply_text(fake_dingtalk)


def test_withdraw_after_review_is_refused(send, engine, fake_dingtalk):
    send("3床王某某今晨如厕时跌倒，左腕擦伤，已处理")
    [ev] = _events(engine)
    with Session(engine) as s:
        e = s.get(AdverseEvent, ev.id)
        e.status = EventStatus.in_review
        s.add(e)
        s.commit()
    send(f"撤回 {ev.id}")
    assert "无法撤回" in _reply_text(fake_dingtalk)
    assert _events(engine)[0].status == EventStatus.in_review


def test_failed_reply_goes_to_the_outbox(send, engine, fake_dingtalk):
    fake_dingtalk.fail_next(1, "500")
    send("3床王某某今晨如厕时跌倒，左腕擦伤，已处理")
    [ev] = _events(engine)
    with Session(engine) as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.topic == "bot_reply")).one()
    assert row.payload["webhook"].endswith("/robot/session?session=s1") and row.payload["expires_at"]
    assert row.payload["msg"]["msgtype"] == "markdown" and "王某某" not in str(row.payload)
    assert row.dedup_key.startswith("bot_reply:")


def test_chatter_is_not_a_report(send, engine, fake_dingtalk):
    send("你好")
    send("谢谢！")
    assert _events(engine) == []
    assert "直接发一句话" in _reply_text(fake_dingtalk)


def test_report_merges_with_the_nlp_event_of_the_same_encounter(send, engine, settings, fake_dingtalk):
    from tests.web.helpers import nlp_event
    nlp_id = nlp_event(engine, settings, text="患者夜间如厕时跌倒，右膝擦伤", evidence="跌倒", encounter="E77")
    send("骨科12床患者刚才如厕时跌倒，右膝擦伤，已通知医生")
    with Session(engine) as s:
        events = s.exec(select(AdverseEvent)).all()
        actions = [a.action for a in s.exec(select(EventAction).where(EventAction.event_id == nlp_id))]
    assert [e.id for e in events] == [nlp_id] and "report_merged" in actions
    assert "并入事件" in _reply_text(fake_dingtalk)
