"""A small inline SVG line chart (no JavaScript, no network: the report is one self-contained file)."""

from __future__ import annotations

from datetime import date
from html import escape


def line_chart(points: list[tuple[date, float | None]], *, title: str, width: int = 900,
               height: int = 260, y_max: float = 100.0, y_label: str = "%") -> str:
    """SVG of `points` (x = day, y = 0..y_max); gaps (None) break the line."""
    left, right, top, bottom = 48, 16, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    days = [d for d, _ in points]
    if not days:
        return f'<svg role="img" aria-label="{escape(title)}: no data" width="{width}" height="40"></svg>'
    first, span = days[0], max((days[-1] - days[0]).days, 1)

    def x(day: date) -> float:
        return left + plot_w * (day - first).days / span

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    paths, current = [], []
    for day, value in points:
        if value is None:
            if current:
                paths.append(current)
            current = []
            continue
        current.append(f"{x(day):.1f},{y(value):.1f}")
    if current:
        paths.append(current)
    grid = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}{escape(y_label)}</text>'
        for v in (0, y_max / 4, y_max / 2, 3 * y_max / 4, y_max))
    ticks = "".join(
        f'<text x="{x(d):.1f}" y="{height - 12}" text-anchor="middle">{d:%Y-%m-%d}</text>'
        for d in days[:: max(len(days) // 6, 1)])
    lines = "".join(f'<polyline class="series" points="{" ".join(p)}"/>' for p in paths)
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{escape(title)}</title>{grid}{ticks}{lines}</svg>')
