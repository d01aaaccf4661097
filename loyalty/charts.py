"""Charts drawn as inline SVG on the server: no script, no library, nothing loaded from elsewhere.

Pure functions: series in, markup out. Every chart carries a title and a table-like <desc> of its
figures, so a screen reader (and a test) reads the same numbers the picture shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal

# Distinct in colour and lightness (readable for the common colour blindnesses), in legend order.
PALETTE = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#4b5563")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]


def nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 (and 2.5 from 25 on) times a power of ten at or above value: a step
    between an axis' ticks that reads well (2.5 would print as 2 or 3 on a whole-number axis)."""
    if value <= 0:
        return 1
    power = 10.0 ** math.floor(math.log10(value))
    steps = (1, 2, 2.5, 5, 10) if power >= 10 else (1, 2, 5, 10)
    return next(step * power for step in steps if step * power >= value)


def nice_ceiling(value: float, ticks: int = 4) -> float:
    """The axis' top: `ticks` nice steps, at or above value."""
    return ticks * nice_step(value / ticks)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Callable[[Number], str] = str,
    width: int = 560,
    height: int = 200,
) -> SafeString:
    """Lines over labelled x positions (days, months), y from 0 (or the lowest value) to a round top."""
    left, right, top, bottom = 64, 8, 8, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(v) for s in series for v in s.values] or [0.0]
    low = min(0.0, min(values))
    high = nice_ceiling(max(values)) if max(values) > 0 else 1.0
    span = (high - low) or 1.0
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / span)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        "<desc>" + escape("; ".join(f"{s.name}: " + ", ".join(fmt(v) for v in s.values) for s in series)) + "</desc>",
    ]
    for tick in range(5):
        value = low + span * tick / 4
        ty = y(value)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    step = max(1, round(count / 8))
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>')
    for colour, s in zip(PALETTE, series, strict=False):
        points = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if len(s.values) == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(float(s.values[0])):.1f}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text in it is escaped above


def legend(series: Sequence[Series]) -> list[dict[str, str]]:
    """Name and colour of each series, for the template's legend beside a chart."""
    return [{"name": s.name, "colour": colour} for colour, s in zip(PALETTE, series, strict=False)]


def share(part: Number, whole: Number) -> float:
    """A bar's length in percent of the largest (0 when there is nothing)."""
    return round(100 * float(part) / float(whole), 1) if whole else 0.0
