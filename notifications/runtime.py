"""Wiring: channels from settings, the dispatcher and the escalation loop as background loops of the service.

`service.app` starts what `background_loops(app)` returns, each as `target(stop)` in a daemon thread."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from prometheus_client import Counter

from notifications.channels import Channel, LogChannel, RobotChannel, SessionWebhookChannel, WorkNoticeChannel
from notifications.dispatcher import Dispatcher
from notifications.escalation import Escalator
from notifications.render import RenderContext
from notifications.settings import NotifySettings

log = logging.getLogger("aew.notify")


def build_channels(notify: NotifySettings) -> dict[str, Channel]:
    """Every channel this deployment can use. Without a robot, the log channel receives everything."""
    timeout = notify.notify_http_timeout_seconds
    channels: dict[str, Channel] = {}
    for cfg in notify.robots().values():
        ch = RobotChannel(cfg, timeout=timeout, msgtype=notify.notify_robot_msgtype)
        channels[ch.name] = ch
    if notify.work_notice_configured:
        channels["work_notice"] = WorkNoticeChannel(
            app_key=notify.dingtalk_app_key, app_secret=notify.dingtalk_app_secret.get_secret_value(),
            agent_id=notify.dingtalk_agent_id, api_base=notify.dingtalk_api_base, corp_id=notify.dingtalk_corp_id,
            timeout=timeout, refresh_margin=notify.notify_token_refresh_margin_seconds)
    channels["log"] = LogChannel()
    channels["session_webhook"] = SessionWebhookChannel(timeout=timeout)
    return channels


def default_channel(channels: dict[str, Channel]) -> str:
    return "robot:default" if "robot:default" in channels else "log"


def render_context(settings) -> RenderContext:
    return RenderContext(public_base_url=settings.public_base_url, timezone=settings.timezone,
                         data_dir=settings.data_dir)


class NotifyMetrics:
    def __init__(self, registry):
        self.results = Counter("aew_notifications", "Notification send attempts by channel and outcome",
                               ["channel", "outcome"], registry=registry)

    def observe(self, channel: str, outcome: str) -> None:
        self.results.labels(channel, outcome).inc()


def make_dispatcher(*, engine, settings, notify: NotifySettings, metrics=None, **kw) -> Dispatcher:
    channels = build_channels(notify)
    return Dispatcher(engine=engine, channels=channels, notify=notify, ctx=render_context(settings),
                      default_channel=default_channel(channels), metrics=metrics, **kw)


def background_loops(app) -> list[tuple[str, Callable[[threading.Event], None]]]:
    """The dispatcher and the escalation loop for `service.app.start_background`."""
    st = app.state
    notify: NotifySettings = getattr(st, "notify_settings", None) or NotifySettings()
    st.notify_settings = notify
    if not notify.notify_enabled:
        log.info("notifications disabled (AEW_NOTIFY_ENABLED=false)")
        return []
    metrics = None
    if getattr(st, "metrics", None) is not None and getattr(st.metrics, "registry", None) is not None:
        metrics = getattr(st, "notify_metrics", None) or NotifyMetrics(st.metrics.registry)
        st.notify_metrics = metrics
    dispatcher = make_dispatcher(engine=st.engine, settings=st.settings, notify=notify, metrics=metrics)
    st.notify_dispatcher = dispatcher
    if dispatcher.default_channel == "log":
        log.warning("no DingTalk robot configured (AEW_DINGTALK_ROBOT_WEBHOOK): notifications go to the log")
    escalator = Escalator(engine=st.engine, poll_seconds=notify.notify_escalation_poll_seconds)
    return [("notify-dispatcher", dispatcher.run_forever), ("notify-escalation", escalator.run_forever)]
