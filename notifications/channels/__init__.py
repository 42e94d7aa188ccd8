"""Channels: one interface (`Channel.send` → `SendResult`), DingTalk adapters, the log channel."""
from notifications.channels.base import Channel, Message, SendResult
from notifications.channels.robot import RobotChannel
from notifications.channels.simple import LogChannel, SessionWebhookChannel
from notifications.channels.work_notice import WorkNoticeChannel

__all__ = ["Channel", "Message", "SendResult", "RobotChannel", "LogChannel", "SessionWebhookChannel",
           "WorkNoticeChannel"]
