"""Credentials written straight into the grant tables (rare, privileged statements): the columns named exactly.

From the MySQL manual ("Grant Tables", "mysql.user"; "Password Management" for the dual passwords kept in
`User_attributes` as `"additional_password"`) and the MariaDB knowledge base ("mysql.user Table",
"mysql.global_priv Table", "mysql.servers Table"):
- `mysql.user`: `Password` (MySQL up to 5.6, MariaDB up to 10.3) and `authentication_string` hold the hash;
- `mysql.global_priv` (MariaDB 10.4+): the `Priv` JSON holds `"authentication_string"`, also inside `auth_or`;
- `mysql.servers`: `Password`, as CREATE SERVER stores it; `mysql.slave_master_info`: `User_password`, the
  replication password when master_info_repository=TABLE.
`authentication_string` is no application's column name, so `authentication_string = <literal>` is masked in
any statement (a SET clause, a WHERE). A `password` column is masked only when the statement names one of these
tables with its schema: `UPDATE user SET password = …` after `USE mysql` cannot be told from an application's
`user` table, and an application's columns are its data (README, "What is masked"). Rows are masked by the
column list of their INSERT|REPLACE; a row without one (as mysqldump writes them) is in the order of the
server's version, and is left as it is.
"""

from __future__ import annotations

import re

from handler.transforms.sql_secrets.accounts import equals
from handler.transforms.sql_secrets.lexer import STRING
from handler.transforms.sql_secrets.scan import Scan

SECRET_COLUMNS = {
    "user": frozenset({"password", "authentication_string"}),
    "servers": frozenset({"password"}),
    "slave_master_info": frozenset({"user_password"}),
    "global_priv": frozenset(),  # its Priv JSON is read by `json_secret`
}
_JSON_KEY = re.compile(r'"(?:authentication_string|additional_password)"\s*:\s*"[^"]')
_JSON_PATH = re.compile(r'\$\."?(?:authentication_string|additional_password)"?')


def column(scan: Scan, i: int, grant: str, rows: bool, positions: list[int] | None) -> int | None:
    """At the word at i: the index after what was masked, or None when the word starts nothing here.

    `grant` is the grant table the statement writes ("" for none); `rows` whether it inserts rows into it, with
    `positions` the secret columns of its column list (None: it has none).
    """
    w = scan.name(i)
    if w == "authentication_string" or w in SECRET_COLUMNS.get(grant, ()):
        after = equals(scan, i + 1)
        return scan.value(after, bare=False) if after > 0 else None
    if rows and positions and w in ("values", "value"):
        return _rows(scan, i + 1, positions)
    return None


def columns(scan: Scan, i: int, grant: str) -> tuple[int, list[int] | None]:
    """After `INSERT|REPLACE INTO mysql.<table>`: (index after its column list, positions of the secret columns
    in it), or (i, None) when there is no column list."""
    if not scan.punct(i, "("):
        return i, None
    names, current, j = [], "", i + 1
    while j < scan.n and not scan.punct(j, ")"):
        if scan.punct(j, ","):
            names.append(current)
            current = ""
        else:
            current = scan.name(j) or current
        j += 1
    names.append(current)
    return j + 1, [k for k, c in enumerate(names) if c in SECRET_COLUMNS[grant]]


def _rows(scan: Scan, i: int, positions: list[int]) -> int:
    """VALUES (…), (…): the secret columns of each row."""
    while scan.punct(i, "("):
        args, i = _split(scan, i)
        for k, (first, stop) in enumerate(args):
            j = first
            while k in positions and j < stop:
                end = scan.literal_end(j)
                j = scan.mask(j, end) if end > j else j + 1
        if not scan.punct(i, ","):
            break
        i += 1
    return i


def _split(scan: Scan, open_paren: int) -> tuple[list[tuple[int, int]], int]:
    """The token ranges of the top-level arguments of the parenthesis at `open_paren`, and the index after it."""
    args, depth, start, i = [], 0, open_paren + 1, open_paren
    while i < scan.n:
        tok = scan.toks[i]
        if tok.text == "(" and tok.kind != STRING:
            depth += 1
        elif tok.text in (")", ",") and tok.kind != STRING and depth == 1:
            args.append((start, i))
            start = i + 1
            if tok.text == ")":
                return args, i + 1
        elif tok.text == ")" and tok.kind != STRING:
            depth -= 1
        i += 1
    args.append((start, i))
    return args, i


def json_secret(scan: Scan, i: int, body: str) -> int | None:
    """A string holding the grant tables' JSON with a hash in it, masked whole; `'$.authentication_string'` as a
    JSON path (JSON_SET(Priv, '$.authentication_string', '*…')) masks the operand after it. None: neither."""
    if _JSON_KEY.search(body):
        return scan.mask(i, i + 1)
    if _JSON_PATH.fullmatch(body.strip().lower()):
        return scan.follow(i + 1, "")
    return None
