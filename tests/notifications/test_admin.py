"""The admin page: a bad secret's dead letters and the 310000 config error are visible; resend; rules editing."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from models import OutboxMessage, OutboxStatus, Role
from models.notification import ChannelStatus, RoutingRule
from service.db import session_scope
from tests.fakes.dingtalk import ROBOT_PATH
from tests.notifications.conftest import variant

PASSWORD = "admin-pass-2026"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    from argon2 import PasswordHasher
    from service.services import accounts
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def admin_client(settings, engine, notify_settings):
    pytest.importorskip("service.web.auth", reason="the web layer (issue 6) provides login and CSRF")
    from fastapi.testclient import TestClient
    from service.app import create_app
    from service.services.accounts import create_user
    with session_scope(engine) as s:
        create_user(session=s, username="admin", password=PASSWORD, role=Role.admin, department=None,
                    full_name="管理员")
        create_user(session=s, username="nurse", password=PASSWORD, role=Role.reporter, department=None,
                    full_name="护士")
    app = create_app(settings, engine=engine, scanner_factory=lambda: None, run_background=False)
    app.state.notify_settings = variant(notify_settings, dingtalk_robot_secret="SECwrong")
    with TestClient(app) as c:
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username: str) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text),
                                    "next": "/admin/notifications"}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text[:300]


def test_bad_secret_dead_letters_on_admin_page_and_resend(admin_client, make_dispatcher, notify_settings, fake,
                                                          file_event, engine):
    d = make_dispatcher(variant(notify_settings, dingtalk_robot_secret="SECwrong"))
    ev = file_event(severity="I", description="患者张三丰跌倒，电话13912345678")
    file_event(severity="II")
    for _ in range(10):
        d.run_once()
    assert len(fake.received(ROBOT_PATH)) == 1                    # no retry storm
    login(admin_client, "admin")
    page = admin_client.get("/admin/notifications")
    assert page.status_code == 200
    html = page.text
    assert "310000" in html and "配置错误" in html and "AEW_DINGTALK_ROBOT_SECRET" in html
    assert f"AE{ev.id:06d}" in html and "重发" in html
    assert "张三丰" not in html and "13912345678" not in html and "SECwrong" not in html
    dead, = [m for m in _rows(engine) if m.status == OutboxStatus.dead]
    r = admin_client.post(f"/admin/notifications/outbox/{dead.id}/resend", data={"csrf_token": csrf_of(html)},
                          follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        again = s.get(OutboxMessage, dead.id)
        assert again.status == OutboxStatus.pending and again.attempts == 0
        assert s.get(ChannelStatus, "robot:default").paused_until is None


def test_resend_needs_csrf_and_admin(admin_client, engine):
    login(admin_client, "nurse")
    assert admin_client.get("/admin/notifications").status_code == 403
    r = admin_client.post("/admin/notifications/rules", data={"name": "x"}, follow_redirects=False)
    assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(RoutingRule)).all() == []


def test_rules_edited_on_the_page(admin_client, engine):
    login(admin_client, "admin")
    token = csrf_of(admin_client.get("/admin/notifications").text)
    r = admin_client.post("/admin/notifications/rules", data={
        "csrf_token": token, "name": "ICU 警讯", "priority": "10", "target": "robot:icu", "mode": "immediate",
        "severities": ["I", "II"], "categories": ["fall"], "departments": "ICU，急诊", "enabled": "true"},
        follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        rule, = s.exec(select(RoutingRule)).all()
        assert (rule.target, rule.severities, rule.categories, rule.departments, rule.enabled) == \
            ("robot:icu", ["I", "II"], ["fall"], ["ICU", "急诊"], True)
    html = admin_client.get("/admin/notifications").text
    assert "ICU 警讯" in html
    r = admin_client.post(f"/admin/notifications/rules/{rule.id}", data={
        "csrf_token": token, "name": "ICU 警讯", "priority": "5", "target": "robot:icu", "mode": "digest"},
        follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        rule = s.get(RoutingRule, rule.id)
        assert rule.priority == 5 and rule.mode.value == "digest" and rule.enabled is False
    admin_client.post(f"/admin/notifications/rules/{rule.id}/delete", data={"csrf_token": token})
    with Session(engine) as s:
        assert s.exec(select(RoutingRule)).all() == []


def _rows(engine):
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())
