"""Charts as inline SVG, drawn here so the HTML report needs no script, no library and no network to show them.

Every chart is an `<svg class="chart" data-chart=NAME data-marks=N>` whose marks (bars, columns) carry the class
`mark` and a `<title>` with the exact value, so a reader can hover for numbers and a test can check each is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 720


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above value (at least 1): the top of the value axis."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _fmt(n: int) -> str:
    return f"{n:,}"


def _svg(name: str, label: str, size: tuple[int, int], marks: int, body: list[str]) -> str:
    # Drawn at its natural size and only ever shrunk (max-width: 100%), so text stays the size it was drawn at.
    width, height = size
    return (
        f'<svg class="chart" data-chart="{escape(name)}" data-marks="{marks}" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def bars(name: str, label: str, items: Sequence[tuple[str, int]], width: int = WIDTH // 2) -> str:
    """Horizontal bars, largest first as given: top-N lists."""
    row, left, right = 20, min(200, width // 3), 50
    height = row * len(items) + 24
    top = nice_ceiling(max((v for _, v in items), default=1))
    span = width - left - right
    body = [f'<line class="axis" x1="{left}" y1="4" x2="{left}" y2="{height - 18}"/>']
    for i, (text, value) in enumerate(items):
        y = 6 + i * row
        w = max(1.0, span * value / top) if value else 0.0
        room = left // 6
        shown = text if len(text) <= room else text[: room - 1] + "…"
        body.append(
            f'<text class="label" x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="mark" x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}">'
            f"<title>{escape(text)}: {_fmt(value)}</title></rect>"
            f'<text class="value" x="{left + w + 5:.1f}" y="{y + 14}">{_fmt(value)}</text>'
        )
    body.append(f'<text class="tick" x="{left}" y="{height - 4}">0</text>')
    body.append(f'<text class="tick" x="{left + span}" y="{height - 4}" text-anchor="end">{_fmt(top)}</text>')
    return _svg(name, label, (width, height), len(items), body)


def columns(
    name: str,
    label: str,
    points: Sequence[tuple[str, Sequence[int]]],
    *,
    series: Sequence[str] = ("count",),
    every: int = 0,
    width: int = WIDTH,
) -> str:
    """Vertical columns, stacked when a point has several values (one class per series): time series, histograms.

    `every` labels one column in so many on the x axis (0: choose so labels do not overlap)."""
    height, left, bottom, top_pad = 220, 56, 36, 10
    plot_h = height - bottom - top_pad
    n = max(1, len(points))
    span = width - left - 10
    step = span / n
    top = nice_ceiling(max((sum(v) for _, v in points), default=1))
    every = every or max(1, math.ceil(n / 12))
    body = []
    for frac in (0, 0.5, 1):
        y = top_pad + plot_h * (1 - frac)
        body.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(int(top * frac))}</text>'
        )
    marks = 0
    for i, (text, values) in enumerate(points):
        x = left + i * step
        base = float(top_pad + plot_h)
        for serie, value in zip(series, values, strict=True):
            if not value:
                continue
            h = max(1.0, plot_h * value / top)
            base -= h
            marks += 1
            body.append(
                f'<rect class="mark {escape(serie)}" x="{x + step * 0.1:.1f}" y="{base:.1f}" '
                f'width="{max(1.0, step * 0.8):.1f}" height="{h:.1f}"><title>{escape(text)} — {escape(serie)}: '
                f"{_fmt(value)}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text class="tick" x="{x + step / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{escape(text)}</text>"
            )
    body.append(f'<line class="axis" x1="{left}" y1="{top_pad + plot_h}" x2="{width - 10}" y2="{top_pad + plot_h}"/>')
    return _svg(name, label, (width, height), marks, body)
