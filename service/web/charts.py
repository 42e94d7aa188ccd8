"""Server-side SVG charts (no JavaScript): horizontal bars and stacked columns. Labels are escaped."""
from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ["#2f5d8a", "#e07a1f", "#3a9a5b", "#c0392b", "#8e5ea2", "#7f8c8d", "#d4ac0d", "#16a085"]


def hbar(items: list[tuple[str, float]], *, width: int = 520, bar: int = 20, unit: str = "",
         color: str = PALETTE[0], label_width: int = 150, fmt: str = "{:g}") -> Markup:
    """One horizontal bar per (label, value)."""
    if not items:
        return Markup('<p class="muted">暂无数据</p>')
    top = max(v for _, v in items) or 1
    plot = width - label_width - 60
    h = len(items) * (bar + 8) + 8
    out = [f'<svg class="chart" viewBox="0 0 {width} {h}" width="{width}" height="{h}" role="img">']
    for i, (label, value) in enumerate(items):
        y = 8 + i * (bar + 8)
        w = max(1.0, plot * value / top) if value else 0
        text = escape(fmt.format(value) + unit)
        out.append(f'<text x="{label_width - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" class="lbl">{escape(_short(label, 11))}</text>'
                   f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}" rx="2">'
                   f'<title>{escape(label)}: {text}</title></rect>'
                   f'<text x="{label_width + w + 4:.1f}" y="{y + bar * 0.7:.1f}" class="val">{text}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def stacked_columns(columns: list[str], series: list[tuple[str, list[int]]], *, width: int = 640,
                    height: int = 260) -> Markup:
    """Columns (e.g. months) stacked by series (e.g. categories), with a legend."""
    if not columns or not series:
        return Markup('<p class="muted">暂无数据</p>')
    totals = [sum(s[1][i] for s in series) for i in range(len(columns))]
    top = max(totals) or 1
    left, bottom, plot_h = 36, 40, height - 60
    slot = (width - left - 10) / len(columns)
    col_w = min(48, slot * 0.7)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" class="axis"/>']
    for tick in _ticks(top):
        y = height - bottom - plot_h * tick / top
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>'
                   f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="grid"/>')
    for i, col in enumerate(columns):
        x = left + i * slot + (slot - col_w) / 2
        y = height - bottom
        for j, (name, values) in enumerate(series):
            v = values[i]
            if not v:
                continue
            hh = plot_h * v / top
            y -= hh
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{hh:.1f}" '
                       f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(col)} {escape(name)}: {v}</title></rect>')
        out.append(f'<text x="{x + col_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="val">{totals[i]}</text>'
                   f'<text x="{x + col_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="tick">{escape(col)}</text>')
    out.append("</svg>")
    legend = "".join(f'<span class="legend-item"><i style="background:{PALETTE[j % len(PALETTE)]}"></i>{escape(name)}</span>'
                     for j, (name, _) in enumerate(series))
    return Markup("".join(out) + f'<div class="legend">{legend}</div>')


def _ticks(top: int) -> list[int]:
    step = max(1, round(top / 4))
    return list(range(step, top + 1, step))


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
