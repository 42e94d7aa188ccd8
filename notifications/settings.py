"""Notification settings (environment, prefix AEW_). Secrets are SecretStr: they never print, log or repr."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import time

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class RobotConfig:
    name: str
    webhook: str          # full URL with access_token (a secret: never logged)
    secret: str           # signing secret ("加签"); empty = robot without signature

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.webhook}\n{self.secret}".encode()).hexdigest()[:16]


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AEW_", extra="ignore")

    # DingTalk (names fixed by issue 7; other tools configure the service with them)
    dingtalk_robot_webhook: SecretStr = SecretStr("")
    dingtalk_robot_secret: SecretStr = SecretStr("")
    dingtalk_api_base: str = "https://oapi.dingtalk.com"
    dingtalk_app_key: str = ""
    dingtalk_app_secret: SecretStr = SecretStr("")
    dingtalk_agent_id: str = ""
    dingtalk_corp_id: str = ""
    notify_robots: SecretStr = Field(default=SecretStr(""), description=(
        'more group robots as JSON: {"icu": {"webhook": "...", "secret": "..."}}; routing targets robot:<name>'))

    # dispatcher
    notify_enabled: bool = True
    notify_max_attempts: int = 12                # ~20 minutes of backoff before a message is dead
    notify_backoff_seconds: float = 2.0          # first retry delay; doubles, with jitter
    notify_backoff_max_seconds: float = 600.0
    notify_rate_limit: int = 20                  # messages per robot per window (DingTalk: 20 per minute)
    notify_rate_window_seconds: float = 60.0
    notify_poll_seconds: float = 0.25
    notify_http_timeout_seconds: float = 5.0
    notify_lease_seconds: float = 30.0
    notify_config_pause_seconds: float = 600.0   # after 310000/300001: one probe per pause, no storm
    notify_robot_msgtype: str = "markdown"       # markdown | actionCard
    notify_token_refresh_margin_seconds: float = 300.0

    # digests and escalation
    notify_digest_minutes: float = 15.0
    notify_digest_max_events: int = 50
    notify_quiet_hours: str = ""                 # "22:00-07:00" local time: digests wait until it ends
    notify_escalation_poll_seconds: float = 30.0

    @field_validator("notify_robot_msgtype")
    @classmethod
    def _msgtype(cls, v: str) -> str:
        if v not in ("markdown", "actionCard"):
            raise ValueError("notify_robot_msgtype must be markdown or actionCard")
        return v

    @field_validator("notify_quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        if v.strip():
            parse_quiet_hours(v)
        return v.strip()

    def robots(self) -> dict[str, RobotConfig]:
        """Configured group robots by name; `default` is AEW_DINGTALK_ROBOT_WEBHOOK."""
        out: dict[str, RobotConfig] = {}
        if self.dingtalk_robot_webhook.get_secret_value():
            out["default"] = RobotConfig("default", self.dingtalk_robot_webhook.get_secret_value(),
                                         self.dingtalk_robot_secret.get_secret_value())
        extra = self.notify_robots.get_secret_value().strip()
        if extra:
            try:
                data = json.loads(extra)
            except ValueError as e:
                raise ValueError(f"AEW_NOTIFY_ROBOTS is not valid JSON ({e.msg})") from None
            for name, cfg in data.items():
                out[name] = RobotConfig(name, cfg["webhook"], cfg.get("secret", ""))
        return out

    @property
    def work_notice_configured(self) -> bool:
        return bool(self.dingtalk_app_key and self.dingtalk_app_secret.get_secret_value() and self.dingtalk_agent_id)

    def quiet_hours(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.notify_quiet_hours) if self.notify_quiet_hours else None


def parse_quiet_hours(v: str) -> tuple[time, time]:
    """'22:00-07:00' → (22:00, 07:00)."""
    try:
        a, b = v.split("-")
        return time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"quiet hours must look like 22:00-07:00, got {v!r}") from None


def in_quiet_hours(local: time, window: tuple[time, time] | None) -> bool:
    if window is None:
        return False
    start, end = window
    if start <= end:
        return start <= local < end
    return local >= start or local < end
