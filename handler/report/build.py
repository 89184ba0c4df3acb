"""A report from end to end: read (collect), build the sections, seal the data (SHA-256), render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from handler.read.period import iso
from handler.report.collect import collect
from handler.report.integrity import envelope
from handler.report.model import ReportOptions
from handler.report.sections import build_data

FORMATS = ("html", "json", "md")


def public_endpoint(url: str) -> str:
    """The endpoint as the report states it: never with credentials embedded in the URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def make_report(
    client: Any, *, pattern: str, endpoint: str, options: ReportOptions, now: datetime | None = None
) -> dict[str, Any]:
    from handler import __version__

    raw = collect(client, pattern, options)
    data = build_data(
        raw,
        options,
        endpoint=public_endpoint(endpoint),
        pattern=pattern,
        generated_at=iso((now or datetime.now(UTC)).replace(microsecond=0)),
        version=__version__,
    )
    return envelope(data)


def render(report: dict[str, Any], fmt: str, top: int = 25) -> str:
    if fmt == "json":
        import json

        return json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if fmt == "md":
        from handler.report.render_md import render_md

        return render_md(report, top)
    if fmt == "html":
        from handler.report.render_html import render_html

        return render_html(report, top)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
