"""The report's data section in canonical form and its SHA-256, so a reviewer can tell whether it was edited.

The hash covers the canonical JSON of the data (sorted keys, no spaces, UTF-8): recomputing it from the JSON file or
from the copy embedded in the HTML report gives the same value. It shows that the data was not changed since it was
made; it is not a signature (anyone can recompute it), so keep the hash somewhere the report's editor cannot reach
(the ticket, the audit evidence folder) if that matters.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

FORMAT = "rdsaudit-report/1"
_EMBEDDED = re.compile(r'<script type="application/json" id="rdsaudit-data">(.*?)</script>', re.S)


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"format": FORMAT, "sha256": digest(data), "data": data}


def embed(report: dict[str, Any]) -> str:
    """The envelope as an HTML data block. `<` only occurs inside JSON strings, where `\\u003c` is the same
    character, so no statement text can close the element or open a comment early."""
    text = json.dumps(report, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")
    return f'<script type="application/json" id="rdsaudit-data">{text}</script>'


def read_envelope(text: str) -> dict[str, Any]:
    """The envelope from a JSON report or an HTML report; ValueError when the file holds none."""
    match = _EMBEDDED.search(text)
    try:
        report = json.loads(match.group(1) if match else text)
    except json.JSONDecodeError:
        raise ValueError(
            "no report data found (JSON and HTML reports carry it; Markdown only shows the hash)"
        ) from None
    if not isinstance(report, dict) or report.get("format") != FORMAT or "data" not in report:
        raise ValueError(f"not an {FORMAT} report")
    return report


def verify(text: str) -> tuple[bool, str, str]:
    """(matches, the hash the report states, the hash of its data now)."""
    report = read_envelope(text)
    return report.get("sha256") == digest(report["data"]), str(report.get("sha256")), digest(report["data"])
