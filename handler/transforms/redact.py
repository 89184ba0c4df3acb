"""Masking of secrets in SQL text. Pure."""

from __future__ import annotations

import re

MASK = "'***'"

# A SQL string literal: '…' or "…", with backslash escapes and doubled quotes.
_LITERAL = r"""(?:'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")"""
_SECRET = re.compile(
    r"(?:"
    # CREATE/ALTER USER … IDENTIFIED [WITH plugin] BY|AS [PASSWORD] '…' [REPLACE '…']
    r"\bIDENTIFIED\s+(?:WITH\s+(?:'[^']*'|`[^`]*`|\"[^\"]*\"|\w+)\s+)?(?:BY|AS)\s+(?:PASSWORD\s+)?"
    rf"(?P<a>{_LITERAL})(?:\s+REPLACE\s+(?P<b>{_LITERAL}))?"
    # PASSWORD('…'), OLD_PASSWORD('…')
    rf"|\b(?:OLD_)?PASSWORD\s*\(\s*(?P<c>{_LITERAL})"
    # SET PASSWORD [FOR u] = '…'; CHANGE MASTER/REPLICATION SOURCE … MASTER_PASSWORD = '…'
    rf"|\b(?:MASTER_|SOURCE_)?PASSWORD\s*=\s*(?P<d>{_LITERAL})"
    r")",
    re.IGNORECASE | re.DOTALL,
)


def mask_secrets(sql: str) -> str:
    """Replace password literals with '***'; everything else is left as it was."""
    lowered = sql.lower()  # two substring tests in C beat a case-insensitive regex scan
    if "password" not in lowered and "identified" not in lowered:
        return sql
    return _SECRET.sub(_mask_match, sql)


def _mask_match(m: re.Match[str]) -> str:
    text, start = m.group(0), m.start()
    out, pos = [], 0
    for name in ("a", "b", "c", "d"):
        if m.group(name) is not None:
            s, e = m.start(name) - start, m.end(name) - start
            out.append(text[pos:s])
            out.append(MASK)
            pos = e
    out.append(text[pos:])
    return "".join(out)
