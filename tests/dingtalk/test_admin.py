"""The admin page that links DingTalk staff ids to users and departments."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models import AdverseEvent, User
from models.dingtalk import DingTalkContact
from tests.web.helpers import csrf, login, make_users


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    from argon2 import PasswordHasher
    from service.services import accounts
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_admin_links_a_staff_id_and_the_next_report_uses_it(dclient, engine, send):
    ids = make_users(engine)
    send("ICU 8床患者凌晨2点自行拔除胃管，已重新置管", staff_id="staff-555", nick="小周")
    assert login(dclient, "nurse").status_code in (302, 303)
    assert dclient.get("/admin/dingtalk-users").status_code == 403
    dclient.cookies.clear()
    login(dclient, "admin")
    page = dclient.get("/admin/dingtalk-users")
    assert page.status_code == 200 and "staff-555" in page.text and "小周" in page.text
    r = dclient.post("/admin/dingtalk-users", data={"staff_id": "staff-555", "user_id": str(ids["nurse"]),
                                                    "csrf_token": "forged"})
    assert r.status_code == 403
    r = dclient.post("/admin/dingtalk-users", data={"staff_id": "staff-555", "user_id": str(ids["nurse"]),
                                                    "csrf_token": csrf(dclient, "/admin/dingtalk-users")},
                     follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        assert s.get(User, ids["nurse"]).dingtalk_staff_id == "staff-555"
        assert s.exec(select(DingTalkContact)).one().user_id == ids["nurse"]
    send("3床王某某今晨如厕时跌倒，左腕擦伤，已处理", staff_id="staff-555", nick="小周")
    with Session(engine) as s:
        ev = s.exec(select(AdverseEvent).order_by(AdverseEvent.id.desc())).first()
    assert ev.reporter_user_id == ids["nurse"] and ev.reporter_name == "骨科护士" and ev.department == "骨科"
