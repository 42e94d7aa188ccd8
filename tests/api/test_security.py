"""Issue 13 over the API and the command line: key revocation seen by every process, key expiry and last use,
audited API reads, the audit log's hash chain (`aew audit verify`), users CLI, DingTalk webhook hosts."""
from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from models import ApiClient, AuditLog, Role, User
from models.base import utcnow
from service.db import session_scope
from tests.api.test_cli import AEW, ROOT, _free_port, run


def _no_scanner():
    raise RuntimeError("these tests do not scan")


@pytest.fixture
def api(settings, engine):
    from fastapi.testclient import TestClient
    from service.app import create_app
    with TestClient(create_app(settings, engine=engine, scanner_factory=_no_scanner, run_background=False)) as c:
        yield c


@pytest.fixture
def other_process(db_url, engine):
    """`aew serve --no-worker` in its own process on the same database."""
    port = _free_port()
    env = {**os.environ, "AEW_LOG_JSON": "false", "AEW_DATABASE_URL": db_url, "AEW_USE_NER_MODEL": "false",
           "AEW_USE_CLASSIFIER": "false", "AEW_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    srv = subprocess.Popen(AEW + ["serve", "--no-worker", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            httpx.get(base + "/healthz", timeout=2)
            break
        except httpx.TransportError:
            assert time.time() < deadline and srv.poll() is None, "aew serve did not start"
            time.sleep(0.2)
    yield base
    srv.terminate()
    srv.wait(30)


def test_revoked_key_gets_401_on_its_next_request_in_every_process(api, auth, other_process, db_url, engine):
    h = auth
    assert api.get("/api/v1/events", headers=h).status_code == 200
    assert httpx.get(other_process + "/api/v1/events", headers=h).status_code == 200
    p = run(["apikeys", "list"], {"AEW_DATABASE_URL": db_url})
    assert p.returncode == 0 and "his-test" in p.stdout and "active" in p.stdout
    assert auth["Authorization"].split()[1] not in p.stdout          # never the key itself
    p = run(["apikeys", "revoke", "his-test"], {"AEW_DATABASE_URL": db_url})
    assert p.returncode == 0, p.stderr
    r1 = api.get("/api/v1/events", headers=h)
    r2 = httpx.get(other_process + "/api/v1/events", headers=h)
    assert r1.status_code == 401 and r2.status_code == 401
    assert r2.json()["detail"]["code"] == "invalid_api_key"
    p = run(["apikeys", "list"], {"AEW_DATABASE_URL": db_url})
    assert "revoked" in p.stdout
    assert run(["apikeys", "revoke", "no-such-key"], {"AEW_DATABASE_URL": db_url}).returncode == 1
    with Session(engine) as s:
        c = s.exec(select(ApiClient).where(ApiClient.name == "his-test")).one()
        assert c.revoked_at is not None and c.last_used_at is not None
        assert s.exec(select(AuditLog).where(AuditLog.action == "apikey_revoked")).first() is not None


def test_expired_key_is_refused_and_last_use_recorded(api, engine):
    from service.services.accounts import create_api_client
    with session_scope(engine) as s:
        _, old = create_api_client(session=s, name="old-his", expires_at=utcnow() - timedelta(seconds=1))
        _, fresh = create_api_client(session=s, name="lab", expires_at=utcnow() + timedelta(days=30))
    assert api.get("/api/v1/events", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert api.get("/api/v1/events", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    with Session(engine) as s:
        lab = s.exec(select(ApiClient).where(ApiClient.name == "lab")).one()
        assert lab.last_used_at is not None and utcnow() - lab.last_used_at < timedelta(minutes=1)


def test_api_reads_of_patient_data_are_audited(api, auth, engine, settings):
    from tests.web.helpers import manual_event
    eid = manual_event(engine, settings)
    manual_event(engine, settings, category="fall", department="心内科")
    assert len(api.get("/api/v1/events?status=new", headers=auth).json()) >= 1
    assert api.get(f"/api/v1/events/{eid}", headers=auth).status_code == 200
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.actor == "api:his-test").order_by(AuditLog.id)).all()
    listed, viewed = rows[-2], rows[-1]
    assert listed.action == "api_list_events" and listed.detail["rows"] >= 1 and listed.ip
    assert listed.detail["query"]["status"] == "new"
    assert viewed.action == "api_view_event" and viewed.object_id == str(eid) and viewed.detail["rows"] == 1


def _write_audit(engine, n: int) -> None:
    from service.services.audit import audit
    with session_scope(engine) as s:
        for i in range(n):
            audit(session=s, actor=f"user{i}", action="view_event", object_type="event", object_id=i,
                  ip="10.0.0.1", detail={"i": i, "名": "值"})


def test_audit_log_is_append_only_and_verify_finds_an_edited_row(engine, db_url):
    _write_audit(engine, 5)
    p = run(["audit", "verify"], {"AEW_DATABASE_URL": db_url})
    assert p.returncode == 0 and "5 chained entries" in p.stdout, p.stdout + p.stderr
    pg = engine.dialect.name == "postgresql"
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as c:
            c.execute(text("UPDATE auditlog SET actor = 'someone' WHERE id = 3"))
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as c:
            c.execute(text("DELETE FROM auditlog WHERE id = 2"))
    # someone with full database rights drops the trigger and edits entry 3
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER auditlog_append_only ON auditlog" if pg else "DROP TRIGGER auditlog_no_update"))
        c.execute(text("UPDATE auditlog SET actor = 'someone-else' WHERE id = 3"))
    p = run(["audit", "verify"], {"AEW_DATABASE_URL": db_url})
    assert p.returncode == 1 and "entry id 3" in p.stdout and "content changed" in p.stdout, p.stdout


def test_verify_finds_a_deleted_row(engine):
    from service.services.audit import verify_audit_log
    _write_audit(engine, 4)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as c:
        c.execute(text("DROP TRIGGER auditlog_append_only ON auditlog" if pg else "DROP TRIGGER auditlog_no_delete"))
        c.execute(text("DELETE FROM auditlog WHERE id = 2"))
    with Session(engine) as s:
        rep = verify_audit_log(session=s)
    assert not rep.ok and rep.broken_id == 3 and "link broken" in rep.reason and rep.checked == 1


def test_concurrent_audit_writers_keep_one_chain(engine):
    import threading
    from service.services.audit import verify_audit_log
    threads = [threading.Thread(target=_write_audit, args=(engine, 5)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with Session(engine) as s:
        rep = verify_audit_log(session=s)
    assert rep.ok and rep.checked == 40, rep


def test_users_cli_list_deactivate_reset_password(engine, db_url):
    from service.services.accounts import create_user, verify_password
    with session_scope(engine) as s:
        create_user(session=s, username="wang", password="Ward-3-nurse", role=Role.reporter, department="骨科")
    env = {"AEW_DATABASE_URL": db_url}
    p = run(["users", "list"], env)
    assert p.returncode == 0 and "wang" in p.stdout and "active" in p.stdout
    p = run(["users", "reset-password", "wang"], env)
    assert p.returncode == 0
    otp = p.stdout.strip().splitlines()[-1]
    with Session(engine) as s:
        u = s.exec(select(User).where(User.username == "wang")).one()
        assert u.must_change_password and verify_password(u.password_hash, otp)
    assert "change-pw" in run(["users", "list"], env).stdout
    assert run(["users", "deactivate", "wang"], env).returncode == 0
    assert "inactive" in run(["users", "list"], env).stdout
    assert run(["users", "deactivate", "nobody"], env).returncode == 1
    p = run(["users", "create", "li", "--role", "reporter", "--password-stdin"], env, input="weakpassword\n")
    assert p.returncode == 1 and "3" in p.stderr
    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(AuditLog)).all()]
    assert "user_reset_password" in actions and "user_deactivate" in actions


def test_session_webhook_only_on_dingtalk_hosts(engine):
    from service.dingtalk.bot import IncomingMessage
    from service.dingtalk.delivery import deliver_reply
    from service.dingtalk.settings import DingTalkSettings
    dt = DingTalkSettings()
    assert dt.webhook_allowed("https://oapi.dingtalk.com/robot/sendBySession?session=abc")
    for bad in ("http://127.0.0.1:8000/x", "https://oapi.dingtalk.com.evil.example/x", "https://evil.example/x",
                "https://user:pw@oapi.dingtalk.com/x", "file:///etc/passwd", "", None, "https://[::1/x"):
        assert not dt.webhook_allowed(bad), bad

    class Reply:
        event_id = None

        def message(self):
            return {"msgtype": "text", "text": {"content": "x"}}
    msg = IncomingMessage(msg_id="m1", text="x", channel="robot", session_webhook="http://127.0.0.1:9/hook")
    res = deliver_reply(engine=engine, dt=dt, msg=msg, reply=Reply())
    assert not res.ok and "not allowed" in res.errmsg and not getattr(res, "queued", False)
    from models import OutboxMessage
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).first() is None
