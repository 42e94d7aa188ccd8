"""Routing: which channel(s) an outbox row goes to, and whether now or in the next digest.

Rules are rows (models.notification.RoutingRule) an admin edits; with none enabled, or none matching, the
built-in default applies: everything to the default robot (the log channel when no robot is configured),
severity I/II immediately, III/IV in the digest."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from models import AdverseEvent, OutboxMessage, OutboxStatus
from models.notification import DeliveryMode, RoutingRule
from notifications.render import BOT_REPLY_TOPICS

DIGEST_PREFIX = "digest>"           # channel of a row waiting for its digest: "digest>robot:default"
DIGESTIBLE_TOPICS = ("event_created", "event_upgraded")
IMMEDIATE_SEVERITIES = ("I", "II")
DROP = "none"                       # a rule target that silences what it matches


@dataclass(frozen=True)
class Route:
    channel: str
    digest: bool = False
    user_ids: tuple[int, ...] = field(default_factory=tuple)


def rule_matches(rule: RoutingRule, ev: AdverseEvent) -> bool:
    return ((not rule.severities or ev.severity in rule.severities)
            and (not rule.categories or ev.category in rule.categories)
            and (not rule.departments or (ev.department or "") in rule.departments))


def wants_digest(mode: DeliveryMode, severity: str, topic: str) -> bool:
    if topic not in DIGESTIBLE_TOPICS:
        return False                                   # escalations, assignments: always now
    if mode == DeliveryMode.digest:
        return True
    if mode == DeliveryMode.immediate:
        return False
    return severity not in IMMEDIATE_SEVERITIES


def routes_for(*, rules: list[RoutingRule], ev: AdverseEvent, topic: str, default_channel: str) -> list[Route]:
    """Every matching enabled rule in priority order contributes one route (a rule with stop ends the list)."""
    out: list[Route] = []
    for rule in sorted((r for r in rules if r.enabled), key=lambda r: (r.priority, r.id or 0)):
        if not rule_matches(rule, ev):
            continue
        route = Route(rule.target, wants_digest(rule.mode, ev.severity, topic), tuple(rule.user_ids or ()))
        if route.channel not in [r.channel for r in out]:
            out.append(route)
        if rule.stop:
            break
    if not out:
        out.append(Route(default_channel, wants_digest(DeliveryMode.by_severity, ev.severity, topic)))
    return [r for r in out if r.channel != DROP]


def load_rules(session: Session) -> list[RoutingRule]:
    return list(session.exec(select(RoutingRule).where(RoutingRule.enabled == True)).all())  # noqa: E712


def route_pending(*, session: Session, resolve_channel, default_channel: str, limit: int = 500) -> int:
    """Give every unrouted pending row its channel; a row with several routes is copied once per extra route.
    `resolve_channel(name)` maps a rule target to an available channel (e.g. unconfigured robot → log)."""
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending,
                                                    OutboxMessage.channel.is_(None))
                        .order_by(OutboxMessage.id).limit(limit)).all()
    if not rows:
        return 0
    rules = load_rules(session)
    for row in rows:
        if row.topic in BOT_REPLY_TOPICS:
            row.channel = "session_webhook"
            session.add(row)
            continue
        ev = session.get(AdverseEvent, row.event_id) if row.event_id else None
        if ev is None:
            row.channel = resolve_channel(default_channel)     # render fails visibly later (dead, with reason)
            session.add(row)
            continue
        routes = routes_for(rules=rules, ev=ev, topic=row.topic, default_channel=default_channel)
        if not routes:
            row.channel, row.status, row.last_error = DROP, OutboxStatus.skipped, "silenced by routing rule"
            session.add(row)
            continue
        for i, r in enumerate(routes):
            channel = resolve_channel(r.channel)
            name = f"{DIGEST_PREFIX}{channel}" if r.digest else channel
            payload = dict(row.payload or {})
            if r.user_ids:
                payload["user_ids"] = list(r.user_ids)
            if i == 0:
                row.channel, row.payload = name, payload
                session.add(row)
                continue
            key = f"{row.dedup_key}@{channel}"[:200]
            if session.exec(select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)).first() is None:
                session.add(OutboxMessage(topic=row.topic, channel=name, event_id=row.event_id, dedup_key=key,
                                          payload=payload, created_at=row.created_at))
    session.flush()
    return len(rows)
