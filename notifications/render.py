"""Turn an outbox row into a PHI-masked Message at send time (the row itself carries no patient data)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import Session, select

from models import AdverseEvent, EventFinding, Finding, Note, OutboxMessage, User
from notifications.channels.base import Message
from notifications.phi import markdown_safe, mask_name, scrub

SEVERITY_NAMES = {"I": "警讯事件", "II": "不良后果事件", "III": "未造成后果事件", "IV": "隐患事件"}
SEVERITY_ORDER = {"I": 1, "II": 2, "III": 3, "IV": 4}
TOPIC_HEADINGS = {"event_created": "不良事件预警", "event_upgraded": "不良事件升级",
                  "event_escalated": "逾期未处理", "event_assigned": "事件已指派给您"}
BOT_REPLY_TOPICS = ("bot_reply", "report_reply")


class RenderError(Exception):
    """The row cannot become a message (event gone, unknown topic): the row goes dead, visibly."""


@dataclass(frozen=True)
class RenderContext:
    public_base_url: str
    timezone: str
    data_dir: Path


@lru_cache(maxsize=4)
def category_labels(data_dir: str) -> dict[str, str]:
    """Chinese labels of data/taxonomy.yaml, events and documentation errors."""
    with open(Path(data_dir) / "taxonomy.yaml", encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    out: dict[str, str] = {}
    for kind in ("events", "doc_errors"):
        for code, v in (raw.get(kind) or {}).items():
            out[code] = (v or {}).get("label", code)
    return out


def event_number(event_id: int) -> str:
    return f"AE{event_id:06d}"


def event_link(ctx: RenderContext, event_id: int) -> str:
    return f"{ctx.public_base_url.rstrip('/')}/events/{event_id}"


def _local(ctx: RenderContext, when: datetime | None) -> str:
    if when is None:
        return "未知"
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(ZoneInfo(ctx.timezone)).strftime("%Y-%m-%d %H:%M")


def _patient_name(session: Session, event_id: int) -> str | None:
    q = (select(Note.patient_name).join(Finding, Finding.note_id == Note.id)
         .join(EventFinding, EventFinding.finding_id == Finding.id)
         .where(EventFinding.event_id == event_id, Note.patient_name.is_not(None)).limit(1))
    return session.exec(q).first()


def event_facts(session: Session, ctx: RenderContext, ev: AdverseEvent) -> dict[str, str]:
    """The allow-listed facts a message may carry, masked and scrubbed."""
    labels = category_labels(str(ctx.data_dir))
    sev = ev.severity
    return {"number": event_number(ev.id), "category": labels.get(ev.category, scrub(ev.category)),
            "severity": f"{sev}级（{SEVERITY_NAMES.get(sev, '')}）" if sev in SEVERITY_NAMES else scrub(sev),
            "department": markdown_safe(scrub(ev.department)) or "未知",
            "bed": markdown_safe(scrub(ev.bed, 16)) or "—",
            "time": _local(ctx, ev.occurred_at or ev.detected_at),
            "patient": mask_name(_patient_name(session, ev.id)) or "—",
            "deadline": _local(ctx, ev.deadline_at) if ev.deadline_at else "—"}


def _assignee(session: Session, ev: AdverseEvent) -> User | None:
    return session.get(User, ev.assignee_id) if ev.assignee_id else None


def render_event(session: Session, ctx: RenderContext, row: OutboxMessage) -> Message:
    ev = session.get(AdverseEvent, row.event_id) if row.event_id else None
    if ev is None:
        raise RenderError(f"event {row.event_id} not found")
    f = event_facts(session, ctx, ev)
    heading = TOPIC_HEADINGS.get(row.topic, "不良事件通知")
    lines = [f"#### 【{heading}】{f['category']}",
             f"- 事件编号：{f['number']}",
             f"- 类别：{f['category']}",
             f"- 严重程度：{f['severity']}",
             f"- 科室/病区：{f['department']}",
             f"- 床号：{f['bed']}",
             f"- 患者：{f['patient']}",
             f"- 发生时间：{f['time']}"]
    if row.topic == "event_escalated":
        lines.append(f"- 审核期限：{f['deadline']}（已逾期，仍未处理）")
    elif ev.deadline_at:
        lines.append(f"- 审核期限：{f['deadline']}")
    link = event_link(ctx, ev.id)
    lines.append(f"\n[查看事件]({link})")
    msg = Message(title=f"{heading}：{f['category']} {f['number']}", text="\n".join(lines), link=link)
    assignee = _assignee(session, ev)
    if assignee is not None and row.topic in ("event_assigned", "event_escalated", "event_created", "event_upgraded"):
        if assignee.dingtalk_staff_id:
            msg.at_user_ids.append(assignee.dingtalk_staff_id)
        elif assignee.mobile:
            msg.at_mobiles.append(assignee.mobile)
    msg.recipients = _recipients(session, row, assignee)
    return msg


def _recipients(session: Session, row: OutboxMessage, assignee: User | None) -> list[str]:
    ids: list[str] = []
    user_ids = list(row.payload.get("user_ids") or [])
    if assignee is not None and (row.payload.get("to_assignee") or row.topic == "event_assigned"):
        user_ids.append(assignee.id)
    for uid in user_ids:
        u = session.get(User, uid)
        if u is not None and u.is_active and u.dingtalk_staff_id and u.dingtalk_staff_id not in ids:
            ids.append(u.dingtalk_staff_id)
    return ids


def render_digest(session: Session, ctx: RenderContext, row: OutboxMessage) -> Message:
    ids = list(row.payload.get("event_ids") or [])
    events = session.exec(select(AdverseEvent).where(AdverseEvent.id.in_(ids)).order_by(AdverseEvent.id)).all() if ids else []
    if not events:
        raise RenderError("digest without events")
    labels = category_labels(str(ctx.data_dir))
    counts: dict[str, int] = {}
    for ev in events:
        counts[ev.severity] = counts.get(ev.severity, 0) + 1
    summary = "，".join(f"{s}级 {n} 件" for s, n in sorted(counts.items(), key=lambda kv: SEVERITY_ORDER.get(kv[0], 9)))
    lines = [f"#### 【不良事件汇总】共 {len(events)} 件", f"{summary}", ""]
    for ev in events:
        lines.append(f"- [{event_number(ev.id)}]({event_link(ctx, ev.id)}) {ev.severity}级 "
                     f"{labels.get(ev.category, scrub(ev.category))} · {markdown_safe(scrub(ev.department)) or '未知科室'}"
                     f" · {markdown_safe(scrub(ev.bed, 16)) or '—'}床 · {_local(ctx, ev.occurred_at or ev.detected_at)}")
    queue = f"{ctx.public_base_url.rstrip('/')}/events"
    lines.append(f"\n[打开事件队列]({queue})")
    msg = Message(title=f"不良事件汇总：{len(events)} 件", text="\n".join(lines), link=queue, link_title="打开事件队列")
    msg.recipients = _recipients(session, row, None)
    return msg


def render_bot_reply(row: OutboxMessage) -> Message:
    p: dict[str, Any] = row.payload or {}
    return Message(title="reply", text="", raw=p.get("msg"), webhook=p.get("webhook"), expires_at=p.get("expires_at"))


def render(session: Session, ctx: RenderContext, row: OutboxMessage) -> Message:
    """The message for one outbox row."""
    if row.topic in BOT_REPLY_TOPICS:
        return render_bot_reply(row)
    if row.topic == "digest":
        return render_digest(session, ctx, row)
    if row.topic in TOPIC_HEADINGS:
        return render_event(session, ctx, row)
    raise RenderError(f"unknown topic {row.topic!r}")
