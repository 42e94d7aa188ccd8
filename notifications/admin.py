"""What the admin page reads and writes: channel health, dead letters, resend, routing rules."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from models import OutboxMessage, OutboxStatus
from models.base import utcnow
from models.notification import ChannelStatus, RoutingRule, RoutingRuleCreate, RoutingRuleUpdate
from notifications.routing import DIGEST_PREFIX

ERRCODE_HELP = {
    310000: "签名校验失败、关键词不匹配或 IP 不在白名单：请检查 AEW_DINGTALK_ROBOT_SECRET 与机器人安全设置",
    300001: "机器人 access_token 无效：请检查 AEW_DINGTALK_ROBOT_WEBHOOK（机器人可能已被移除）",
    300005: "机器人不存在或已被停用",
    400013: "群已解散或机器人已被移出群",
    130101: "发送过快（每分钟最多 20 条），已自动暂停并稍后重试",
    40089: "AppKey 或 AppSecret 无效：请检查 AEW_DINGTALK_APP_KEY / AEW_DINGTALK_APP_SECRET",
    40096: "AppKey 或 AppSecret 无效",
    60020: "服务器 IP 不在钉钉应用的白名单中",
}


@dataclass
class Overview:
    counts: dict[str, int]
    waiting_digest: int
    channels: list[ChannelStatus]
    dead: list[OutboxMessage]
    rules: list[RoutingRule]


def overview(*, session: Session, dead_limit: int = 100) -> Overview:
    """Counts by status, each channel's last state, the newest dead letters and the routing rules."""
    counts = {getattr(k, "value", k): n for k, n in session.exec(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()}
    waiting = session.exec(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.pending, OutboxMessage.channel.startswith(DIGEST_PREFIX))).one()
    channels = list(session.exec(select(ChannelStatus).where(ChannelStatus.channel.not_like(f"{DIGEST_PREFIX}%"))
                                 .order_by(ChannelStatus.channel)).all())
    dead = list(session.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.dead)
                             .order_by(OutboxMessage.id.desc()).limit(dead_limit)).all())
    rules = list(session.exec(select(RoutingRule).order_by(RoutingRule.priority, RoutingRule.id)).all())
    return Overview(counts=counts, waiting_digest=waiting, channels=channels, dead=dead, rules=rules)


def resend(*, session: Session, message_id: int) -> OutboxMessage | None:
    """Put a dead letter back in line (attempts from zero) and lift its channel's pause."""
    m = session.get(OutboxMessage, message_id)
    if m is None or m.status != OutboxStatus.dead:
        return None
    m.status, m.attempts, m.next_attempt_at = OutboxStatus.pending, 0, utcnow()
    session.add(m)
    if m.channel:
        resume_channel(session=session, channel=m.channel)
    return m


def resume_channel(*, session: Session, channel: str) -> ChannelStatus | None:
    """Lift a pause (after the admin fixed the configuration): the next message is tried at once."""
    st = session.get(ChannelStatus, channel)
    if st is None:
        return None
    st.paused_until, st.config_error = None, False
    session.add(st)
    return st


def create_rule(*, session: Session, data: RoutingRuleCreate) -> RoutingRule:
    """Add a routing rule."""
    rule = RoutingRule.model_validate(data)
    session.add(rule)
    session.flush()
    return rule


def update_rule(*, session: Session, rule: RoutingRule, data: RoutingRuleUpdate) -> RoutingRule:
    """Change the given fields of a routing rule."""
    for k, v in data.model_dump(exclude_unset=True).items():
        setattr(rule, k, v)
    rule.updated_at = utcnow()
    session.add(rule)
    return rule


def delete_rule(*, session: Session, rule: RoutingRule) -> None:
    """Remove a routing rule."""
    session.delete(rule)
