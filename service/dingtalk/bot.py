"""The chatbot: one inbound message (robot callback or Stream frame) → a report, a follow-up or a command,
and the reply. The HTTP route and the Stream handler both call `process_message`."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import AdverseEvent, Department, EventSource, EventStatus
from models.base import utcnow
from models.dingtalk import DingTalkConversation, DingTalkMessage
from service.dingtalk.encounters import find_encounter, merge_key, open_event_for
from service.dingtalk.identity import Reporter, resolve_reporter
from service.dingtalk.colloquial import colloquial
from service.dingtalk.corrections import CORRECT_RE, correct
from service.dingtalk.drafts import category_choices, chosen_category, file_stale_drafts
from service.dingtalk.keywords import category_labels, keyword_table
from service.dingtalk.parsing import ParsedReport, parse_report
from service.dingtalk.places import place_table
from service.dingtalk.replies import BotReply, report_reply, simple_reply, templates
from service.dingtalk.settings import DingTalkSettings
from service.services.events import record_action
from service.services.reports import file_manual_report, submit_draft
from service.settings import Settings

log = logging.getLogger("aew.dingtalk")

UNCLASSIFIED = "unclassified"      # category of a draft whose type is not known yet
WITHDRAW_RE = re.compile(r"^撤回\s*[#＃]?\s*(\d+)?\s*$")
HELP_WORDS = {"帮助", "help", "?", "？", "菜单", "使用说明"}
MY_REPORTS_WORDS = {"我的上报", "我的报告", "我的上报记录"}
# greetings and acknowledgements: answered, never filed (anything else that is not a command is a report)
CHATTER_RE = re.compile(r"^(?:你好|您好|哈喽|hello|hi|在吗|在不在|谢谢|多谢|谢了|好的|好|收到|知道了|嗯+|ok|OK|👍|再见)"
                        r"[啊呀呢吧哈的！!。.～~\s]*$", re.IGNORECASE)
WITHDRAWABLE = (EventStatus.draft, EventStatus.new)


@dataclass
class IncomingMessage:
    """The fields of a DingTalk robot message that the bot uses (same JSON in HTTP callbacks and Stream)."""
    msg_id: str
    text: str
    channel: str                                  # robot | stream
    conversation_id: str | None = None
    conversation_type: str | None = None          # "1" single chat, "2" group
    sender_staff_id: str | None = None
    sender_id: str | None = None
    sender_nick: str | None = None
    session_webhook: str | None = None
    webhook_expires_at: datetime | None = None

    @classmethod
    def from_payload(cls, d: dict[str, Any], *, channel: str) -> "IncomingMessage":
        msgtype = d.get("msgtype") or "text"
        if msgtype == "text":
            text = (d.get("text") or {}).get("content") or ""
        elif msgtype == "richText":
            text = "".join(i.get("text", "") for i in (d.get("content") or {}).get("richText") or [])
        else:
            text = ""
        exp = d.get("sessionWebhookExpiredTime")
        return cls(msg_id=str(d.get("msgId") or ""), text=text.strip(), channel=channel,
                   conversation_id=d.get("conversationId"), conversation_type=d.get("conversationType"),
                   sender_staff_id=d.get("senderStaffId") or None, sender_id=d.get("senderId") or None,
                   sender_nick=d.get("senderNick"), session_webhook=d.get("sessionWebhook"),
                   webhook_expires_at=datetime.fromtimestamp(int(exp) / 1000, timezone.utc) if exp else None)


@dataclass
class BotContext:
    """What the bot needs from the application: settings and the shared NLP scanner."""
    settings: Settings
    dt: DingTalkSettings
    scanner_factory: Callable[[], Any] | None = None
    tz: ZoneInfo = field(init=False)

    def __post_init__(self):
        self.tz = ZoneInfo(self.settings.timezone)

    @property
    def data_dir(self) -> str:
        return str(self.settings.data_dir)

    @property
    def secret(self) -> str:
        return self.settings.secret_key or self.dt.dingtalk_app_secret

    def scanner(self):
        if self.scanner_factory is None:
            return None
        try:
            return self.scanner_factory()
        except Exception as e:  # noqa: BLE001 — the keyword table still parses the report
            log.warning("scanner unavailable for DingTalk report, using keywords", extra={"error": repr(e)})
            return None

    def event_url(self, event_id: int) -> str:
        return self.settings.public_base_url.rstrip("/") + self.dt.dingtalk_event_path.format(id=event_id)


# ---- entry point ---------------------------------------------------------------------------------------------

def process_message(*, engine, ctx: BotContext, msg: IncomingMessage) -> BotReply | None:
    """Handle one message in its own transaction and deliver the reply. None: a replay (already handled)."""
    from service.dingtalk.delivery import deliver_reply
    with Session(engine, expire_on_commit=False) as session:
        try:
            reply = handle_message(session=session, ctx=ctx, msg=msg)
            session.commit()
        except IntegrityError:
            session.rollback()
            if _seen(session, msg.msg_id):
                return None       # the same msgId raced in on another request
            raise
    if reply is not None:
        deliver_reply(engine=engine, dt=ctx.dt, msg=msg, reply=reply)
    return reply


def _seen(session: Session, msg_id: str) -> bool:
    return session.exec(select(DingTalkMessage.id).where(DingTalkMessage.msg_id == msg_id)).first() is not None


def handle_message(*, session: Session, ctx: BotContext, msg: IncomingMessage,
                   now: datetime | None = None) -> BotReply | None:
    """Record the message once (by msgId) and act on it; returns the reply. Runs in the caller's transaction."""
    if not msg.msg_id:
        raise ValueError("DingTalk message without msgId")
    if _seen(session, msg.msg_id):
        return None
    now = now or utcnow()
    who = resolve_reporter(session=session, secret=ctx.secret, staff_id=msg.sender_staff_id,
                           sender_id=msg.sender_id, nick=msg.sender_nick)
    record = DingTalkMessage(msg_id=msg.msg_id, channel=msg.channel, conversation_id=msg.conversation_id,
                             sender_key=who.sender_key, kind="command")
    session.add(record)
    session.flush()
    file_stale_drafts(session=session, ttl_hours=ctx.dt.dingtalk_draft_ttl_hours, settings=ctx.settings, now=now,
                      data_dir=ctx.data_dir, labels=category_labels(ctx.data_dir))
    text = msg.text.strip()
    if text in HELP_WORDS or not text:
        return simple_reply(data_dir=ctx.data_dir, key="help")
    if CHATTER_RE.match(text):
        return simple_reply(data_dir=ctx.data_dir, key="chatter")
    if text in MY_REPORTS_WORDS:
        return _my_reports(session=session, ctx=ctx, who=who)
    m = WITHDRAW_RE.match(text)
    if m:
        return _withdraw(session=session, ctx=ctx, who=who, number=m.group(1), now=now)
    m = CORRECT_RE.match(text)
    if m:
        return correct(session=session, ctx=ctx, who=who, msg=msg, match=m, now=now)
    return _report(session=session, ctx=ctx, msg=msg, who=who, record=record, now=now)


# ---- reports and follow-ups ------------------------------------------------------------------------------------

def _departments(session: Session) -> list[Department]:
    return list(session.exec(select(Department)).all())


def _department_code(rep: ParsedReport, who: Reporter, deps: list[Department]) -> str | None:
    """Where it happened: the reporter's linked ward, unless the text names a ward with its bed ("心内12床");
    else the ward named in the text; as the hospital's department code when it has one. None when nothing
    names a place (never a department that only phoned or was consulted)."""
    written = rep.department or rep.ward
    if who.department and not (written and rep.extra.get("ward_with_bed")):
        return who.department
    if not written:
        return who.department
    from service.settings import REPO_DATA_DIR
    places = place_table(str(REPO_DATA_DIR))
    std = places.canonical(written) or written
    for d in deps:
        if written in (d.code, d.name) or std in (d.code, d.name) or std in (places.canonical(d.name),
                                                                         places.canonical(d.code)):
            return d.code
    return std


def _dep_names(deps: list[Department]) -> dict[str, str]:
    return {n: d.code for d in deps for n in (d.name, d.code) if n}


def _pending(session: Session, msg: IncomingMessage, who: Reporter, now: datetime) -> DingTalkConversation | None:
    if not msg.conversation_id:
        return None
    conv = session.exec(select(DingTalkConversation).where(
        DingTalkConversation.conversation_id == msg.conversation_id,
        DingTalkConversation.sender_key == who.sender_key)).first()
    if conv is None:
        return None
    ev = session.get(AdverseEvent, conv.event_id)
    if conv.expires_at < now or ev is None or ev.status != EventStatus.draft:
        session.delete(conv)
        session.flush()
        return None
    return conv


def _parse(ctx: BotContext, text: str, deps: list[Department], now: datetime) -> ParsedReport:
    return parse_report(text, table=keyword_table(ctx.data_dir), now=now, tz=ctx.tz, scanner=ctx.scanner(),
                        departments=_dep_names(deps), places=place_table(ctx.data_dir),
                        wording=colloquial(ctx.data_dir))


def _is_new_report(base: ParsedReport, rep: ParsedReport, who: Reporter) -> bool:
    """A complete report about another incident, sent while a draft waits: not an answer to the draft."""
    if rep.missing(reporter_department=who.department):
        return False
    if base.category and rep.category and base.category != rep.category:
        return True
    if base.bed and rep.bed and base.bed != rep.bed:
        return True
    return bool(base.category and (base.bed or base.ward) and base.occurred_at)


def _report(*, session: Session, ctx: BotContext, msg: IncomingMessage, who: Reporter, record: DingTalkMessage,
            now: datetime) -> BotReply:
    deps = _departments(session)
    conv = _pending(session, msg, who, now)
    if conv is not None:
        base = ParsedReport.from_json(conv.facts)
        answer = _answer(ctx=ctx, conv=conv, text=msg.text)
        rep = answer or _parse(ctx, msg.text, deps, now)
        if answer is not None or not _is_new_report(base, rep, who):
            record.kind = "followup"
            return _follow_up(session=session, ctx=ctx, who=who, conv=conv, rep=rep, record=record, deps=deps,
                              now=now)
    else:
        rep = _parse(ctx, msg.text, deps, now)
    if not rep.text:
        record.kind = "ignored"
        return simple_reply(data_dir=ctx.data_dir, key="not_understood")
    record.kind = "report"
    missing = rep.missing(reporter_department=who.department)
    department = _department_code(rep, who, deps)
    enc = find_encounter(session=session, bed=rep.bed, department=department, patient=rep.patient,
                         when=rep.occurred_at or now, window_hours=ctx.settings.merge_window_hours)
    ev, created = file_manual_report(
        session=session, settings=ctx.settings, category=rep.category or UNCLASSIFIED,
        severity=rep.severity or "III", description=rep.text, source=EventSource.dingtalk, department=department,
        bed=rep.bed, occurred_at=rep.occurred_at, encounter_id=enc[1] if enc else None,
        patient_id=enc[2] if enc else None, source_system=enc[0] if enc else None,
        reporter_user_id=who.user_id, reporter_name=who.name, anonymous=rep.anonymous,
        external_ref=f"dingtalk:{msg.msg_id}", draft=bool(missing))
    if missing:
        ev.updated_at = now
        if rep.occurred_at is None:
            ev.occurred_at = None            # unknown until the follow-up says it
        session.add(ev)
    record.event_id = ev.id
    _note_parse(session=session, ev=ev, rep=rep, who=who)
    if missing and msg.conversation_id:
        _save_pending(session=session, ctx=ctx, msg=msg, who=who, ev=ev, rep=rep, missing=missing, now=now)
    headline = ("draft" if missing else "received") if created else "merged"
    return _summary(ctx=ctx, ev=ev, rep=rep, who=who, headline=headline, missing=missing, now=now)


def _answer(*, ctx: BotContext, conv: DingTalkConversation, text: str) -> ParsedReport | None:
    """A short answer to the category question ("2", "跌倒") as a report that has only the category."""
    if not conv.missing or conv.missing[0] != "category":
        return None
    choices = (conv.facts.get("extra") or {}).get("choices") or []
    cat = chosen_category(text, choices=choices, labels=category_labels(ctx.data_dir),
                          table=keyword_table(ctx.data_dir))
    if cat is None:
        return None
    table = keyword_table(ctx.data_dir)
    return ParsedReport(text=text.strip(), category=cat, category_source="choice",
                        severity=table.default_severity(cat), severity_source="default")


def _follow_up(*, session: Session, ctx: BotContext, who: Reporter, conv: DingTalkConversation, rep: ParsedReport,
               record: DingTalkMessage, deps: list[Department], now: datetime) -> BotReply:
    ev = session.get(AdverseEvent, conv.event_id)
    base = ParsedReport.from_json(conv.facts)
    asked = conv.missing[0] if conv.missing else None
    filled = base.fill_from(rep)
    if "ward" in filled or "department" in filled:
        base.extra["ward_with_bed"] = rep.extra.get("ward_with_bed", False)
    record.event_id = ev.id
    ev.category = base.category or ev.category
    ev.severity = base.severity or ev.severity
    ev.bed = base.bed
    ev.department = _department_code(base, who, deps) if ("ward" in filled or "department" in filled) else ev.department
    if base.occurred_at:
        ev.occurred_at = ev.last_evidence_at = base.occurred_at
    ev.summary, ev.updated_at = base.text, now
    if base.anonymous and not ev.anonymous:
        ev.anonymous, ev.reporter_user_id, ev.reporter_name = True, None, None
    session.add(ev)
    actor = "匿名" if ev.anonymous else (who.name or "unknown")
    record_action(session=session, event=ev, action="report_followup", actor_name=actor,
                  actor_user_id=None if ev.anonymous else who.user_id, comment=rep.text,
                  detail={"source": "dingtalk", "filled": filled, "asked": asked})
    missing = base.missing(reporter_department=who.department)
    if missing:
        _keep_choices(ctx, base, missing)
        conv.missing, conv.facts, conv.updated_at = missing, base.to_json(), now
        conv.expires_at = now + timedelta(hours=ctx.dt.dingtalk_draft_ttl_hours)
        session.add(conv)
        return _summary(ctx=ctx, ev=ev, rep=base, who=who, headline="still_missing", missing=missing, now=now)
    session.delete(conv)
    target = _complete(session=session, ctx=ctx, ev=ev, actor=actor, actor_user_id=None if ev.anonymous else who.user_id)
    headline = "completed" if target.id == ev.id else "merged"
    return _summary(ctx=ctx, ev=target, rep=base, who=who, headline=headline, missing=[], now=now)
def _complete(*, session: Session, ctx: BotContext, ev: AdverseEvent, actor: str,
              actor_user_id: int | None) -> AdverseEvent:
    """A completed draft joins an open NLP event of the same encounter and category, or enters the queue."""
    if ev.encounter_id or ev.patient_id:
        since = (ev.occurred_at or utcnow()) - timedelta(hours=ctx.settings.merge_window_hours)
        target = open_event_for(session=session, key=ev.merge_key, category=ev.category, since=since, exclude_id=ev.id)
        if target is not None:
            ev.status, ev.merged_into_id, ev.updated_at = EventStatus.merged, target.id, utcnow()
            session.add(ev)
            record_action(session=session, event=ev, action="merge", actor_name=actor, actor_user_id=actor_user_id,
                          from_status="draft", to_status="merged", detail={"into": target.id})
            record_action(session=session, event=target, action="report_merged", actor_name=actor,
                          actor_user_id=actor_user_id, comment=ev.summary,
                          detail={"source": "dingtalk", "external_ref": ev.external_ref, "from_event": ev.id})
            return target
    return submit_draft(session=session, settings=ctx.settings, event=ev, actor_name=actor,
                        actor_user_id=actor_user_id)


def _save_pending(*, session: Session, ctx: BotContext, msg: IncomingMessage, who: Reporter, ev: AdverseEvent,
                  rep: ParsedReport, missing: list[str], now: datetime) -> None:
    conv = session.exec(select(DingTalkConversation).where(
        DingTalkConversation.conversation_id == msg.conversation_id,
        DingTalkConversation.sender_key == who.sender_key)).first()
    conv = conv or DingTalkConversation(conversation_id=msg.conversation_id, sender_key=who.sender_key,
                                        event_id=ev.id, expires_at=now)
    _keep_choices(ctx, rep, missing)
    conv.event_id, conv.missing, conv.facts, conv.updated_at = ev.id, missing, rep.to_json(), now
    conv.expires_at = now + timedelta(hours=ctx.dt.dingtalk_draft_ttl_hours)
    session.add(conv)


def _note_parse(*, session: Session, ev: AdverseEvent, rep: ParsedReport, who: Reporter) -> None:
    """Keep what the parser read (for the quality manager) in the event's history; no names."""
    record_action(session=session, event=ev, action="parsed", actor_name="system",
                  detail={"category_source": rep.category_source, "severity_source": rep.severity_source,
                          "ward": rep.ward, "time_text": rep.time_text, "time_approx": rep.time_approx,
                          "has_patient_name": bool(rep.patient), "known_reporter": who.user_id is not None})


def _summary(*, ctx: BotContext, ev: AdverseEvent, rep: ParsedReport, who: Reporter, headline: str,
             missing: list[str], now: datetime | None = None) -> BotReply:
    t = templates(ctx.data_dir)
    reporter = t["anonymous"] if ev.anonymous else None
    return report_reply(data_dir=ctx.data_dir, event=ev, rep=rep, labels=category_labels(ctx.data_dir), tz=ctx.tz,
                        headline=headline, missing=missing, url=ctx.event_url(ev.id),
                        draft_hours=ctx.dt.dingtalk_draft_ttl_hours,
                        location_fallback=None if (rep.ward or rep.bed) else who.department, reporter=reporter,
                        choices=(rep.extra or {}).get("choices"), now=now,
                        action_card=ctx.dt.dingtalk_reply_action_card)


def _keep_choices(ctx: BotContext, rep: ParsedReport, missing: list[str]) -> None:
    """Remember the numbered category choices shown, so that "2" can be read against them."""
    if missing and missing[0] == "category":
        rep.extra["choices"] = category_choices(rep.extra.get("likely") or [], category_labels(ctx.data_dir))


# ---- commands ------------------------------------------------------------------------------------------------

def _my_events(session: Session, who: Reporter, limit: int = 10) -> list[AdverseEvent]:
    ids = session.exec(select(DingTalkMessage.event_id).where(
        DingTalkMessage.sender_key == who.sender_key, DingTalkMessage.event_id.is_not(None),
        DingTalkMessage.kind == "report").order_by(DingTalkMessage.id.desc()).limit(limit * 3)).all()
    seen, out = set(), []
    for i in ids:
        if i not in seen and (ev := session.get(AdverseEvent, i)) is not None:
            seen.add(i)
            out.append(ev)
    return out[:limit]


def _my_reports(*, session: Session, ctx: BotContext, who: Reporter) -> BotReply:
    t = templates(ctx.data_dir)
    events = _my_events(session, who)
    if not events:
        return simple_reply(data_dir=ctx.data_dir, key="my_reports_empty")
    labels = category_labels(ctx.data_dir)
    lines = [t["my_reports_header"].format(n=len(events))]
    for ev in events:
        when = ev.occurred_at.astimezone(ctx.tz).strftime("%m-%d %H:%M") if ev.occurred_at else "时间待补充"
        lines.append(t["my_reports_line"].format(id=ev.id, label=labels.get(ev.category, "类型待补充"),
                                                 status=t["statuses"].get(ev.status.value, ev.status.value),
                                                 time=when))
    return BotReply(text="\n".join(lines), title=t["title"])


def _withdraw(*, session: Session, ctx: BotContext, who: Reporter, number: str | None, now: datetime) -> BotReply:
    if not number:
        return simple_reply(data_dir=ctx.data_dir, key="withdraw_usage")
    event_id = int(number)
    mine = session.exec(select(DingTalkMessage.id).where(
        DingTalkMessage.sender_key == who.sender_key, DingTalkMessage.event_id == event_id)).first()
    ev = session.get(AdverseEvent, event_id) if mine else None
    if ev is None or ev.source != EventSource.dingtalk or not (ev.external_ref or "").startswith("dingtalk:"):
        return simple_reply(data_dir=ctx.data_dir, key="withdraw_not_found", id=event_id)
    if ev.status not in WITHDRAWABLE:
        status = templates(ctx.data_dir)["statuses"].get(ev.status.value, ev.status.value)
        return simple_reply(data_dir=ctx.data_dir, key="withdraw_too_late", id=event_id, status=status)
    before = ev.status.value
    ev.status, ev.dismiss_reason, ev.updated_at = EventStatus.dismissed, "上报人撤回", now
    session.add(ev)
    record_action(session=session, event=ev, action="withdraw", actor_name="匿名" if ev.anonymous else (who.name or "unknown"),
                  actor_user_id=None if ev.anonymous else who.user_id, from_status=before, to_status="dismissed",
                  comment="上报人通过钉钉撤回")
    for conv in session.exec(select(DingTalkConversation).where(DingTalkConversation.event_id == event_id)).all():
        session.delete(conv)
    return simple_reply(data_dir=ctx.data_dir, key="withdrawn", id=event_id)
