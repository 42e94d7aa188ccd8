"""Fixtures of the notification tests: a fake DingTalk, notification settings pointing at it, a controllable
clock, dispatchers, and events filed through the service functions (no scanner needed)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from models import EventSource
from models.base import utcnow
from notifications.settings import NotifySettings
from tests.fakes.dingtalk import FakeDingTalk

ROBOT_TOKEN = "robot-token-0123"
ROBOT_SECRET = "SECtest0123456789abcdefrobotsecret"
ICU_TOKEN = "robot-token-icu"
ICU_SECRET = "SECicu-secret-xyz"


class Clock:
    """Real time plus an offset the test moves forward (rows the app writes keep real timestamps)."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self):
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def timestamp(self) -> float:
        return self().timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock):
    with FakeDingTalk(robots={ROBOT_TOKEN: ROBOT_SECRET, ICU_TOKEN: ICU_SECRET}, clock=clock.timestamp,
                      hang_seconds=2.0) as f:
        yield f


@pytest.fixture
def notify_settings(fake) -> NotifySettings:
    return NotifySettings(
        dingtalk_robot_webhook=fake.webhook(ROBOT_TOKEN), dingtalk_robot_secret=ROBOT_SECRET,
        dingtalk_api_base=fake.url, dingtalk_app_key=fake.app_key, dingtalk_app_secret=fake.app_secret,
        dingtalk_agent_id="123456789",
        notify_robots=f'{{"icu": {{"webhook": "{fake.webhook(ICU_TOKEN)}", "secret": "{ICU_SECRET}"}}}}',
        notify_backoff_seconds=0.02, notify_backoff_max_seconds=0.2, notify_http_timeout_seconds=0.3,
        notify_poll_seconds=0.01, notify_digest_minutes=15, notify_quiet_hours="", notify_max_attempts=8)


def variant(notify: NotifySettings, **changes) -> NotifySettings:
    """The same settings with some fields changed (validated, unlike model_copy)."""
    return NotifySettings(**{**dict(notify), **changes})


@pytest.fixture
def make_dispatcher(engine, settings, clock):
    """Build a dispatcher on the test database (several may be built: they share the leases)."""
    from notifications.runtime import make_dispatcher as build
    made = []

    def make(notify: NotifySettings, **kw):
        d = build(engine=engine, settings=settings, notify=notify, clock=kw.pop("clock", clock), **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        for ch in d.channels.values():
            ch.close()


@pytest.fixture
def dispatcher(make_dispatcher, notify_settings):
    return make_dispatcher(notify_settings, owner="test-dispatcher")


def run_until(dispatcher, done, *, limit: float = 20.0, step=None) -> None:
    """Run dispatcher passes until `done()` (a safety bound, not a timing assertion)."""
    end = time.monotonic() + limit
    while not done():
        if time.monotonic() > end:
            raise AssertionError("dispatcher did not finish")
        if not dispatcher.run_once():
            if step:
                step()
            time.sleep(0.005)


@pytest.fixture
def file_event(engine, settings):
    """File an event through the service function (writes the outbox row in the same transaction)."""
    from service.db import session_scope
    from service.services.reports import file_manual_report

    def file(severity: str = "II", category: str = "fall", department: str = "骨科一病区", bed: str = "12",
             description: str = "患者如厕时跌倒", **kw):
        with session_scope(engine) as s:
            ev, _ = file_manual_report(session=s, settings=settings, category=category, severity=severity,
                                       description=description, source=kw.pop("source", EventSource.web),
                                       department=department, bed=bed, **kw)
        return ev
    return file
