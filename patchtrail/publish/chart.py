"""Small inline SVG line charts for the report: no JavaScript, nothing fetched.

Each chart has a title, labelled axes, a legend, one line per series and an optional dashed
target line. It scales to its container (viewBox) for the screen and for A4 print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from html import escape

#: Series colours, distinguishable in colour and in greyscale print (with the dash patterns).
PALETTE = (("#1f6feb", ""), ("#b42318", ""), ("#d97706", "6 3"), ("#15803d", "2 2"))


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and a value (or None: a gap) per day of the chart."""

    name: str
    values: list[float | None]


def line_chart(days: list[date], series: list[Series], *, title: str, y_label: str,
               x_label: str = "day (UTC)", y_max: float | None = None,
               target: tuple[str, float] | None = None, unit: str = "",
               width: int = 960, height: int = 300) -> str:
    """SVG of `series` over `days`; y runs from 0 to `y_max` (default: a round number above the
    data). `target` draws a dashed horizontal line with its label in the legend."""
    if not days:
        return (f'<svg class="chart" role="img" aria-label="{escape(title)}: no data" '
                f'viewBox="0 0 {width} 40" width="{width}" height="40"><text x="8" y="24">'
                f'{escape(title)}: no data</text></svg>')
    left, right, top, bottom = 64, 20, 44, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    top_value = y_max if y_max is not None else _nice_ceiling(max([*values, target[1] if target else 0, 1]))
    first, span = days[0], max((days[-1] - days[0]).days, 1)

    def x(day: date) -> float:
        return left + plot_w * (day - first).days / span

    def y(value: float) -> float:
        return top + plot_h * (1 - value / top_value)

    parts = [f'<title>{escape(title)}</title>',
             f'<text class="chart-title" x="{left}" y="18">{escape(title)}</text>']
    for tick in _ticks(top_value):
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{tick:g}{escape(unit)}</text>')
    step = max(len(days) // 6, 1)
    for day in days[::step]:
        parts.append(f'<line class="axis" x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top + plot_h}" '
                     f'y2="{top + plot_h + 4}"/><text class="tick" x="{x(day):.1f}" '
                     f'y="{top + plot_h + 17}" text-anchor="middle">{day:%Y-%m-%d}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}"/><line class="axis" x1="{left}" x2="{left}" y1="{top}" '
                 f'y2="{top + plot_h}"/>')
    parts.append(f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{height - 8}" '
                 f'text-anchor="middle">{escape(x_label)}</text>')
    parts.append(f'<text class="axis-label" transform="translate(16 {top + plot_h / 2:.1f}) '
                 f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    legend: list[tuple[str, str, str]] = []
    for i, one in enumerate(series):
        colour, dash = PALETTE[i % len(PALETTE)]
        for run in _runs(days, one.values):
            points = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in run)
            parts.append(f'<polyline class="series" stroke="{colour}"{_dash(dash)} '
                         f'points="{points}"/>')
        legend.append((one.name, colour, dash))
    if target is not None:
        label, value = target
        parts.append(f'<line class="target" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}"/>')
        legend.append((label, "#5b6775", "5 4"))
    parts.append(_legend(legend, x0=left, y0=34))
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _legend(entries: list[tuple[str, str, str]], *, x0: float, y0: float) -> str:
    out, x = [], x0
    for name, colour, dash in entries:
        out.append(f'<line class="legend-key" x1="{x:.1f}" x2="{x + 22:.1f}" y1="{y0 - 4}" '
                   f'y2="{y0 - 4}" stroke="{colour}"{_dash(dash)}/>'
                   f'<text class="legend" x="{x + 28:.1f}" y="{y0}">{escape(name)}</text>')
        x += 40 + 7 * len(name)
    return f'<g class="legend-box">{"".join(out)}</g>'


def _dash(pattern: str) -> str:
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def _runs(days: list[date], values: list[float | None]) -> list[list[tuple[date, float]]]:
    """Consecutive non-null points; a None breaks the line."""
    runs, current = [], []
    for day, value in zip(days, values, strict=True):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((day, float(value)))
    if current:
        runs.append(current)
    return runs


def _nice_ceiling(value: float) -> float:
    """The next 1, 2, 2.5 or 5 x 10^n at or above `value`."""
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _ticks(top: float) -> list[float]:
    return [top * i / 4 for i in range(5)]
