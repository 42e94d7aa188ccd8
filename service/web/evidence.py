"""Note text with the evidence spans highlighted. Built from escaped pieces: a note may contain anything,
including `<script>`, and must render as text."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from models import Finding


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    finding_id: int
    title: str


def locate(text: str, f: Finding) -> tuple[int, int] | None:
    """The finding's offsets in this text, or where its evidence occurs when the offsets do not match."""
    if 0 <= f.start < f.end <= len(text) and text[f.start:f.end] == f.evidence:
        return f.start, f.end
    if f.evidence:
        at = text.find(f.evidence)
        if at >= 0:
            return at, at + len(f.evidence)
    return None


def spans_for(text: str, findings: list[Finding], label) -> list[Span]:
    out = []
    for f in findings:
        where = locate(text, f)
        if where:
            out.append(Span(where[0], where[1], f.id, f"{label(f.category)} · {f.rule}"))
    return out


def highlight(text: str, spans: list[Span]) -> Markup:
    """Escape the text and wrap each evidence span in <mark>; overlapping spans share the overlap."""
    points = sorted({0, len(text), *(p for s in spans for p in (s.start, s.end))})
    parts: list[str] = []
    for a, b in zip(points, points[1:]):
        piece = escape(text[a:b])
        covering = [s for s in spans if s.start <= a and b <= s.end]
        if covering:
            ids = " ".join(f"f{s.finding_id}" for s in covering)
            title = "；".join(dict.fromkeys(s.title for s in covering))
            parts.append(Markup('<mark class="evidence" data-findings="%s" title="%s">%s</mark>')
                         % (ids, title, piece))
        else:
            parts.append(str(piece))
    return Markup("".join(parts))
