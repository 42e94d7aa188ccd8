"""The outbox dispatcher against the fake DingTalk: order, exactly-once after outages, rate limit, digests,
config errors without a retry storm, dead letters, leases, routing rules, escalation, quiet hours."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from models import AdverseEvent, OutboxMessage, OutboxStatus, Role, User
from models.notification import ChannelStatus, DeliveryMode, DispatcherLease, RoutingRule
from notifications.dispatcher import backoff_delay
from notifications.escalation import Escalator
from notifications.outbox import enqueue_bot_reply
from service.db import session_scope
from tests.fakes.dingtalk import ROBOT_PATH, WORK_NOTICE_PATH
from tests.notifications.conftest import ICU_TOKEN, ROBOT_TOKEN, run_until, variant


def numbers(bodies) -> list[str]:
    out = []
    for b in bodies:
        text = b["markdown"]["text"] if b["msgtype"] == "markdown" else b["actionCard"]["text"]
        out.extend(re.findall(r"事件编号：(AE\d{6})", text))
    return out


def robot_bodies(fake, token=ROBOT_TOKEN):
    return [r.body for r in fake.received(ROBOT_PATH) if r.accepted and r.query.get("access_token") == token]


def rows(engine, **where) -> list[OutboxMessage]:
    with Session(engine) as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        for k, v in where.items():
            q = q.where(getattr(OutboxMessage, k) == v)
        return list(s.exec(q).all())



def test_backoff_grows_with_jitter_and_respects_retry_after():
    lo = [backoff_delay(n, base=2, cap=600, rng=lambda: 0.0) for n in range(1, 6)]
    hi = [backoff_delay(n, base=2, cap=600, rng=lambda: 1.0) for n in range(1, 6)]
    assert lo == [1, 2, 4, 8, 16] and hi == [2, 4, 8, 16, 32]
    assert backoff_delay(20, base=2, cap=600, rng=lambda: 1.0) == 600
    assert backoff_delay(1, base=2, cap=600, retry_after=60, rng=lambda: 0.5) == 60


def test_severe_event_goes_out_at_once_signed_markdown(dispatcher, fake, file_event, engine):
    ev = file_event(severity="II")
    run_until(dispatcher, lambda: robot_bodies(fake))
    body, = robot_bodies(fake)
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["text"]
    assert f"AE{ev.id:06d}" in text and "跌倒/坠床" in text and "骨科一病区" in text and "12" in text
    assert f"http://testserver/events/{ev.id}" in text
    row, = rows(engine)
    assert row.status == OutboxStatus.sent and row.channel == "robot:default" and row.attempts == 1


def test_outage_then_every_message_once_in_order_within_rate(make_dispatcher, notify_settings, fake, file_event,
                                                             engine, clock):
    dispatcher = make_dispatcher(variant(notify_settings, notify_max_attempts=20))
    events = [file_event(severity="II", bed=str(i)) for i in range(30)]
    fake.fail_next(4, "500")
    fake.fail_next(2, "hang")
    fake.fail_next(3, "500")

    def tick():        # time passes only when the dispatcher has nothing to do (backoff or rate window)
        clock.advance(1.0)
    run_until(dispatcher, lambda: len(robot_bodies(fake)) >= 30, step=tick)
    fake.release()
    sent = numbers(robot_bodies(fake))
    assert sent == [f"AE{e.id:06d}" for e in events]              # once each, in order
    assert fake.max_in_window() <= 20
    assert not [r for r in fake.received() if r.errcode == 130101]
    assert all(r.status == OutboxStatus.sent for r in rows(engine))
    head = rows(engine)[0]
    assert head.attempts == 10                                    # 9 failures on the head, then success


def test_rate_limit_twenty_per_minute(dispatcher, fake, file_event, clock):
    for i in range(25):
        file_event(severity="I", bed=str(i))
    for _ in range(5):
        dispatcher.run_once()
    assert len(robot_bodies(fake)) == 20                          # the 21st waits for the window
    clock.advance(61)
    run_until(dispatcher, lambda: len(robot_bodies(fake)) == 25)
    assert fake.max_in_window() == 20
    assert not [r for r in fake.received() if r.errcode == 130101]


def test_forty_five_minor_events_become_one_digest(dispatcher, fake, file_event, engine, clock):
    events = [file_event(severity="III", bed=str(i)) for i in range(45)]
    for _ in range(3):
        dispatcher.run_once()
    assert robot_bodies(fake) == []                               # collecting for the digest interval
    clock.advance(15 * 60 + 1)
    run_until(dispatcher, lambda: robot_bodies(fake))
    for _ in range(3):
        dispatcher.run_once()
    body, = robot_bodies(fake)
    assert "共 45 件" in body["markdown"]["text"]
    assert numbers([{"msgtype": "markdown", "markdown": {"text": body["markdown"]["text"].replace("[AE", "事件编号：AE")}}]) \
        == [f"AE{e.id:06d}" for e in events]
    assert len(rows(engine, status=OutboxStatus.skipped)) == 45
    digest, = rows(engine, topic="digest")
    assert digest.status == OutboxStatus.sent and len(digest.payload["event_ids"]) == 45


def test_quiet_hours_hold_digests(make_dispatcher, notify_settings, fake, file_event, clock):
    local = datetime.now(timezone(timedelta(hours=8)))
    start = (local - timedelta(minutes=30)).strftime("%H:%M")
    end = (local + timedelta(minutes=30)).strftime("%H:%M")
    d = make_dispatcher(variant(notify_settings, notify_quiet_hours=f"{start}-{end}", notify_digest_minutes=1))
    file_event(severity="IV")
    file_event(severity="I")                                      # severe events ignore quiet hours
    clock.advance(120)
    for _ in range(5):
        d.run_once()
    assert len(robot_bodies(fake)) == 1
    clock.advance(40 * 60)
    run_until(d, lambda: len(robot_bodies(fake)) == 2)
    assert "汇总" in robot_bodies(fake)[1]["markdown"]["title"]


def test_bad_secret_dead_letter_no_retry_storm(make_dispatcher, notify_settings, fake, file_event, engine, clock):
    d = make_dispatcher(variant(notify_settings, dingtalk_robot_secret="SECwrong-secret"))
    for i in range(5):
        file_event(severity="II", bed=str(i))
    for _ in range(50):
        d.run_once()
        clock.advance(5)
    assert len(fake.received(ROBOT_PATH)) == 1                    # one attempt, not 5 × 8
    dead, = rows(engine, status=OutboxStatus.dead)
    assert dead.last_errcode == 310000 and dead.attempts == 1
    assert len(rows(engine, status=OutboxStatus.pending)) == 4    # kept, not lost
    with Session(engine) as s:
        st = s.get(ChannelStatus, "robot:default")
        assert st.config_error and st.last_errcode == 310000 and st.paused_until is not None
    clock.advance(600)                                            # one probe per pause
    d.run_once()
    assert len(fake.received(ROBOT_PATH)) == 2


def test_config_fixed_resumes_at_once(make_dispatcher, notify_settings, fake, file_event, engine):
    bad = make_dispatcher(variant(notify_settings, dingtalk_robot_secret="SECwrong"), owner="p1")
    file_event(severity="II")
    file_event(severity="II")
    bad.run_once()
    bad.leases.release_all()
    good = make_dispatcher(notify_settings, owner="p2")          # restarted with the right secret
    run_until(good, lambda: len(robot_bodies(fake)) == 1)
    assert len(rows(engine, status=OutboxStatus.dead)) == 1


def test_dead_after_max_attempts(make_dispatcher, notify_settings, fake, file_event, engine, clock):
    d = make_dispatcher(variant(notify_settings, notify_max_attempts=3))
    file_event(severity="II")
    fake.set_mode("500")
    for _ in range(20):
        d.run_once()
        clock.advance(1)
    row, = rows(engine)
    assert row.status == OutboxStatus.dead and row.attempts == 3 and row.last_errcode == 500
    assert len(fake.received(ROBOT_PATH)) == 3


def test_one_sender_per_robot_across_dispatchers(make_dispatcher, notify_settings, fake, file_event, engine, clock):
    a = make_dispatcher(notify_settings, owner="proc-a")
    b = make_dispatcher(notify_settings, owner="proc-b")
    for i in range(6):
        file_event(severity="II", bed=str(i))
    for _ in range(5):
        a.run_once()
        b.run_once()
    assert len(robot_bodies(fake)) == 6 and len(set(numbers(robot_bodies(fake)))) == 6
    with Session(engine) as s:
        assert s.get(DispatcherLease, "robot:default").owner == "proc-a"
    file_event(severity="II")
    clock.advance(notify_settings.notify_lease_seconds + 1)       # proc-a died: its lease runs out
    run_until(b, lambda: len(robot_bodies(fake)) == 7)
    with Session(engine) as s:
        assert s.get(DispatcherLease, "robot:default").owner == "proc-b"


def test_no_robot_configured_goes_to_log(make_dispatcher, file_event, engine):
    from notifications.settings import NotifySettings
    d = make_dispatcher(NotifySettings(notify_poll_seconds=0.01))
    file_event(severity="I")
    run_until(d, lambda: d.channels["log"].sent)
    assert rows(engine)[0].channel == "log" and rows(engine)[0].status == OutboxStatus.sent


def test_routing_rules_robot_people_and_silence(dispatcher, fake, file_event, engine):
    with session_scope(engine) as s:
        u = User(username="hn", full_name="护士长", role=Role.quality_manager, password_hash="x",
                 dingtalk_staff_id="staff-007", mobile="13800000000")
        s.add(u)
        s.flush()
        s.add(RoutingRule(name="ICU 到 ICU 群", priority=10, departments=["ICU"], target="robot:icu",
                          mode=DeliveryMode.immediate, stop=True))
        s.add(RoutingRule(name="跌倒通知护士长", priority=20, categories=["fall"], target="work_notice",
                          user_ids=[u.id], mode=DeliveryMode.immediate))
        s.add(RoutingRule(name="全部到质控群", priority=30, target="robot:default"))
        s.add(RoutingRule(name="不通知文书错误", priority=5, categories=["term_typo"], target="none", stop=True))
    icu = file_event(severity="III", department="ICU")
    fall = file_event(severity="II", department="骨科")
    file_event(severity="II", category="term_typo", department="骨科")
    run_until(dispatcher, lambda: robot_bodies(fake, ICU_TOKEN) and robot_bodies(fake)
              and fake.delivered(WORK_NOTICE_PATH))
    assert numbers(robot_bodies(fake, ICU_TOKEN)) == [f"AE{icu.id:06d}"]
    assert numbers(robot_bodies(fake)) == [f"AE{fall.id:06d}"]
    notice, = fake.delivered(WORK_NOTICE_PATH)
    assert notice["userid_list"] == "staff-007" and f"AE{fall.id:06d}" in notice["msg"]["action_card"]["markdown"]
    assert [r.status for r in rows(engine) if r.channel == "none"] == [OutboxStatus.skipped]


def test_escalation_once_for_overdue_untriaged_event(dispatcher, fake, file_event, engine, clock):
    ev = file_event(severity="III")
    dispatcher.run_once()
    later = type(clock)()          # the escalation loop's own clock (DingTalk's stays now: signatures stay valid)
    esc = Escalator(engine=engine, poll_seconds=1, clock=later)
    assert esc.run_once() == 0
    later.advance(73 * 3600)
    assert esc.run_once() == 1 and esc.run_once() == 0
    with Session(engine) as s:
        assert s.get(AdverseEvent, ev.id).escalated_at is not None
    run_until(dispatcher, lambda: any("逾期" in b["markdown"]["text"] for b in robot_bodies(fake)))
    escalations = [b for b in robot_bodies(fake) if "逾期未处理" in b["markdown"]["text"]]
    assert len(escalations) == 1 and f"AE{ev.id:06d}" in escalations[0]["markdown"]["text"]


def test_bot_reply_through_session_webhook_and_expiry(dispatcher, fake, engine):
    url = f"{fake.url}/robot/sendBySession?session=conv-1"
    soon = (datetime.now(timezone.utc) + timedelta(minutes=10)).isoformat()
    gone = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    msg = {"msgtype": "text", "text": {"content": "已收到您的上报，编号 AE000001"}}
    with session_scope(engine) as s:
        enqueue_bot_reply(session=s, dedup_key="reply:m1", webhook=url, expires_at=soon, msg=msg)
        enqueue_bot_reply(session=s, dedup_key="reply:m2", webhook=url, expires_at=gone, msg=msg)
    run_until(dispatcher, lambda: all(r.status != OutboxStatus.pending for r in rows(engine)))
    assert fake.delivered("/robot/sendBySession") == [msg]
    assert [r.status for r in rows(engine)] == [OutboxStatus.sent, OutboxStatus.dead]
    assert "expired" in rows(engine)[1].last_error
