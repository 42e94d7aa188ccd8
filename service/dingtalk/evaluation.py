"""Evaluate the bot on report messages written by people outside the team (`aew eval-reports SET.jsonl`).

Each line: {"id", "text", "sent_at", "gold": {"category", "bed", "place", "department", "hour", "missing",
"followup"}}. Every message goes through the real bot path (`handle_message`, a fresh SQLite database, the real
scanner, `now` = sent_at); when the bot asks a question, the gold follow-up is sent next in the same
conversation. Fields are scored on what the bot understood from the first message (the gold describes it)."""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

FIELDS = ("category", "bed", "department", "hour")
ASK_FIELDS = ("category", "occurred_at", "location")


@dataclass
class Outcome:
    """What the bot did with one message (and its follow-up)."""
    id: str
    text: str
    gold: dict[str, Any]
    got: dict[str, Any] = field(default_factory=dict)
    question: str | None = None       # the first field asked after the first message
    dropped: bool = False
    completed: bool | None = None     # after the follow-up: no longer a draft
    reply: str = ""


@dataclass
class Scores:
    outcomes: list[Outcome]

    def field_ok(self, o: Outcome, name: str, places) -> bool:
        gold, got = o.gold.get(name), o.got.get(name)
        if name == "department":
            if gold is None:
                return got is None
            return got is not None and (got in (gold, o.gold.get("place")) or places.canonical(got) == gold)
        if name == "bed":
            return _bed(gold) == _bed(got)
        if name == "category":
            return (gold or None) == (got or None)
        return gold == got

    def lines(self, places) -> list[str]:
        n = len(self.outcomes)
        out = [f"messages: {n}"]
        for name in FIELDS:
            ok = sum(self.field_ok(o, name, places) for o in self.outcomes)
            out.append(f"{name:<22} {ok / n:.3f}  ({ok}/{n})")
        incomplete = [o for o in self.outcomes if o.gold.get("missing")]
        right = sum(o.question in o.gold["missing"] for o in incomplete)
        out.append(f"{'right question asked':<22} {right / max(1, len(incomplete)):.3f}  ({right}/{len(incomplete)})")
        needless = sum(1 for o in self.outcomes if not o.gold.get("missing") and o.question)
        out.append(f"{'needless questions':<22} {needless}")
        completed = [o for o in incomplete if o.completed is not None]
        done = sum(bool(o.completed) for o in completed)
        out.append(f"{'completed by follow-up':<22} {done}/{len(completed)}")
        out.append(f"{'reports dropped':<22} {sum(o.dropped for o in self.outcomes)}")
        invented = sum(1 for o in self.outcomes if o.gold.get("department") is None and o.got.get("department"))
        out.append(f"{'places invented':<22} {invented}")
        return out

    def misses(self, places) -> list[str]:
        out = []
        for o in self.outcomes:
            bad = [f"{name}: gold {o.gold.get(name)!r} got {o.got.get(name)!r}" for name in FIELDS
                   if not self.field_ok(o, name, places)]
            if o.gold.get("missing") and o.question not in o.gold["missing"]:
                bad.append(f"question: gold {o.gold['missing']} asked {o.question!r}")
            if not o.gold.get("missing") and o.question:
                bad.append(f"needless question: {o.question!r}")
            if o.dropped:
                bad.append("DROPPED")
            if o.completed is False:
                bad.append("not completed by the follow-up")
            if bad:
                out.append(f"{o.id} {o.text}")
                out += [f"    {b}" for b in bad]
        return out


def _bed(b: Any) -> str | None:
    if b in (None, ""):
        return None
    return re.sub(r"[床号\s+]", "", str(b)).replace("＋", "加")


def read_set(paths: Iterable[str]) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def _question(reply: str, asks: dict[str, str]) -> str | None:
    """The field the reply asks for first (its ask line that comes first in the text)."""
    found = []
    for name, template in asks.items():
        probe = re.split(r"[（(：:，,]", template, maxsplit=1)[0].strip()
        pos = reply.find(probe) if probe else -1
        if pos >= 0:
            found.append((pos, name))
    return min(found)[1] if found else None


class Evaluator:
    """Sends messages through the bot, one fresh database per message."""

    def __init__(self, *, data_dir: str | None = None, scanner=None):
        from service.dingtalk.settings import DingTalkSettings
        from service.settings import Settings
        self.tmp = tempfile.TemporaryDirectory(prefix="aew-eval-reports-")
        kw = {"data_dir": Path(data_dir)} if data_dir else {}
        self.settings = Settings(database_url=f"sqlite:///{self.tmp.name}/unused.db", secret_key="eval-secret",
                                 log_json=False, public_base_url="http://aew.local", **kw)
        self.dt = DingTalkSettings(dingtalk_app_secret="eval-secret")
        if scanner is None:
            from nlp.scanner import Scanner
            scanner = Scanner()
        self.scanner = scanner

    def close(self) -> None:
        self.tmp.cleanup()

    def run(self, rows: list[dict[str, Any]]) -> Scores:
        return Scores([self.one(i, row) for i, row in enumerate(rows)])

    def one(self, i: int, row: dict[str, Any]) -> Outcome:
        from sqlmodel import Session, SQLModel, select

        from models import AdverseEvent, EventStatus
        from models.dingtalk import DingTalkMessage
        from service.db import make_engine
        from service.dingtalk.bot import BotContext, IncomingMessage, handle_message
        from service.dingtalk.replies import templates

        engine = make_engine(f"sqlite:///{self.tmp.name}/eval-{i}.db")
        SQLModel.metadata.create_all(engine)
        ctx = BotContext(settings=self.settings, dt=self.dt, scanner_factory=lambda: self.scanner)
        asks = templates(ctx.data_dir)["ask"]
        sent = datetime.fromisoformat(row["sent_at"])
        out = Outcome(id=row["id"], text=row["text"], gold=row["gold"])

        def send(text: str, n: int, now: datetime):
            msg = IncomingMessage(msg_id=f"{row['id']}-{n}", text=text, channel="robot",
                                  conversation_id=f"cid-{row['id']}", conversation_type="1",
                                  sender_staff_id="eval-nurse", sender_nick="评测护士")
            with Session(engine, expire_on_commit=False) as s:
                reply = handle_message(session=s, ctx=ctx, msg=msg, now=now)
                s.commit()
                rec = s.exec(select(DingTalkMessage).where(DingTalkMessage.msg_id == msg.msg_id)).one()
                ev = s.get(AdverseEvent, rec.event_id) if rec.event_id else None
                return reply, rec, ev

        try:
            reply, rec, ev = send(row["text"], 0, sent)
            out.reply = reply.text if reply else ""
            out.question = _question(out.reply, asks)
            out.dropped = ev is None and rec.kind not in ("command",)
            if ev is not None:
                local = ev.occurred_at.astimezone(ctx.tz) if ev.occurred_at else None
                out.got = {"category": None if ev.category == "unclassified" else ev.category,
                           "bed": ev.bed, "department": ev.department,
                           "hour": local.hour if local else None}
            followup = row["gold"].get("followup")
            if out.question and followup and ev is not None:
                _, _, ev2 = send(followup, 1, sent + timedelta(minutes=2))
                with Session(engine) as s:
                    first = s.get(AdverseEvent, ev.id)
                    out.completed = first is not None and first.status != EventStatus.draft
        finally:
            engine.dispose()
        return out


def report(paths: list[str], *, scanner=None, data_dir: str | None = None) -> str:
    """Run the evaluation on the given sets; the printed report (figures, then misses)."""
    from service.dingtalk.places import place_table
    ev = Evaluator(data_dir=data_dir, scanner=scanner)
    try:
        scores = ev.run(read_set(paths))
        places = place_table(ev.settings.data_dir.as_posix())
        lines = [f"sets: {', '.join(paths)}", *scores.lines(places), "", "misses:", *scores.misses(places)]
    finally:
        ev.close()
    return "\n".join(lines)
