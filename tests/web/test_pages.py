"""Web pages through TestClient: login, lock-out, CSRF, role scoping, triage actions, report form, audit."""
from __future__ import annotations

from sqlmodel import Session, select

from models import AdverseEvent, AuditLog, EventAction, EventStatus, User
from tests.web.helpers import csrf, login, manual_event, nlp_event

FALL = "02:30巡视病房，患者夜间如厕时不慎跌倒，右髋部着地，诉疼痛。"


def test_pages_need_login(web):
    r = web.get("/events", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fevents")
    r = web.get("/events", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


def test_login_sets_secure_session_cookie_and_logout(web, users):
    r = login(web, "quality")
    assert r.status_code == 303 and r.headers["location"] == "/events"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "aew_session=" in cookie
    assert web.get("/events").status_code == 200
    r = web.post("/logout", data={"csrf_token": csrf(web)}, follow_redirects=False)
    assert r.status_code == 303
    assert web.get("/events", follow_redirects=False).status_code == 303


def test_login_next_only_local(web, users):
    page = web.get("/login?next=//evil.example/x")
    assert 'value="/events"' in page.text


def test_lockout_after_five_failures(web, users, engine):
    for i in range(4):
        r = login(web, "ortho", "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = login(web, "ortho", "wrong-password")
    assert r.status_code == 401 and "已锁定" in r.text
    r = login(web, "ortho")  # the right password is refused while locked
    assert r.status_code == 401 and "已锁定" in r.text
    with Session(engine) as s:
        u = s.exec(select(User).where(User.username == "ortho")).one()
        assert u.locked_until is not None
        actions = [a.action for a in s.exec(select(AuditLog).where(AuditLog.actor == "ortho")).all()]
    assert actions.count("login_failed") == 5 and "account_locked" in actions and "login_locked" in actions


def test_csrf_missing_or_wrong_is_403(web, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    page = web.get("/login")
    assert web.post("/login", data={"username": "quality", "password": "x" * 10}).status_code == 403
    login(web, "quality")
    r = web.post(f"/events/{eid}/dismiss", data={"reason": "误报"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = web.post(f"/events/{eid}/dismiss", data={"reason": "误报", "csrf_token": "forged"})
    assert r.status_code == 403
    assert page.status_code == 200
    with Session(engine) as s:
        assert s.get(AdverseEvent, eid).status == EventStatus.new


def test_department_reviewer_sees_only_own_department(web, users, engine, settings):
    own = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", department="骨科", encounter="E1")
    other = nlp_event(engine, settings, text="患者自行拔出胃管。", evidence="自行拔出胃管", category="unplanned_extubation",
                      department="神经内科", encounter="E2", patient_name="李建国")
    login(web, "ortho")
    q = web.get("/events").text
    assert f'data-event-id="{own}"' in q and f'data-event-id="{other}"' not in q
    assert web.get(f"/events/{own}").status_code == 200
    r = web.get(f"/events/{other}")
    assert r.status_code == 403 and "李建国" not in r.text
    token = csrf(web)
    assert web.post(f"/events/{other}/dismiss", data={"reason": "误报", "csrf_token": token}).status_code == 403
    # scoped exports and statistics too
    assert "神经内科" not in web.get("/events/export.csv?status=all").content.decode("utf-8-sig")
    assert "神经内科" not in web.get("/stats").text.split('id="stats-body"')[1]
    # and cannot merge into an event outside the department
    r = web.post(f"/events/{own}/merge", data={"into_id": other, "csrf_token": token})
    assert r.status_code == 404


def test_reporter_cannot_triage_and_sees_own_reports(web, users, engine, settings):
    mine = manual_event(engine, settings, reporter_id=users["nurse"])
    nlp = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    login(web, "nurse")
    q = web.get("/events").text
    assert f'data-event-id="{mine}"' in q and f'data-event-id="{nlp}"' not in q
    page = web.get(f"/events/{mine}")
    assert page.status_code == 200 and "form-dismiss" not in page.text
    assert web.post(f"/events/{mine}/dismiss", data={"reason": "误报", "csrf_token": csrf(web)}).status_code == 403
    assert web.get("/stats").status_code == 403
    assert web.get("/admin/audit").status_code == 403


def test_queue_filters_counts_and_masked_names(web, users, engine, settings):
    a = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", severity="II", encounter="E1")
    b = nlp_event(engine, settings, text="输液处皮肤红肿，考虑输液外渗。", evidence="输液外渗", category="infusion_injury",
                  severity="III", encounter="E3", patient_name="王强")
    login(web, "quality")
    page = web.get("/events").text
    assert "张**" in page and "张秀英" not in page and "王*" in page
    only_fall = web.get("/events?category=fall", headers={"HX-Request": "true", "HX-Target": "queue"}).text
    assert f'data-event-id="{a}"' in only_fall and f'data-event-id="{b}"' not in only_fall
    assert "<html" not in only_fall  # a partial for htmx
    sev = web.get("/events?severity=III").text
    assert f'data-event-id="{b}"' in sev and f'data-event-id="{a}"' not in sev
    assert web.get("/events?source=web").text.count("data-event-id=") == 0


def test_overdue_events_stand_out(web, users, engine, settings):
    from datetime import timedelta
    from models.base import utcnow
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", severity="I")
    with Session(engine) as s:
        ev = s.get(AdverseEvent, eid)
        ev.deadline_at = utcnow() - timedelta(hours=1)
        s.add(ev)
        s.commit()
    login(web, "quality")
    assert 'class="sev-I overdue"' in web.get("/events").text
    assert web.get("/events?overdue=1").text.count("data-event-id=") == 1
    assert "已超过审核期限" in web.get(f"/events/{eid}").text


def test_event_page_escapes_note_and_highlights_evidence(web, users, engine, settings):
    text = "护士记录：<script>alert(1)</script> 患者不慎跌倒 <b>x</b>"
    eid = nlp_event(engine, settings, text=text, evidence="不慎跌倒")
    login(web, "quality")
    html = web.get(f"/events/{eid}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<mark class="evidence" data-findings=' in html and ">不慎跌倒</mark>" in html
    assert "张秀英" in html  # full name on the event page for an authorised user


def test_every_view_is_audited_and_admin_lists_it(web, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    login(web, "quality")
    web.get(f"/events/{eid}")
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.actor == "quality")).all()
    assert {"view_event", "view_note"} <= {r.action for r in rows}
    note_id = next(r.object_id for r in rows if r.action == "view_note")
    web.get(f"/notes/{note_id}")
    assert web.get("/admin/audit").status_code == 403
    web.post("/logout", data={"csrf_token": csrf(web)})
    login(web, "admin")
    page = web.get("/admin/audit?action=view_event").text
    assert f"事件 #{eid}" in page and "quality" in page


def _post(web, path, **data):
    data["csrf_token"] = csrf(web)
    return web.post(path, data=data, follow_redirects=False)


def test_triage_actions_write_history_and_audit(web, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", severity="III")
    dup = nlp_event(engine, settings, text="患者昨晚跌倒。", evidence="跌倒", encounter="E9")
    login(web, "quality")
    assert _post(web, f"/events/{eid}/assign", assignee_id=users["ortho"]).status_code == 303
    assert _post(web, f"/events/{eid}/comment", text="请核实").status_code == 303
    assert _post(web, f"/events/{eid}/severity", severity="II", comment="有骨折").status_code == 303
    assert _post(web, f"/events/{eid}/confirm", final_category="fall", final_severity="II").status_code == 303
    assert _post(web, f"/events/{eid}/rca", root_cause="夜间照明不足", corrective_actions="加装夜灯").status_code == 303
    assert _post(web, f"/events/{eid}/close").status_code == 303
    assert _post(web, f"/events/{dup}/merge", into_id=eid).status_code == 303
    r = _post(web, f"/events/{eid}/dismiss", reason="误报")
    assert r.status_code == 409 and "不能排除" in r.text
    with Session(engine) as s:
        ev, d = s.get(AdverseEvent, eid), s.get(AdverseEvent, dup)
        assert (ev.status, ev.final_severity, ev.assignee_id, ev.root_cause) == (EventStatus.closed, "II", users["ortho"], "夜间照明不足")
        assert ev.first_reviewed_at is not None
        assert (d.status, d.merged_into_id) == (EventStatus.merged, eid)
        history = [a.action for a in s.exec(select(EventAction).where(EventAction.event_id == eid)
                                            .order_by(EventAction.id)).all()]
        audits = {a.action for a in s.exec(select(AuditLog)).all()}
    assert history == ["created", "assign", "comment", "change_severity", "confirm", "rca", "close", "merged_from"]
    assert {"event_assign", "event_comment", "event_change_severity", "event_confirm", "event_rca", "event_close",
            "event_merge"} <= audits
    page = web.get(f"/events/{eid}").text
    assert "加装夜灯" in page and f"#{dup}" in page


def test_dismiss_needs_reason_and_leaves_queue(web, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    login(web, "ortho")
    assert _post(web, f"/events/{eid}/dismiss", reason="随便").status_code == 409
    assert _post(web, f"/events/{eid}/dismiss", reason="其他").status_code == 409  # 其他 needs a comment
    r = _post(web, f"/events/{eid}/dismiss", reason="已知并发症", comment="术后预期")
    assert r.status_code == 303 and r.headers["location"] == f"/events?done=dismiss&id={eid}"
    assert f'data-event-id="{eid}"' not in web.get("/events").text
    assert f'data-event-id="{eid}"' in web.get("/events?status=dismissed").text
    with Session(engine) as s:
        assert s.get(AdverseEvent, eid).dismiss_reason == "已知并发症"


def test_web_report_form_lands_in_queue(web, users, engine):
    login(web, "nurse")
    form = web.get("/reports/new").text
    assert "匿名上报" in form
    r = web.post("/reports/new", data={"csrf_token": csrf(web, "/reports/new"), "category": "fall", "severity": "II",
                                       "description": "3床患者如厕时跌倒，左腕擦伤", "department": "骨科", "bed": "3",
                                       "occurred_at": "2026-11-28T06:30", "anonymous": "1"}, follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        ev = s.exec(select(AdverseEvent)).one()
    assert (ev.source.value, ev.anonymous, ev.reporter_user_id, ev.status) == ("web", True, None, EventStatus.new)
    assert ev.occurred_at.hour == 22  # 06:30 in Asia/Shanghai
    bad = web.post("/reports/new", data={"csrf_token": csrf(web, "/reports/new"), "category": "nope",
                                         "severity": "II", "description": "x", "department": "骨科"})
    assert bad.status_code == 422 and "请选择事件类别" in bad.text
    web.post("/logout", data={"csrf_token": csrf(web)})
    login(web, "ortho")
    assert f'data-event-id="{ev.id}"' in web.get("/events").text
