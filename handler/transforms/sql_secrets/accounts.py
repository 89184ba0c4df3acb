"""MySQL/MariaDB account and replication clauses whose literals are credentials. Pure.

- `IDENTIFIED BY [PASSWORD] <secret>`, `IDENTIFIED {WITH|VIA} <plugin> [{BY|AS|USING} <secret>]` with MariaDB's
  `OR <plugin> …` alternatives, then `REPLACE <secret>`; wherever it appears (CREATE/ALTER USER, GRANT, CLONE,
  MySQL 8's `AND IDENTIFIED`, `INITIAL AUTHENTICATION IDENTIFIED`, several users in one statement);
- `SET PASSWORD [FOR <user>] {= | := | TO} <secret> [REPLACE <secret>]`;
- `MASTER_PASSWORD` / `SOURCE_PASSWORD [=] <secret>`, and `PASSWORD [=] <secret>` where the caller knows it is an
  option (START REPLICA, CREATE SERVER … OPTIONS).
"""

from __future__ import annotations

from handler.transforms.sql_secrets.lexer import BACKTICK, STRING
from handler.transforms.sql_secrets.scan import Scan


def equals(scan: Scan, i: int) -> int:
    """Index after `=` or `:=` at token i (MySQL's `equal` rule takes both), or -1."""
    if scan.punct(i, "="):
        return i + 1
    if scan.punct(i, ":") and scan.punct(i + 1, "="):
        return i + 2
    return -1


def identified(scan: Scan, i: int) -> int:
    w = scan.word(i)
    if w == "by":
        i = by(scan, i + 1)
    elif w in ("with", "via"):
        i = plugins(scan, i + 1)
    return replace(scan, i)


def by(scan: Scan, i: int) -> int:
    if scan.word(i) == "random":  # BY RANDOM PASSWORD: the server makes one up and returns it, never logged
        return i + 2 if scan.word(i + 1) == "password" else i + 1
    if scan.word(i) == "password" and not scan.punct(i + 1, "("):  # 5.7 and MariaDB: BY PASSWORD '<hash>'
        i += 1
    return scan.value(i, bare=True)


def plugins(scan: Scan, i: int) -> int:
    """`<plugin> [BY|AS|USING <secret>]`, repeated after MariaDB's OR; the plugin's name is not a secret."""
    while i < scan.n:
        if scan.toks[i].kind in (STRING, BACKTICK) or scan.word(i) not in ("", "by", "as", "using"):
            i += 1
        w = scan.word(i)
        if w == "by":
            i = by(scan, i + 1)
        elif w in ("as", "using"):  # AS takes a hash: a credential too
            i = scan.value(i + 1, bare=True)
        if scan.word(i) != "or":
            return i
        i += 1
    return i


def replace(scan: Scan, i: int) -> int:
    return scan.value(i + 1, bare=True) if scan.word(i) == "replace" else i


def assignment(scan: Scan, i: int) -> int:
    after = equals(scan, i)
    return scan.value(after, bare=True) if after > 0 else scan.value(i, bare=False)


def set_password(scan: Scan, i: int) -> int:
    """After `SET PASSWORD`: the account (`'u'@'h'`, `u@h`, `CURRENT_USER()` — not secrets), then the secret."""
    if scan.word(i) == "for":
        while i < scan.n and equals(scan, i) < 0 and scan.word(i) != "to" and not scan.punct(i, ";"):
            i += 1
    after = equals(scan, i)
    if after > 0:
        i = scan.value(after, bare=True)
    elif scan.word(i) == "to":
        i = i + 2 if scan.word(i + 1) == "random" else scan.value(i + 1, bare=True)
    return replace(scan, i)
