"""Drafts of DingTalk reports: what to ask next, the numbered category choices, reading the answer, and the
sweep that files a draft nobody completed in time (marked 待补充, never deleted)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from models import AdverseEvent, EventSource, EventStatus
from models.dingtalk import DingTalkConversation
from service.dingtalk.keywords import KeywordTable
from service.dingtalk.replies import templates
from service.services.events import record_action
from service.services.reports import submit_draft

# asked when nothing in the message points at a type: the categories reported most often
COMMON = ("fall", "pressure_injury", "medication_error", "unplanned_extubation", "adverse_drug_reaction",
          "infusion_injury")
CHOICES = 5
NUMBER_RE = re.compile(r"^\s*(?:第\s*)?([1-9]|[一二三四五六七八九])\s*(?:个|项|号)?\s*[。.！!]?\s*$")
CN_DIGIT = "一二三四五六七八九"


def category_choices(likely: list[str], labels: dict[str, str]) -> list[str]:
    """The likeliest categories first, then the common ones, CHOICES in all."""
    out = [c for c in likely if c in labels]
    out += [c for c in COMMON if c not in out]
    return out[:CHOICES]


def chosen_category(text: str, *, choices: list[str], labels: dict[str, str], table: KeywordTable) -> str | None:
    """A reply to the category question: "2", "第二个", the label ("跌倒"), or words the keywords know."""
    m = NUMBER_RE.match(text)
    if m:
        d = m.group(1)
        n = int(d) if d.isdigit() else CN_DIGIT.index(d) + 1
        return choices[n - 1] if 0 < n <= len(choices) else None
    word = text.strip(" 。.！!")
    for code, label in labels.items():
        if word and (word == label or word in label.split("/")):
            return code
    return None


def file_stale_drafts(*, session: Session, ttl_hours: float, settings, now: datetime, data_dir: str,
                      labels: dict[str, str]) -> list[AdverseEvent]:
    """File every DingTalk draft untouched for ttl_hours into the queue, marked 待补充 with what it lacks."""
    t = templates(data_dir)
    stale = session.exec(select(AdverseEvent).where(
        AdverseEvent.status == EventStatus.draft, AdverseEvent.source == EventSource.dingtalk,
        AdverseEvent.updated_at < now - timedelta(hours=ttl_hours)).limit(200)).all()
    filed = []
    for ev in stale:
        convs = session.exec(select(DingTalkConversation).where(DingTalkConversation.event_id == ev.id)).all()
        missing = sorted({m for c in convs for m in c.missing}) or _missing_of(ev)
        names = "、".join(t["field_names"].get(m, m) for m in missing)
        if missing:
            ev.summary = t["filed_incomplete"].format(missing=names) + (ev.summary or "")
        session.add(ev)
        record_action(session=session, event=ev, action="filed_incomplete", actor_name="system",
                      detail={"source": "dingtalk", "missing": missing, "ttl_hours": ttl_hours})
        submit_draft(session=session, settings=settings, event=ev, actor_name="system")
        for c in convs:
            session.delete(c)
        filed.append(ev)
    if filed:
        session.flush()
    return filed


def _missing_of(ev: AdverseEvent) -> list[str]:
    out = []
    if ev.category == "unclassified":
        out.append("category")
    if not (ev.bed or ev.department):
        out.append("location")
    if ev.occurred_at is None:
        out.append("occurred_at")
    return out
