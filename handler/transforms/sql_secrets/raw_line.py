"""Credential spans in a raw audit line, whose object is the SQL escaped by the audit plugin. Pure.

Inside the object `'` is written `\\'` and `\\` is `\\\\` (and newline, tab … as `\\n`, `\\t` …), so the SQL is
unescaped with a map back to the line's positions, the spans are found in the SQL and mapped back. A line that
failed to parse may have lost its shape (cut by the plugin, cut after a backslash so that its closing quote looks
escaped, not an audit line at all), so several readings are tried and everything any of them finds is masked:
- the object from its opening quote to the first unescaped quote, or to the end of the line when there is none;
- the object from its opening quote to the last quote of the line (the parser's reading of a cut line);
- the whole line, unescaped, when the ninth field is not a quoted object (a continuation line of an export, a
  line that is not an audit line at all); read whole, a well-formed line would turn its object into one string.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.positions import secret_spans

# The plugin's escapes, as handler.transforms.unescape reads them: any other pair is kept as written.
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", "\\": "\\"}
_UP_TO_QUOTE = re.compile(r"[^'\\]*(?:\\[\s\S][^'\\]*)*")


def raw_secret_spans(line: str) -> list[tuple[int, int, bool]]:
    """(start, end, escaped) of each credential: inside the object, or where the literal was escaped, so is the mask."""
    objects, shaped = _object_regions(line)
    found: set[tuple[int, int]] = set()
    for start, end in objects if shaped else [*objects, (0, len(line))]:
        sql, starts, ends = _unescape_mapped(line, start, end)
        for backslash in (True, False) if "\\" in sql else (True,):
            for s, e in secret_spans(sql, backslash_escapes=backslash):
                found.add((starts[s], ends[e - 1]))
    # Only a ninth-field object is sure to be the plugin's escaped text; elsewhere a quote is escaped where it was.
    inside = objects if shaped else []
    return [(s, e, line[s] == "\\" or any(a <= s < b for a, b in inside)) for s, e in found]


def _object_regions(line: str) -> tuple[list[tuple[int, int]], bool]:
    """Candidate (start, end) of the object's content, quotes excluded; and whether it is the ninth field."""
    parts = line.split(",", 8)
    shaped = len(parts) == 9 and parts[8].startswith("'")
    if shaped:
        body = len(line) - len(parts[8]) + 1
    else:
        first = _unescaped_quote(line, 0)
        if first < 0:
            return [], False
        body = first + 1
    closing = _unescaped_quote(line, body)
    regions = [(body, closing if closing >= 0 else len(line))]
    last = line.rfind("'")
    if last >= body and last != closing:
        regions.append((body, last))
    return regions, shaped


def _unescaped_quote(line: str, pos: int) -> int:
    m = _UP_TO_QUOTE.match(line, pos)
    end = m.end() if m else pos
    return end if end < len(line) and line[end] == "'" else -1


def _unescape_mapped(line: str, start: int, end: int) -> tuple[str, list[int], list[int]]:
    """line[start:end] unescaped, with the raw start and end of each character it is made of."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = start
    while i < end:
        c = line[i]
        if c == "\\" and i + 1 < end:
            unescaped = _UNESCAPES.get(line[i + 1])
            if unescaped is not None:
                chars.append(unescaped)
                starts.append(i)
                ends.append(i + 2)
                i += 2
                continue
        chars.append(c)
        starts.append(i)
        ends.append(i + 1)
        i += 1
    return "".join(chars), starts, ends
