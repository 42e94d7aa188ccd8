"""Drafts of DingTalk reports: what to ask next, the numbered category choices, reading the answer, the
sweep that files a draft nobody completed in time (marked 待补充, never deleted) and the loop of `aew serve`
that runs it, and what each 待补充 report still lacks (for the queue page)."""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models import AdverseEvent, EventAction, EventSource, EventStatus
from models.event import OPEN_STATUSES
from models.base import utcnow
from models.dingtalk import DingTalkConversation
from service.db import session_scope
from service.dingtalk.keywords import KeywordTable, category_labels
from service.dingtalk.parsing import extract_patient
from service.dingtalk.replies import mask_text, templates
from service.dingtalk.settings import DingTalkSettings
from service.services.events import record_action
from service.services.reports import submit_draft

log = logging.getLogger("aew.dingtalk.drafts")

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
    # rows another sweep (another process, or the bot) is filing right now are skipped, not filed twice
    stale = session.exec(select(AdverseEvent).where(
        AdverseEvent.status == EventStatus.draft, AdverseEvent.source == EventSource.dingtalk,
        AdverseEvent.updated_at < now - timedelta(hours=ttl_hours))
        .order_by(AdverseEvent.id).limit(200).with_for_update(skip_locked=True)).all()
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


class DraftSweepSettings(DingTalkSettings):
    """The DingTalk settings plus how often `aew serve` sweeps (AEW_DINGTALK_DRAFT_SWEEP_SECONDS; 0 = never)."""
    dingtalk_draft_sweep_seconds: float = 300.0


class DraftSweeper:
    """The loop of `aew serve` that files stale drafts when no bot message arrives to trigger the sweep."""

    def __init__(self, *, engine: Engine, settings, ttl_hours: float, poll_seconds: float,
                 clock: Callable[[], datetime] = utcnow):
        self.engine, self.settings, self.ttl_hours = engine, settings, ttl_hours
        self.poll_seconds, self.clock = poll_seconds, clock

    def run_once(self) -> list[int]:
        data_dir = str(self.settings.data_dir)
        with session_scope(self.engine) as s:
            filed = file_stale_drafts(session=s, ttl_hours=self.ttl_hours, settings=self.settings, now=self.clock(),
                                      data_dir=data_dir, labels=category_labels(data_dir))
            ids = [e.id for e in filed]
        if ids:
            log.info("stale DingTalk drafts filed as incomplete", extra={"count": len(ids), "event_ids": ids})
        return ids

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as e:  # noqa: BLE001 — retried next round
                log.error("draft sweep error", extra={"error": repr(e)})
            stop.wait(self.poll_seconds)


@dataclass
class Incomplete:
    """What the quality department reads about a 待补充 report: the facts it lacks and its masked text."""
    missing: list[str]          # field codes: category, location, occurred_at …
    missing_labels: list[str]   # 类型、地点、时间 …
    filed: bool                 # filed into the queue by the sweep (else still a draft)
    excerpt: str                # the report's text, names/IDs/phones masked, without the 【待补充：…】 prefix


def incomplete_reports(*, session: Session, events: list[AdverseEvent], data_dir: str,
                       excerpt_chars: int = 80) -> dict[int, Incomplete]:
    """For the drafts, and the drafts filed incomplete not yet reviewed, among `events`: what each still lacks."""
    ids = [e.id for e in events]
    if not ids:
        return {}
    t = templates(data_dir)
    asked: dict[int, list[str]] = {}
    names: dict[int, set[str]] = {}
    for c in session.exec(select(DingTalkConversation).where(DingTalkConversation.event_id.in_(ids))).all():
        asked[c.event_id] = list(dict.fromkeys(asked.get(c.event_id, []) + list(c.missing)))
        names.setdefault(c.event_id, set()).add((c.facts or {}).get("patient") or "")
    history: dict[int, list[EventAction]] = {}
    for a in session.exec(select(EventAction).where(
            EventAction.event_id.in_(ids), EventAction.action.in_(("filed_incomplete", "report_corrected")))
            .order_by(EventAction.created_at, EventAction.id)).all():
        history.setdefault(a.event_id, []).append(a)
    out: dict[int, Incomplete] = {}
    for ev in events:
        if ev.status == EventStatus.draft:
            missing, filed = asked.get(ev.id) or _missing_of(ev), False
        elif ev.status in OPEN_STATUSES:
            missing, filed = _still_missing(history.get(ev.id, [])), True
            if missing is None:
                continue
        else:
            continue
        text = _without_prefix(ev.summary or "", t["filed_incomplete"])
        text = mask_text(text, tuple(n for n in names.get(ev.id, set()) | {extract_patient(text) or ""} if n))
        out[ev.id] = Incomplete(missing=missing, missing_labels=[t["field_names"].get(m, m) for m in missing],
                                filed=filed, excerpt=text[:excerpt_chars] + ("…" if len(text) > excerpt_chars else ""))
    return out


def _still_missing(history: list[EventAction]) -> list[str] | None:
    """What the sweep recorded as missing, less the fields corrected since; None if it was never filed so."""
    last = max((i for i, a in enumerate(history) if a.action == "filed_incomplete"), default=None)
    if last is None:
        return None
    corrected = {_FIELD_OF.get((a.detail or {}).get("field"), "") for a in history[last + 1:]}
    return [m for m in (history[last].detail or {}).get("missing", []) if m not in corrected]


def _without_prefix(summary: str, template: str) -> str:
    """The report's text without the 【待补充：…】 the sweep put in front of it."""
    head = template.split("{", 1)[0]
    if head and summary.startswith(head) and "】" in summary:
        return summary.split("】", 1)[1]
    return summary


# a correction of one of these fields answers that missing fact
_FIELD_OF = {"category": "category", "occurred_at": "occurred_at", "bed": "location", "department": "location"}
