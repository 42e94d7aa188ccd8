"""No report is dropped: drafts, one question at a time, numbered category choices, the sweep that files
drafts nobody completed, corrections (audited), and the confirmation reply. Real signed robot callbacks."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from models import AdverseEvent, EventAction, EventStatus
from models.base import utcnow
from models.dingtalk import DingTalkConversation, DingTalkMessage

DT1 = Path(__file__).resolve().parent.parent / "data" / "dingtalk"


def _events(engine) -> list[AdverseEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AdverseEvent).order_by(AdverseEvent.id)).all())


def _actions(engine, event_id: int) -> list[EventAction]:
    with Session(engine) as s:
        return list(s.exec(select(EventAction).where(EventAction.event_id == event_id).order_by(EventAction.id)))


def _reply(fake) -> str:
    body = fake.replies()[-1].body
    return (body.get("markdown") or body.get("actionCard"))["text"]


def test_a_report_without_bed_or_type_is_kept_as_a_draft_and_asked_for(send, engine, fake_dingtalk):
    send("病人早上7点被发现没有呼吸心跳了，抢救45分钟无效，家属情绪激动")
    [ev] = _events(engine)
    assert ev.status == EventStatus.draft and ev.category == "cardiac_arrest_unexpected_death"
    text = _reply(fake_dingtalk)
    assert "待补充" in text and "请补充发生地点" in text and "请补充发生时间" not in text
    send("呼吸二病区31床")
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.bed == "31" and ev.department == "呼吸内科"
    assert "已补充完整" in _reply(fake_dingtalk)


def test_vague_message_gets_numbered_choices_and_a_number_answers(send, engine, fake_dingtalk):
    send("要上报一个不良事件 怎么弄")
    [ev] = _events(engine)
    assert ev.status == EventStatus.draft and ev.category == "unclassified"
    text = _reply(fake_dingtalk)
    assert "请补充事件类型" in text and "1. " in text and "2. " in text
    assert "请补充发生地点" not in text and "请补充发生时间" not in text          # one question at a time
    with Session(engine) as s:
        choices = s.exec(select(DingTalkConversation)).one().facts["extra"]["choices"]
    send("2")
    [ev] = _events(engine)
    assert ev.category == choices[1] and ev.status == EventStatus.draft
    assert "请补充发生地点" in _reply(fake_dingtalk)
    send("神内6床 凌晨1点")
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.bed == "6" and ev.department == "神经内科"
    assert ev.occurred_at is not None


def test_a_word_answers_the_category_question(send, engine, fake_dingtalk):
    send("神内15床 有个事要报一下 下午2点")
    send("跌倒")
    [ev] = _events(engine)
    assert ev.category == "fall" and ev.status == EventStatus.new


def test_a_full_description_answers_everything_at_once(send, engine, fake_dingtalk):
    send("刚才那个病人情况不太好 医生在处理 回头再补")
    send("消化内科11床，呕血后误吸了")
    [ev] = _events(engine)
    assert ev.category == "aspiration_choking" and ev.bed == "11" and ev.department == "消化内科"
    assert ev.status == EventStatus.new


def test_another_complete_report_while_a_draft_waits_is_a_new_report(send, engine, fake_dingtalk):
    send("骨科5床患者如厕时跌倒")                                      # no time: a draft
    send("心内12床今日14:30发现骶尾部2期压力性损伤")
    a, b = _events(engine)
    assert a.status == EventStatus.draft and b.category == "pressure_injury" and b.status == EventStatus.new


def test_a_draft_nobody_completes_is_filed_as_incomplete(send, engine, fake_dingtalk):
    send("引流管掉出来了 病人下床活动的时候扯掉的")
    [ev] = _events(engine)
    with Session(engine) as s:
        e = s.get(AdverseEvent, ev.id)
        e.updated_at = utcnow() - timedelta(hours=25)
        s.add(e)
        s.commit()
    send("帮助", staff_id="someone-else", conversation_id="cid-other")      # any message runs the sweep
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.summary.startswith("【待补充：") and ev.deadline_at is not None
    assert "filed_incomplete" in [a.action for a in _actions(engine, ev.id)]
    with Session(engine) as s:
        assert s.exec(select(DingTalkConversation)).first() is None


def test_sweep_command_files_stale_drafts(send, engine, settings, dt_settings, fake_dingtalk):
    from service.dingtalk.drafts import file_stale_drafts
    send("有个事要报一下")
    with Session(engine) as s:
        assert file_stale_drafts(session=s, ttl_hours=24, settings=settings, now=utcnow(),
                                 data_dir=str(settings.data_dir), labels={}) == []
        filed = file_stale_drafts(session=s, ttl_hours=24, settings=settings, now=utcnow() + timedelta(hours=25),
                                  data_dir=str(settings.data_dir), labels={})
        s.commit()
    assert len(filed) == 1
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.category == "unclassified" and "类型" in ev.summary


def test_confirmation_shows_today_and_how_to_correct(send, engine, fake_dingtalk):
    send("3床王某某今天凌晨1点如厕时跌倒，左腕擦伤，已处理")
    text = _reply(fake_dingtalk)
    assert "今天 01:00" in text and "改 时间" in text and "改 床号" in text and "王某某" not in text


def test_corrections_are_applied_and_audited(send, engine, fake_dingtalk):
    send("心内3床今天凌晨1点如厕时跌倒，左腕擦伤")
    [ev] = _events(engine)
    send("改 时间 0:40")
    send("改 床号 15")
    send("改 类型 坠床")
    send("改 科室 神内")
    [ev] = _events(engine)
    from zoneinfo import ZoneInfo
    assert ev.occurred_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "00:40"
    assert ev.bed == "15" and ev.category == "fall" and ev.department == "神经内科"
    assert "已更正" in _reply(fake_dingtalk)
    corrected = [a for a in _actions(engine, ev.id) if a.action == "report_corrected"]
    assert [a.detail["field"] for a in corrected] == ["occurred_at", "bed", "category", "department"]
    assert corrected[1].detail == {"source": "dingtalk", "field": "bed", "before": "3", "after": "15"}
    send("改 时间 明天")
    assert "没有看懂" in _reply(fake_dingtalk)
    send(f"改 {ev.id} 床号 16", staff_id="someone-else", nick="别人")
    assert "没有找到" in _reply(fake_dingtalk)


def test_correction_after_review_is_refused(send, engine, fake_dingtalk):
    send("3床王某某今晨6点如厕时跌倒")
    [ev] = _events(engine)
    with Session(engine) as s:
        e = s.get(AdverseEvent, ev.id)
        e.status = EventStatus.in_review
        s.add(e)
        s.commit()
    send("改 床号 15")
    assert "无法更正" in _reply(fake_dingtalk) and _events(engine)[0].bed == "3"


def test_correction_can_complete_a_draft(send, engine, fake_dingtalk):
    send("骨科5床患者如厕时跌倒")
    send("改 时间 6:40")
    [ev] = _events(engine)
    assert ev.status == EventStatus.new


def test_category_question_as_action_card(send, engine, fake_dingtalk, dt_settings):
    dt_settings.dingtalk_reply_action_card = True
    send("有个事要报一下")
    body = fake_dingtalk.replies()[-1].body
    assert body["msgtype"] == "actionCard"
    btns = body["actionCard"]["btns"]
    assert btns[0]["actionURL"] == "dtmd://dingtalkclient/sendMessage?content=1" and len(btns) == 5


def test_every_message_leaves_a_record(send, engine):
    for text in ("差点打错药 双人核对拦下来了", "神内15床 有个事要报一下", "十二床", "凌晨三点"):
        send(text, conversation_id=f"cid-{text}")
    with Session(engine) as s:
        rows = s.exec(select(DingTalkMessage)).all()
    assert all(r.event_id is not None for r in rows) and len(_events(engine)) == 4


@pytest.mark.parametrize("name", ["dt1-voice.jsonl", "dt1-typed.jsonl"])
def test_outside_writers_messages_meet_the_targets(name, scanner):
    """Regression on the first blind round (written outside the team): the issue's targets."""
    from service.dingtalk.evaluation import Evaluator, read_set
    from service.dingtalk.places import place_table
    from service.settings import REPO_DATA_DIR
    ev = Evaluator(scanner=scanner)
    try:
        scores = ev.run(read_set([str(DT1 / name)]))
    finally:
        ev.close()
    places = place_table(str(REPO_DATA_DIR))
    n = len(scores.outcomes)
    for field in ("category", "bed", "department", "hour"):
        ok = sum(scores.field_ok(o, field, places) for o in scores.outcomes)
        assert ok / n >= 0.95, (field, scores.misses(places))
    incomplete = [o for o in scores.outcomes if o.gold["missing"]]
    assert all(o.question in o.gold["missing"] for o in incomplete), scores.misses(places)
    assert not any(o.dropped for o in scores.outcomes)
    assert not any(o.gold["department"] is None and o.got.get("department") for o in scores.outcomes)
    assert all(o.completed for o in incomplete if o.completed is not None)


class _OneRound:
    """A stop event for a background loop: the loop runs one round, then its wait ends it (no sleeping)."""

    def __init__(self):
        self.stopped = False

    def is_set(self) -> bool:
        return self.stopped

    def wait(self, timeout=None) -> bool:
        self.stopped = True
        return True


def _age(engine, event_id: int, hours: float) -> None:
    with Session(engine) as s:
        e = s.get(AdverseEvent, event_id)
        e.updated_at = utcnow() - timedelta(hours=hours)
        s.add(e)
        s.commit()


def test_serve_loop_files_a_stale_draft_without_any_message(app, send, engine, fake_dingtalk, monkeypatch):
    from service.app import _extra_background
    monkeypatch.setenv("AEW_DINGTALK_DRAFT_SWEEP_SECONDS", "300")
    send("引流管掉出来了 病人下床活动的时候扯掉的")
    [ev] = _events(engine)
    loops = dict(_extra_background(app))
    assert "dingtalk-draft-sweep" in loops and app.state.dingtalk_draft_sweeper.poll_seconds == 300
    loops["dingtalk-draft-sweep"](_OneRound())           # a fresh draft: nothing to file yet
    [ev] = _events(engine)
    assert ev.status == EventStatus.draft
    _age(engine, ev.id, 25)                              # its last message a day ago, and nobody wrote since
    n_replies = len(fake_dingtalk.replies())
    loops["dingtalk-draft-sweep"](_OneRound())
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and ev.summary.startswith("【待补充：") and ev.deadline_at is not None
    [filed] = [a for a in _actions(engine, ev.id) if a.action == "filed_incomplete"]
    assert filed.actor_name == "system" and filed.detail["missing"] and filed.detail["ttl_hours"] == 24
    with Session(engine) as s:
        assert s.exec(select(DingTalkConversation)).first() is None
    assert len(fake_dingtalk.replies()) == n_replies       # nothing said to the reporter; the quality department
    from models.outbox import OutboxMessage                # is notified through the outbox, as for any new event
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage).where(OutboxMessage.event_id == ev.id,
                                                  OutboxMessage.topic == "event_created")).first() is not None
    loops["dingtalk-draft-sweep"](_OneRound())           # filed once only
    assert [a.action for a in _actions(engine, ev.id)].count("filed_incomplete") == 1


def test_sweeper_clock_decides_what_is_stale(send, engine, settings):
    from service.dingtalk.drafts import DraftSweeper
    send("有个事要报一下")
    [ev] = _events(engine)
    early = DraftSweeper(engine=engine, settings=settings, ttl_hours=24, poll_seconds=300,
                         clock=lambda: utcnow() + timedelta(hours=23))
    assert early.run_once() == []
    late = DraftSweeper(engine=engine, settings=settings, ttl_hours=24, poll_seconds=300,
                        clock=lambda: utcnow() + timedelta(hours=25))
    assert late.run_once() == [ev.id]
    [ev] = _events(engine)
    assert ev.status == EventStatus.new and "类型" in ev.summary


def test_sweep_loop_survives_an_error_and_can_be_switched_off(app, engine, settings, monkeypatch, caplog):
    from service import app as app_module
    from service.dingtalk.drafts import DraftSweeper

    def broken():
        raise RuntimeError("database away")
    sweeper = DraftSweeper(engine=engine, settings=settings, ttl_hours=24, poll_seconds=300, clock=broken)
    sweeper.run_forever(_OneRound())
    assert "draft sweep error" in caplog.text
    monkeypatch.setenv("AEW_DINGTALK_DRAFT_SWEEP_SECONDS", "0")
    assert app_module._dingtalk_loops(app) == []


def test_two_sweeps_at_once_file_a_draft_once(send, engine, settings):
    """Every `aew serve` process sweeps: a draft another sweep is filing (row locked) is skipped."""
    from service.dingtalk.drafts import file_stale_drafts
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) need PostgreSQL")
    send("有个事要报一下")
    later = utcnow() + timedelta(hours=25)
    kw = dict(ttl_hours=24, settings=settings, now=later, data_dir=str(settings.data_dir), labels={})
    with Session(engine) as a, Session(engine) as b:
        assert len(file_stale_drafts(session=a, **kw)) == 1
        assert file_stale_drafts(session=b, **kw) == []
        a.commit()
        b.commit()
    with Session(engine) as c:
        assert file_stale_drafts(session=c, **kw) == []
    [ev] = _events(engine)
    assert [x.action for x in _actions(engine, ev.id)].count("filed_incomplete") == 1
