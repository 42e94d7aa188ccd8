"""Corrections from the reporter: "改 时间 6:40", "改 床号 15", "改 类型 跌倒", "改 科室 心内" (optionally with the
report number: "改 12 床号 15"). Only the reporter's own reports that nobody has reviewed yet; every correction
is kept in the event's history (before and after)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, select

from models import AdverseEvent, EventStatus
from models.dingtalk import DingTalkConversation, DingTalkMessage
from service.dingtalk.keywords import category_labels, keyword_table
from service.dingtalk.parsing import ParsedReport, extract_bed
from service.dingtalk.places import place_table
from service.dingtalk.replies import BotReply, simple_reply, templates
from service.dingtalk.when import extract_time
from service.services.events import record_action
from service.services.reports import submit_draft

CORRECT_RE = re.compile(r"^(?:改|更正|修改|纠正)\s*[#＃]?\s*(\d+)?\s*(?:号|的)?\s*"
                        r"(时间|发生时间|床号|床位|床|类型|事件类型|类别|科室|病区|地点)?\s*[:：为成]?\s*(.*)$", re.S)
FIELDS = {"时间": "occurred_at", "发生时间": "occurred_at", "床号": "bed", "床位": "bed", "床": "bed",
          "类型": "category", "事件类型": "category", "类别": "category", "科室": "department", "病区": "department",
          "地点": "department"}
CORRECTABLE = (EventStatus.draft, EventStatus.new)


def _target(session: Session, who, msg, number: str | None) -> AdverseEvent | None:
    q = select(DingTalkMessage.event_id).where(DingTalkMessage.sender_key == who.sender_key,
                                               DingTalkMessage.event_id.is_not(None))
    if number:
        q = q.where(DingTalkMessage.event_id == int(number))
    elif msg.conversation_id:
        q = q.where(DingTalkMessage.conversation_id == msg.conversation_id)
    event_id = session.exec(q.order_by(DingTalkMessage.id.desc())).first()
    return session.get(AdverseEvent, event_id) if event_id else None


def _value(ctx, name: str, raw: str, now: datetime):
    """The corrected value read from the text, or None when it cannot be read."""
    if name == "occurred_at":
        return extract_time(raw, now=now, tz=ctx.tz)[0]
    if name == "bed":
        bare = raw.strip().rstrip("床号")
        return extract_bed(raw) or extract_bed(f"{bare}床")
    if name == "category":
        labels = category_labels(ctx.data_dir)
        word = raw.strip()
        for code, label in labels.items():
            if word in (code, label) or word in label.split("/"):
                return code
        from service.dingtalk.colloquial import colloquial
        wording = colloquial(ctx.data_dir)
        fixed = wording.fix_typos(word)
        hits = [c for c, _ in wording.categories(fixed)] + [c for c, _, _ in keyword_table(ctx.data_dir).match_categories(fixed)]
        return hits[0] if hits else None
    places = place_table(ctx.data_dir)
    return places.canonical(raw.strip()) or (raw.strip() or None)


def _show(ctx, name: str, value) -> str:
    if value is None:
        return "（空）"
    if name == "occurred_at":
        return value.astimezone(ctx.tz).strftime("%m-%d %H:%M")
    if name == "category":
        return category_labels(ctx.data_dir).get(value, "待分类")
    return str(value)


def correct(*, session: Session, ctx, who, msg, match: re.Match, now: datetime) -> BotReply:
    """Apply one correction to the reporter's latest (or numbered) report; audited as report_corrected."""
    number, field_word, raw = match.group(1), match.group(2), (match.group(3) or "").strip()
    if not field_word or not raw:
        return simple_reply(data_dir=ctx.data_dir, key="correct_usage")
    ev = _target(session, who, msg, number)
    if ev is None:
        return simple_reply(data_dir=ctx.data_dir, key="correct_not_found")
    t = templates(ctx.data_dir)
    if ev.status not in CORRECTABLE:
        return simple_reply(data_dir=ctx.data_dir, key="correct_too_late", id=ev.id,
                            status=t["statuses"].get(ev.status.value, ev.status.value))
    name = FIELDS[field_word]
    value = _value(ctx, name, raw, now)
    if value is None:
        return simple_reply(data_dir=ctx.data_dir, key="correct_not_understood", value=raw,
                            field=field_word, example=t["correct_examples"].get(name, ""))
    before = getattr(ev, name)
    setattr(ev, name, value)
    if name == "occurred_at":
        ev.last_evidence_at = value
    ev.updated_at = now
    session.add(ev)
    actor = "匿名" if ev.anonymous else (who.name or "unknown")
    record_action(session=session, event=ev, action="report_corrected", actor_name=actor,
                  actor_user_id=None if ev.anonymous else who.user_id, comment=msg.text,
                  detail={"source": "dingtalk", "field": name, "before": _audit(before), "after": _audit(value)})
    if _update_draft(session, ev, name, value) == [] and ev.status == EventStatus.draft:
        submit_draft(session=session, settings=ctx.settings, event=ev, actor_name=actor,
                     actor_user_id=None if ev.anonymous else who.user_id)
    label = t["field_names"].get(name, field_word)
    reply = t["corrected"].format(id=ev.id, field=label, before=_show(ctx, name, before), after=_show(ctx, name, value))
    return BotReply(text=reply + "\n\n" + t["link"].format(url=ctx.event_url(ev.id)), title=t["title"], event_id=ev.id)


def _audit(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _update_draft(session: Session, ev: AdverseEvent, name: str, value) -> list[str] | None:
    """Keep a waiting draft's facts in step, so the next question does not ask again what was corrected;
    returns what the draft still lacks (None: no draft waits)."""
    conv = session.exec(select(DingTalkConversation).where(DingTalkConversation.event_id == ev.id)).first()
    if conv is None:
        return None
    facts = ParsedReport.from_json(conv.facts)
    if name == "department":
        facts.department = facts.ward = value
    else:
        setattr(facts, name, value)
    conv.facts = facts.to_json()
    conv.missing = [m for m in facts.missing() if m in conv.missing]
    if not conv.missing:
        session.delete(conv)
        return []
    session.add(conv)
    return conv.missing
