"""What the bot says back: rendered from data/dingtalk/messages.yaml, masked (no names, IDs or phones)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml

from models import AdverseEvent
from service.dingtalk.parsing import ParsedReport

ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<!\d)\d{15}(?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
NUMBER_RE = re.compile(r"(?<![\d.])\d{8,}(?![\d.])")     # 住院号 and other long numbers


@dataclass
class BotReply:
    """One markdown reply to a DingTalk conversation."""
    text: str
    title: str = "不良事件上报"
    event_id: int | None = None
    buttons: list[tuple[str, str]] = field(default_factory=list)     # (label, text sent when tapped)

    def message(self) -> dict[str, Any]:
        """Markdown; an ActionCard whose buttons send the choice back when there are buttons."""
        if self.buttons:
            return {"msgtype": "actionCard", "actionCard": {
                "title": self.title, "text": self.text, "btnOrientation": "0",
                "btns": [{"title": label, "actionURL": "dtmd://dingtalkclient/sendMessage?content=" + quote(reply)}
                         for label, reply in self.buttons]}}
        return {"msgtype": "markdown", "markdown": {"title": self.title, "text": self.text}}


@lru_cache(maxsize=4)
def templates(data_dir: str) -> dict[str, Any]:
    with open(Path(data_dir) / "dingtalk" / "messages.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def mask_name(name: str | None) -> str | None:
    """王某某 → 王**, 张三 → 张*: keep the surname only."""
    if not name:
        return None
    return name[0] + "*" * (len(name) - 1)


def mask_text(text: str, names: tuple[str, ...] = ()) -> str:
    """Remove names, ID card numbers, phone numbers and long record numbers from a free-text snippet."""
    for n in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(n, mask_name(n))
    text = ID_RE.sub("[证件号]", text)
    text = PHONE_RE.sub("[电话]", text)
    return NUMBER_RE.sub("[编号]", text)


def _local(dt: datetime | None, tz: ZoneInfo, t: dict | None = None, now: datetime | None = None) -> str:
    """06:40 today reads "今天 06:40", yesterday "昨天 22:30"; older days show the date."""
    if not dt:
        return "未知"
    local = dt.astimezone(tz)
    if t is not None and now is not None:
        days = (local.date() - now.astimezone(tz).date()).days
        word = (t.get("day_words") or {}).get(str(days))
        if word:
            return f"{word} {local:%H:%M}"
    return local.strftime("%m-%d %H:%M")


def report_lines(*, t: dict, rep: ParsedReport, labels: dict[str, str], tz: ZoneInfo,
                 location_fallback: str | None, reporter: str | None, now: datetime | None = None) -> list[str]:
    lines = []
    if rep.category:
        lines.append(t["line_category"].format(label=labels.get(rep.category, rep.category)))
    if rep.severity and rep.category:
        lines.append(t["line_severity"].format(severity=rep.severity,
                                               severity_label=t["severity_labels"].get(rep.severity, "")))
    where = " ".join(p for p in (rep.ward or location_fallback, f"{rep.bed}床" if rep.bed else None) if p)
    if where:
        lines.append(t["line_location"].format(location=where))
    if rep.patient:
        lines.append(t["line_patient"].format(patient=mask_name(rep.patient)))
    if rep.occurred_at:
        lines.append(t["line_time"].format(time=_local(rep.occurred_at, tz, t, now)
                                           + ("（约）" if rep.time_approx else "")))
    if rep.actions:
        lines.append(t["line_actions"].format(actions=mask_text(rep.actions, (rep.patient or "",))))
    if reporter:
        lines.append(t["line_reporter"].format(reporter=reporter))
    return lines


def question_lines(*, t: dict, field: str, choices: list[str], labels: dict[str, str]) -> list[str]:
    """The one question asked now; for the category, numbered choices of the likeliest categories."""
    lines = [t["ask"][field]]
    if field == "category":
        lines += [t["choice_line"].format(n=i, label=labels.get(c, c)) for i, c in enumerate(choices, 1)]
        lines.append(t["choice_other"])
    return lines


def report_reply(*, data_dir: str, event: AdverseEvent, rep: ParsedReport, labels: dict[str, str], tz: ZoneInfo,
                 headline: str, missing: list[str], url: str, draft_hours: float,
                 location_fallback: str | None = None, reporter: str | None = None,
                 choices: list[str] | None = None, now: datetime | None = None,
                 action_card: bool = False) -> BotReply:
    """The summary of what was understood, then either the one question for what is missing or how to correct
    a field, and the link."""
    t = templates(data_dir)
    status = t["statuses"].get(event.status.value, event.status.value)
    parts = [t[headline].format(id=event.id, status=status)]
    parts += report_lines(t=t, rep=rep, labels=labels, tz=tz, location_fallback=location_fallback,
                          reporter=reporter, now=now)
    buttons: list[tuple[str, str]] = []
    if missing:
        parts.append("")
        parts += question_lines(t=t, field=missing[0], choices=choices or [], labels=labels)
        parts.append(t["ask_footer"].format(hours=int(draft_hours)))
        if missing[0] == "category":
            buttons = [(labels.get(c, c), str(i)) for i, c in enumerate(choices or [], 1)]
    else:
        parts.append("")
        parts.append(t["correct_hint"])
    parts.append("")
    parts.append(t["link"].format(url=url))
    return BotReply(text="\n".join(parts), title=t["title"], event_id=event.id,
                    buttons=buttons if action_card else [])


def simple_reply(*, data_dir: str, key: str, **fmt) -> BotReply:
    t = templates(data_dir)
    return BotReply(text=t[key].format(**fmt).strip(), title=t["title"])
