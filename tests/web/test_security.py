"""Issue 13: login throttling under concurrency, server-side sessions, account management, audit pages —
over real HTTP (uvicorn on 127.0.0.1) where concurrency or a captured cookie matters."""
from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest
from sqlmodel import Session, select

from models import AuditLog, User
from models.security import LoginThrottle, WebLogin
from tests.web.helpers import PASSWORD, csrf, csrf_from, login, manual_event


def _http_login_form(base: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    return c, csrf_from(c.get("/login").text)


def _burst(live_server, monkeypatch, username: str, n: int = 50) -> tuple[Counter, int]:
    """n wrong passwords for one name at once over real HTTP; returns (answers, password checks made)."""
    from service.web.views import login as login_view
    checks, lock = [0], threading.Lock()
    real = login_view.verify_password

    def slow_counting_verify(h, p):
        with lock:
            checks[0] += 1
        time.sleep(0.05)            # widen the race window: a real argon2 check takes ~0.1–0.5 s
        return real(h, p)
    monkeypatch.setattr(login_view, "verify_password", slow_counting_verify)
    monkeypatch.setattr(login_view, "_burn_time", lambda p: (slow_counting_verify(login_view._DUMMY_HASH[0], p)
                                                              if login_view._DUMMY_HASH else
                                                              (login_view._DUMMY_HASH.append(
                                                                  login_view.hash_password("x-Dummy-123")),
                                                               slow_counting_verify(login_view._DUMMY_HASH[0], p))[1]))
    forms = [_http_login_form(live_server) for _ in range(n)]
    barrier, answers = threading.Barrier(n), []

    def go(c, token):
        barrier.wait()
        r = c.post("/login", data={"username": username, "password": "Wrong-pass-123", "csrf_token": token})
        answers.append((r.status_code, "已锁定" in r.text, "用户名或密码错误" in r.text))
    threads = [threading.Thread(target=go, args=f) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for c, _ in forms:
        c.close()
    return Counter(answers), checks[0]


@pytest.mark.parametrize("username", ["ortho", "no-such-user"])
def test_50_concurrent_wrong_passwords_at_most_5_checked(live_server, users, engine, settings, monkeypatch,
                                                         username):
    settings.login_ip_max_attempts = 100       # the per-address limit (30) is tested on its own below
    answers, checks = _burst(live_server, monkeypatch, username)
    print(f"\n{username}: {checks} checked, answers {dict(answers)}")
    assert sum(answers.values()) == 50 and all(code == 401 for code, _, _ in answers)
    assert checks <= 5
    assert answers[(401, True, False)] >= 45          # refused as locked (the 5th failure says so too)
    assert answers[(401, False, True)] <= 4
    with Session(engine) as s:
        row = s.get(LoginThrottle, f"user:{username}")
        assert row is not None and row.attempts == 50
    # the right password is refused while locked, for a known name
    if username == "ortho":
        c, token = _http_login_form(live_server)
        r = c.post("/login", data={"username": "ortho", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 401 and "已锁定" in r.text


def test_unknown_and_known_user_get_the_same_answers(web, users, monkeypatch):
    from service.web.views import login as login_view
    calls = []
    real = login_view.verify_password
    monkeypatch.setattr(login_view, "verify_password", lambda h, p: calls.append(1) or real(h, p))
    known = [login(web, "ortho", "Wrong-pass-123") for _ in range(6)]
    n_known = len(calls)
    unknown = [login(web, "ghost", "Wrong-pass-123") for _ in range(6)]
    assert n_known == 5 and len(calls) == 10           # one hash check per attempt up to the lock, for both
    for k, u in zip(known, unknown):
        assert k.status_code == u.status_code == 401
        assert k.text.replace("ortho", "NAME") == u.text.replace("ghost", "NAME").replace(
            csrf_from(u.text), csrf_from(k.text))


def test_per_address_limit_covers_unknown_names(web, users, settings):
    settings.login_ip_max_attempts = 3
    for i in range(2):
        assert "用户名或密码错误" in login(web, f"guess{i}", "Wrong-pass-123").text
    assert "此地址" in login(web, "guess2", "Wrong-pass-123").text      # the failure that reaches the limit
    r = login(web, "guess9", "Wrong-pass-123")
    assert r.status_code == 401 and "此地址" in r.text
    r = login(web, "quality")                          # even the right password, from this address
    assert r.status_code == 401 and "此地址" in r.text


def test_success_resets_the_user_counter(web, users, engine):
    for _ in range(4):
        login(web, "ortho", "Wrong-pass-123")
    assert login(web, "ortho").status_code == 303
    with Session(engine) as s:
        assert s.get(LoginThrottle, "user:ortho") is None


def test_cookie_captured_before_logout_gets_303_to_login(live_server, users):
    c, token = _http_login_form(live_server)
    r = c.post("/login", data={"username": "quality", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    captured = c.cookies.get("aew_session")
    assert c.get("/events").status_code == 200
    r = c.post("/logout", data={"csrf_token": csrf_from(c.get("/events").text)})
    assert r.status_code == 303
    replay = httpx.Client(base_url=live_server, follow_redirects=False, cookies={"aew_session": captured})
    r = replay.get("/events")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def _session_cookie(web) -> str:
    return web.cookies.get("aew_session")


def _replay(app, cookie: str, path: str = "/events"):
    from fastapi.testclient import TestClient
    with TestClient(app) as other:
        other.cookies.set("aew_session", cookie)
        return other.get(path, follow_redirects=False)


def test_password_change_deactivation_and_role_change_end_sessions(app, web, users, engine):
    from fastapi.testclient import TestClient
    # another browser of "ortho", then ortho changes the password here: the other one is logged out
    assert login(web, "ortho").status_code == 303
    with TestClient(app) as other:
        assert login(other, "ortho").status_code == 303
        other_cookie = _session_cookie(other)
    r = web.post("/account/password", data={"current": PASSWORD, "new": "New-Passw0rd-x", "confirm": "New-Passw0rd-x",
                                            "csrf_token": csrf(web, "/account/password")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _replay(app, other_cookie).status_code == 303
    assert login(web, "ortho", "New-Passw0rd-x").status_code == 303
    # an admin deactivates "neuro" and changes the role of "nurse": their sessions end at once
    with TestClient(app) as neuro, TestClient(app) as nurse, TestClient(app) as admin:
        login(neuro, "neuro"), login(nurse, "nurse"), login(admin, "admin")
        assert neuro.get("/events", follow_redirects=False).status_code == 200
        token = csrf(admin, "/admin/users")
        assert admin.post(f"/admin/users/{users['neuro']}/deactivate", data={"csrf_token": token}).status_code == 200
        assert neuro.get("/events", follow_redirects=False).status_code == 303
        assert login(neuro, "neuro").status_code == 401
        r = admin.post(f"/admin/users/{users['nurse']}/role",
                       data={"csrf_token": token, "role": "department_reviewer", "department": "骨科"})
        assert r.status_code == 200
        assert nurse.get("/reports/new", follow_redirects=False).status_code == 303
    with Session(engine) as s:
        assert s.exec(select(WebLogin).where(WebLogin.user_id == users["neuro"])).first() is None
        actions = {a.action for a in s.exec(select(AuditLog)).all()}
    assert {"password_changed", "user_deactivate", "user_role"} <= actions


def _age_sessions(engine, **deltas) -> None:
    with Session(engine) as s:
        for row in s.exec(select(WebLogin)).all():
            for field, delta in deltas.items():
                setattr(row, field, getattr(row, field) - delta)
            s.add(row)
        s.commit()


def test_idle_and_absolute_timeouts(web, users, settings, engine):
    from datetime import timedelta
    assert login(web, "quality").status_code == 303
    _age_sessions(engine, last_seen_at=timedelta(minutes=29))     # 29 minutes idle: still logged in
    assert web.get("/events", follow_redirects=False).status_code == 200
    _age_sessions(engine, last_seen_at=timedelta(minutes=31))     # 31 minutes without a request
    assert web.get("/events", follow_redirects=False).status_code == 303
    assert login(web, "quality").status_code == 303
    _age_sessions(engine, created_at=timedelta(hours=13))         # active all along, but logged in 13 hours ago
    assert web.get("/events", follow_redirects=False).status_code == 303
    settings.session_idle_minutes = 0.01     # the timeouts are settings
    assert login(web, "quality").status_code == 303
    time.sleep(1.0)
    assert web.get("/events", follow_redirects=False).status_code == 303


def test_admin_creates_user_with_one_time_password_changed_at_first_login(app, web, users, engine):
    from fastapi.testclient import TestClient
    import re
    login(web, "admin")
    r = web.post("/admin/users", data={"csrf_token": csrf(web, "/admin/users"), "username": "icu-nurse",
                                       "role": "reporter", "department": "ICU", "full_name": "ICU 护士"})
    assert r.status_code == 200
    otp = re.search(r'id="one-time-password">([^<]+)<', r.text).group(1)
    with TestClient(app) as nurse:
        r = login(nurse, "icu-nurse", otp)
        assert r.status_code == 303 and r.headers["location"] == "/account/password"
        assert nurse.get("/events", follow_redirects=False).headers["location"] == "/account/password"
        token = csrf(nurse, "/account/password")
        weak = nurse.post("/account/password", data={"current": otp, "new": "abcdefghij", "confirm": "abcdefghij",
                                                     "csrf_token": token})
        assert weak.status_code == 422 and "至少 3 类" in weak.text
        r = nurse.post("/account/password", data={"current": otp, "new": "Icu-Nurse-2026", "confirm": "Icu-Nurse-2026",
                                                  "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        assert login(nurse, "icu-nurse", "Icu-Nurse-2026").headers["location"] == "/events"
    # reset by the admin: a new one-time password, the old password stops working
    with Session(engine) as s:
        uid = s.exec(select(User).where(User.username == "icu-nurse")).one().id
    r = web.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf(web, "/admin/users")})
    assert "id=\"one-time-password\"" in r.text
    with TestClient(app) as nurse:
        assert login(nurse, "icu-nurse", "Icu-Nurse-2026").status_code == 401
    assert web.get("/admin/users").status_code == 200 and "icu-nurse" in web.get("/admin/users").text
    login(web, "quality")
    assert web.get("/admin/users").status_code == 403


def test_password_policy():
    from service.services.accounts import PasswordPolicyError, check_password_policy
    for bad in ("Short-1", "alllowercaseletters", "lowercase-only", "qualitymgr"):
        with pytest.raises(PasswordPolicyError):
            check_password_policy(bad, username="x")
    with pytest.raises(PasswordPolicyError):
        check_password_policy("Admin-2026x", username="Admin-2026x")
    check_password_policy("Ward-3-nurse", username="nurse")


def test_anonymous_web_report_leaves_no_reporter_identity(web, users, engine, settings):
    login(web, "nurse")
    r = web.post("/reports/new", data={"csrf_token": csrf(web, "/reports/new"), "category": "fall", "severity": "III",
                                       "description": "病区走廊有患者滑倒", "department": "骨科", "anonymous": "1"},
                 follow_redirects=False)
    assert r.status_code == 303
    eid = int(r.headers["location"].split("/")[2])
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == "report_filed")).all()
        from models import AdverseEvent, EventAction
        ev = s.get(AdverseEvent, eid)
        acts = s.exec(select(EventAction).where(EventAction.event_id == eid)).all()
    assert len(rows) == 1 and rows[0].actor == "匿名" and rows[0].user_id is None and rows[0].ip is None
    assert ev.reporter_user_id is None and ev.reporter_name is None
    assert all(a.actor_user_id is None and "护士" not in (a.actor_name or "") for a in acts)
    login(web, "admin")
    page = web.get("/admin/audit?action=report_filed").text
    assert "骨科护士" not in page and ">nurse<" not in page
    assert "骨科护士" not in web.get(f"/events/{eid}").text


def test_audit_page_search_and_export(web, users, engine, settings):
    eid = manual_event(engine, settings)
    login(web, "quality")
    web.get(f"/events/{eid}")
    login(web, "admin")
    page = web.get("/admin/audit?actor=quality&action=view_event")
    assert page.status_code == 200 and f"事件 #{eid}" in page.text
    r = web.get("/admin/audit/export.csv?actor=quality&action=view_event")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    body = r.content.decode("utf-8-sig").splitlines()
    assert body[0].startswith("id,时间,用户") and len(body) == 2 and ",quality," in body[1]
    with Session(engine) as s:
        last = s.exec(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert last.action == "audit_export" and last.detail["count"] == 1
    web.cookies.clear()
    login(web, "quality")
    assert web.get("/admin/audit/export.csv").status_code == 403


def test_admin_api_keys_page_create_and_revoke(web, users, engine, app):
    import re
    from fastapi.testclient import TestClient
    login(web, "admin")
    r = web.post("/admin/apikeys", data={"csrf_token": csrf(web, "/admin/apikeys"), "name": "his-main",
                                         "expires": "2099-12-31"})
    key = re.search(r'id="new-key">([^<]+)<', r.text).group(1)
    with TestClient(app) as api:
        h = {"Authorization": f"Bearer {key}"}
        assert api.get("/api/v1/events", headers=h).status_code == 200
        assert "从未" not in web.get("/admin/apikeys").text.split('data-key="his-main"')[1].split("</tr>")[0]
        with Session(engine) as s:
            from models import ApiClient
            cid = s.exec(select(ApiClient).where(ApiClient.name == "his-main")).one().id
        assert web.post(f"/admin/apikeys/{cid}/revoke", data={"csrf_token": csrf(web, "/admin/apikeys")},
                        follow_redirects=False).status_code == 303
        assert api.get("/api/v1/events", headers=h).status_code == 401
    assert "已吊销" in web.get("/admin/apikeys").text


def test_browser_admin_reset_then_forced_password_change(page, users, browser, live_server):
    """Chromium: the admin resets a password and reads the one-time password; the user logs in with it, is sent
    to the password page, sets a new one, and logs in again; the old browser session of the user is over."""
    from tests.web.conftest import shot
    nurse_ctx = browser.new_context(base_url=live_server, locale="zh-CN")
    nurse = nurse_ctx.new_page()
    for pg, name in ((page, "admin"), (nurse, "nurse")):
        pg.goto("/login")
        pg.fill("input[name=username]", name)
        pg.fill("input[name=password]", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_url("**/events")
    page.goto("/admin/users")
    page.click('tr[data-user="nurse"] form[action$="/reset-password"] button')
    otp = page.text_content("#one-time-password").strip()
    shot(page, "admin-users-reset")
    nurse.goto("/events")
    assert "/login" in nurse.url                       # the reset ended the nurse's session
    nurse.fill("input[name=username]", "nurse")
    nurse.fill("input[name=password]", otp)
    nurse.click("button[type=submit]")
    nurse.wait_for_url("**/account/password")
    nurse.fill("input[name=current]", otp)
    nurse.fill("input[name=new]", "Ortho-Ward-12")
    nurse.fill("input[name=confirm]", "Ortho-Ward-12")
    nurse.click("form[action='/account/password'] button[type=submit]")
    nurse.wait_for_url("**/login**")
    nurse.fill("input[name=username]", "nurse")
    nurse.fill("input[name=password]", "Ortho-Ward-12")
    nurse.click("button[type=submit]")
    nurse.wait_for_load_state()
    assert nurse.url.endswith("/events"), (nurse.url, nurse.text_content("main"))
    nurse_ctx.close()
