"""Each channel alone against the fake DingTalk: signature, errcodes, timeouts, token caching, no secrets logged."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

from notifications.channels import Message, RobotChannel, SessionWebhookChannel, WorkNoticeChannel
from notifications.channels.robot import robot_body, sign
from notifications.settings import NotifySettings, RobotConfig
from tests.fakes.dingtalk import WORK_NOTICE_PATH, expected_sign
from tests.notifications.conftest import ROBOT_SECRET, ROBOT_TOKEN

MSG = Message(title="不良事件预警：跌倒/坠床 AE000001", text="#### 跌倒\n- 事件编号：AE000001",
              link="http://testserver/events/1")


def robot(fake, secret=ROBOT_SECRET, token=ROBOT_TOKEN, **kw) -> RobotChannel:
    return RobotChannel(RobotConfig("default", fake.webhook(token), secret), timeout=0.3, **kw)


def test_sign_matches_dingtalk_reference():
    # the reference computation of DingTalk's documentation, URL-encoded
    ts = "1700000000000"
    assert sign("SECabc", ts) == expected_sign("SECabc", ts).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def test_signed_markdown_accepted_with_fresh_timestamp_each_time(fake):
    ch = robot(fake)
    assert ch.send(MSG).ok
    time.sleep(0.002)
    assert ch.send(MSG).ok
    got = fake.received()
    assert [r.errcode for r in got] == [0, 0]
    assert got[0].query["timestamp"] != got[1].query["timestamp"]
    assert got[0].query["sign"] != got[1].query["sign"]
    assert got[0].body["msgtype"] == "markdown"
    assert "http://testserver/events/1" in got[0].body["markdown"]["text"]


def test_action_card_and_at_for_assignee(fake):
    card = robot_body(MSG, "actionCard")
    assert card["msgtype"] == "actionCard" and card["actionCard"]["singleURL"] == "http://testserver/events/1"
    at = Message(title=MSG.title, text=MSG.text, link=MSG.link, at_user_ids=["staff-42"], at_mobiles=["13900001111"])
    body = robot_body(at, "actionCard")     # @ only renders in markdown: falls back to markdown
    assert body["msgtype"] == "markdown" and body["at"]["atUserIds"] == ["staff-42"]
    assert "@staff-42" in body["markdown"]["text"] and "@13900001111" in body["markdown"]["text"]
    assert robot(fake, msgtype="actionCard").send(MSG).ok


def test_bad_secret_is_a_config_error(fake):
    res = robot(fake, secret="SECwrong").send(MSG)
    assert not res.ok and res.errcode == 310000 and res.permanent and res.config_error


def test_unknown_token_is_a_config_error(fake):
    res = robot(fake, token="no-such-token").send(MSG)
    assert not res.ok and res.errcode == 300001 and res.config_error


def test_stale_timestamp_rejected(fake):
    two_hours_ago = int((time.time() - 7200) * 1000)
    res = robot(fake, clock_ms=lambda: two_hours_ago).send(MSG)
    assert res.errcode == 310000


def test_transient_failures_are_retryable(fake):
    ch = robot(fake)
    fake.fail_next(1, "500")
    fake.fail_next(1, "hang")
    fake.fail_next(1, 130101)
    r500, rhang, rfast = ch.send(MSG), ch.send(MSG), ch.send(MSG)
    fake.release()
    assert not r500.ok and r500.status_code == 500 and not r500.permanent
    assert not rhang.ok and rhang.errmsg.startswith("timeout") and not rhang.permanent
    assert rfast.errcode == 130101 and rfast.retry_after and not rfast.permanent
    assert ch.send(MSG).ok


def test_secrets_never_logged_or_printed(fake, caplog):
    caplog.set_level(logging.DEBUG)
    ch = robot(fake, secret="SECwrong")
    fake.fail_next(1, "hang")
    ch.send(MSG)
    fake.release()
    ch.send(MSG)
    wn = WorkNoticeChannel(app_key=fake.app_key, app_secret="wrong-app-secret", agent_id="1", api_base=fake.url,
                           timeout=0.3)
    res = wn.send(Message(title="t", text="x", recipients=["u1"]))
    assert res.config_error and res.errcode == 40089
    s = NotifySettings(dingtalk_robot_webhook=fake.webhook(ROBOT_TOKEN), dingtalk_robot_secret=ROBOT_SECRET,
                       dingtalk_app_secret="wrong-app-secret")
    text = caplog.text + repr(ch) + repr(wn) + repr(s) + str(s) + repr(res)
    for secret in (ROBOT_SECRET, ROBOT_TOKEN, "SECwrong", "wrong-app-secret"):
        assert secret not in text


def test_work_notice_caches_token_and_refreshes_before_expiry(fake, clock):
    wn = WorkNoticeChannel(app_key=fake.app_key, app_secret=fake.app_secret, agent_id="123", api_base=fake.url,
                           timeout=1, refresh_margin=300)
    for _ in range(3):
        assert wn.send(Message(title="t", text="x", link="http://testserver/events/1", recipients=["s1", "s2"])).ok
    assert len(fake.received("/gettoken")) == 1
    body = fake.received(WORK_NOTICE_PATH)[0].body
    assert body["agent_id"] == 123 and body["userid_list"] == "s1,s2"
    assert body["msg"]["msgtype"] == "action_card"
    # the cached token expires 300 s before DingTalk's 7200 s
    (_, expires_at), = [v for k, v in wn.client.storage._data.items() if "access_token" in k]
    assert 6800 <= expires_at - time.time() <= 6901
    # a token DingTalk considers expired (42001) is fetched again once, and the message still goes out
    clock.advance(7300)
    assert wn.send(Message(title="t", text="x", recipients=["s1"])).ok
    assert len(fake.received("/gettoken")) == 2


def test_session_webhook_posts_and_expires(fake):
    ch = SessionWebhookChannel(timeout=0.3)
    url = f"{fake.url}/robot/sendBySession?session=abc"
    later = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
    raw = {"msgtype": "text", "text": {"content": "已收到您的上报"}}
    assert ch.send(Message(title="r", text="", raw=raw, webhook=url, expires_at=later)).ok
    assert fake.received("/robot/sendBySession")[0].body == raw
    earlier = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    res = ch.send(Message(title="r", text="", raw=raw, webhook=url, expires_at=earlier))
    assert not res.ok and res.permanent and "expired" in res.errmsg
    assert len(fake.received("/robot/sendBySession")) == 1
