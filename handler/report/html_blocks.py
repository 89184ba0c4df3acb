"""Building blocks of the HTML report: escaped cells, tables, figures. Values in, HTML text out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

Cell = tuple[str, str]  # (html, css class)


def e(value: Any) -> str:
    return escape("" if value is None else str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, numeric: Sequence[int] = (), cls: str = "") -> str:
    head = "".join(
        f'<th class="num">{e(h)}</th>' if i in numeric else f"<th>{e(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(f'<td class="{c}">{h}</td>' if c else f"<td>{h}</td>" for h, c in row) + "</tr>"
        for row in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">none in the period</td></tr>'
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def num(n: int) -> Cell:
    return f"{n:,}", "num"


def txt(value: Any, cls: str = "") -> Cell:
    return e(value), cls


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{e(caption)}</figcaption></figure>"


def limited(
    items: list[dict[str, Any]], top: int, row: Callable[[dict[str, Any]], Sequence[Cell]], key: str
) -> list[Sequence[Cell]]:
    """The first `top` rows, then one row summing the rest, so totals still add up on the page."""
    rows = [row(item) for item in items[:top]]
    rest = items[top:]
    if rest:
        rows.append([(f"<i>{len(rest):,} more (all in the JSON data)</i>", ""), num(sum(i[key] for i in rest))])
    return rows
