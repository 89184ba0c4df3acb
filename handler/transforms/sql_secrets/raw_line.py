"""Credential spans in a raw audit line, whose object is the SQL escaped by the audit plugin. Pure.

Inside the object `'` is written `\\'` and `\\` is `\\\\` (and newline, tab … as `\\n`, `\\t` …), so the SQL is
unescaped with a map back to the line's positions, the spans are found in the SQL and mapped back. A line that
failed to parse may have lost its shape (cut by the plugin, cut after a backslash so that its closing quote looks
escaped, not an audit line at all), so several readings are tried and everything any of them finds is masked:
- the object from its opening quote to the first unescaped quote, or to the end of the line when there is none;
- the object from its opening quote to the last quote of the line (the parser's reading of a cut line);
- the whole line, unescaped, when the ninth field is not a quoted object (a continuation line of an export, a
  line that is not an audit line at all); read whole, a well-formed line would turn its object into one string;
- and then the whole line as written, when it holds a backslash: text that is not the plugin's (a general or slow
  query log line, an error message, an Activity Streams field) has SQL's own escapes, not the plugin's.
A statement need not start such a text (`2024-01-01T00:00:00.000000Z\t 8 Query\tSET PASSWORD = …`): `positions`
finds every family wherever it is, and the whole-line readings are `loose` (a line break ends a statement).
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.positions import secret_spans

# The plugin's escapes, as handler.transforms.unescape reads them: any other pair is kept as written.
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", "\\": "\\"}
_UP_TO_QUOTE = re.compile(r"[^'\\]*(?:\\[\s\S][^'\\]*)*")
_NEAR = re.compile(r"\bnear '")
_TAIL = re.compile(r",-?\d+(?:,[^']*)?")


def raw_secret_spans(line: str, dialect: str = "mysql") -> list[tuple[int, int, bool]]:
    """(start, end, escaped) of each credential: inside the object, or where the literal was escaped, so is the mask.

    PostgreSQL text is never an audit plugin's line (Activity Streams fields, error messages): it is read as it is.
    """
    if dialect == "postgresql":
        spans = {
            span
            for backslash in (False, True)
            for loose in (False, True)
            for span in secret_spans(line, backslash_escapes=backslash, dialect=dialect, loose=loose)
        }
        return [(s, e, False) for s, e in spans]
    objects, shaped, well_formed = _object_regions(line)
    found: set[tuple[int, int]] = set()
    for start, end in objects if well_formed else [*objects, (0, len(line))]:
        sql, starts, ends = _unescape_mapped(line, start, end)
        whole = not well_formed and start == 0
        for backslash in (True, False) if "\\" in sql else (True,):
            for loose in (True, False) if whole and "#" in sql else (whole,):
                for s, e in secret_spans(sql, backslash_escapes=backslash, dialect=dialect, loose=loose):
                    found.add((starts[s], ends[e - 1]))
    if not well_formed and "\\" in line:
        found.update(_as_written(line, dialect, found))
    if not well_formed:
        found.update(_near(line))
    # Only a ninth-field object is sure to be the plugin's escaped text; elsewhere a quote is escaped where it was.
    inside = objects if shaped else []
    return [(s, e, line[s] == "\\" or any(a <= s < b for a, b in inside)) for s, e in found]


def _as_written(line: str, dialect: str, unescaped: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The line read as SQL with its own escapes. Read so, a broken audit line's object (`'… BY \\'x\\''`) is one
    string holding a credential statement: when the plugin's reading found the credential inside it, that string
    is left to the finer masks."""
    spans: list[tuple[int, int]] = []
    wholes: list[tuple[int, int]] = []
    for backslash in (True, False):
        spans += secret_spans(line, backslash_escapes=backslash, dialect=dialect, loose=True, wholes=wholes)
    return [
        (s, e)
        for s, e in spans
        if (s, e) not in wholes or not any(s <= a and b <= e and (a, b) != (s, e) for a, b in unescaped)
    ]


def _near(line: str) -> list[tuple[int, int]]:
    """A MySQL error quotes the rest of the statement as it was, quotes unescaped (ER_PARSE_ERROR: `… near '%s' at
    line %d`, the text cut to 80 characters): that part is read as a statement of its own."""
    spans: list[tuple[int, int]] = []
    for m in _NEAR.finditer(line):
        start, end = m.end(), line.rfind("' at line ", m.end())
        text = line[start : end if end >= 0 else len(line)]
        for backslash in (True, False) if "\\" in text else (True,):
            spans += [(start + s, start + e) for s, e in secret_spans(text, backslash_escapes=backslash)]
    return spans


def _object_regions(line: str) -> tuple[list[tuple[int, int]], bool, bool]:
    """Candidate (start, end) of the object's content, quotes excluded; whether it is the ninth field; and whether
    the line is whole: a ninth-field object closed by a quote that a return code follows (`',0`, `',1064,SSL`).
    Any other line is also read whole, as text: an inserted quote (`,','CREATE …`) shifts every object reading."""
    parts = line.split(",", 8)
    shaped = len(parts) == 9 and parts[8].startswith("'")
    if shaped:
        body = len(line) - len(parts[8]) + 1
    else:
        first = _unescaped_quote(line, 0)
        if first < 0:
            return [], False, False
        body = first + 1
    closing = _unescaped_quote(line, body)
    regions = [(body, closing if closing >= 0 else len(line))]
    last = line.rfind("'")
    if last >= body and last != closing:
        regions.append((body, last))
    well_formed = shaped and closing >= 0 and _TAIL.fullmatch(line, closing + 1) is not None
    return regions, shaped, well_formed


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
