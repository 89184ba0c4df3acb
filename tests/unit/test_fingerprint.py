"""The statement fingerprint: literals replaced, lists collapsed, comments gone, and never a credential."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.transforms import fingerprint as fp
from handler.transforms.fingerprint import MAX_SCANNED, fingerprint, fingerprint_hash
from handler.transforms.sql_secrets import mask_sql
from handler.transforms.sql_secrets.lexer import (
    BLOCK_COMMENT,
    DASH_COMMENT,
    EXECUTABLE_MARKERS,
    backtick_pattern,
    string_pattern,
)
from tests.unit import test_sql_secrets, test_sql_secrets_hardening

# The reference reading of literals, written plainly from the masker's lexer patterns (one group per kind, a Python
# call per match): every faster path of the fingerprint must give what this gives on its statements.
_READING = re.compile(
    rf"({backtick_pattern()})|({string_pattern()})|({EXECUTABLE_MARKERS}|{BLOCK_COMMENT}|{DASH_COMMENT}|#[^\n]*)"
)


def _kept(m: re.Match[str]) -> str:
    return m.group() if m.lastindex == 1 else " " if m.lastindex == 3 else "?"


def lexer_reading(sql: str) -> str:
    return _READING.sub(_kept, sql)


CASES = [
    ("SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"),
    ("SELECT * FROM t WHERE name = 'bob' AND n > -1.5e3", "SELECT * FROM t WHERE name = ? AND n > -?"),
    ("select a from t where x in (1, 2,3)", "select a from t where x in (?+)"),
    ("select a from t where x in ('a')", "select a from t where x in (?+)"),
    ("INSERT INTO t (a, b) VALUES (1,'a'),(2, 'it''s'), (3, \"c\")", "INSERT INTO t (a, b) VALUES (?+)"),
    ("SELECT `t1`.`col_2`, t1.c3 FROM `t1` LIMIT 10, 20", "SELECT `t1`.`col_2`, t1.c3 FROM `t1` LIMIT ?, ?"),
    ("/* request_id:8c1f */ SELECT 1 -- why\n", "SELECT ?"),
    ("SELECT /*!40001 SQL_NO_CACHE */ x FROM t # note", "SELECT SQL_NO_CACHE x FROM t"),
    ("SELECT 'a\\'b', 0x1F, X'0F' FROM t", "SELECT ?, ?, X? FROM t"),
    ("SELECT\n  a,\n\tb\nFROM   t", "SELECT a, b FROM t"),
    ("select 'unterminated", "select ?"),
    (
        "UPDATE `orders` SET `status` = 'paid' WHERE `orders`.`id` = 7",
        "UPDATE `orders` SET `status` = ? WHERE `orders`.`id` = ?",
    ),
]


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_literals_replaced(sql: str, expected: str) -> None:
    assert fingerprint(sql) == expected


def test_same_shape_same_hash_other_shape_other_hash() -> None:
    a = fingerprint("SELECT * FROM t WHERE id = 1 AND s IN (1, 2)")
    b = fingerprint("SELECT  * FROM t WHERE id = 99 AND s IN (5)")
    c = fingerprint("SELECT * FROM u WHERE id = 1")
    assert a == b and fingerprint_hash(a) == fingerprint_hash(b) != fingerprint_hash(c)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint_hash(a))


def test_bounded_cost_for_huge_statements() -> None:
    huge = "INSERT INTO t VALUES " + ", ".join(f"({n}, 'row {n}')" for n in range(100_000))
    assert fingerprint(huge) == "INSERT INTO t VALUES (?+)" or len(fingerprint(huge)) <= MAX_SCANNED


MASKED = test_sql_secrets.MASKED + test_sql_secrets_hardening.MASKED
_WORD = re.compile(r"[\w@$!#%^&*+=:.-]+")


@pytest.mark.parametrize(("sql", "masked"), MASKED)
def test_never_a_credential(sql: str, masked: str) -> None:
    """What masking removed (a password, quoted or not) is nowhere in the fingerprint of the masked statement, and
    no literal is left at all."""
    removed = set(_WORD.findall(sql)) - set(_WORD.findall(masked))
    print_ = fingerprint(mask_sql(sql))
    assert not removed & set(_WORD.findall(print_)), (sql, print_)
    assert "***" not in print_


# Statements the quick path (split on quotes) takes: no backslash, backtick, comment, or both kinds of quote.
_PLAIN_TOKEN = st.one_of(
    st.sampled_from(["SELECT", "a", "t1", "FROM", "=", ",", "(", ")", "IN", "x.y", "-", "+", "12", "3.5", "0x1f"]),
    st.builds(lambda s: f"'{s}'", st.text(alphabet="ab 1,()'", max_size=5).map(lambda s: s.replace("'", "''"))),
    st.sampled_from([" ", "  ", "\n", "\t"]),
)


@given(st.lists(_PLAIN_TOKEN, max_size=30).map(" ".join))
def test_quick_path_reads_as_the_lexer(sql: str) -> None:
    """The quick path must give what the regular expression gives, or one statement would have two fingerprints."""
    slow = lexer_reading(sql)
    assert fp._split_literals(sql) == slow


# Statements the strings-only path takes: backslashes and both kinds of quote, but nothing else the lexer reads.
_ESCAPED_TOKEN = st.one_of(
    _PLAIN_TOKEN,
    st.sampled_from(["\\", "\\'", '\\"', "'a\\'b'", '"x\\"y"', '"it\'s"', "'say \"hi\"'", "'", '"', "*", "/", "-"]),
)


@given(st.lists(_ESCAPED_TOKEN, max_size=30).map(" ".join))
def test_strings_path_reads_as_the_lexer(sql: str) -> None:
    """Without a backtick or a comment marker, the string matches are all the lexer's pattern finds."""
    if any(marker in sql for marker in ("`", "#", "--", "/*", "*/")):
        assert fp.fingerprint(sql) == fp.fingerprint(lexer_reading(sql))
    else:
        assert fp._STRINGS.sub("?", sql) == lexer_reading(sql)


@pytest.mark.parametrize("sql", ["select a */ b from t where s = 'x'", "select 'a\\'b' */ 1", "select 3 */ 'x'"])
def test_stray_comment_end_is_read_as_the_lexer_reads_it(sql: str) -> None:
    """`*/` alone is an executable comment's end marker to the lexer (it goes): every path must agree."""
    expected = " ".join(fp._NUMBER.sub("?", lexer_reading(sql)).split())
    assert fingerprint(sql) == expected


# Everything the lexer reads, and what sits next to it: names with quotes and comment markers inside, strings with
# backticks, escapes and doubled quotes, executable comments, unterminated tokens, non-ASCII text and whitespace.
_ANY_TOKEN = st.one_of(
    _ESCAPED_TOKEN,
    st.sampled_from(
        [
            "`",
            "`a'b`",
            "`x``y`",
            "`/*`",
            "'`'",
            "/*",
            "*/",
            "/*!40001",
            "/*M!100100",
            "--",
            "-- x",
            "--\x01",
            "#",
            "# c\n",
            "\n",
            "日本",
            "é",
            "\xa0",
            "?",
            "(?+)",
            "0x1F",
            "1e5",
        ]
    ),
)


@given(st.lists(_ANY_TOKEN, max_size=40).map("".join))
def test_lexed_reads_as_the_lexer(sql: str) -> None:
    """The fingerprint's pass over names, strings and comments (split, no call per match) is the lexer's reading."""
    assert fp._lexed(sql) == lexer_reading(sql)
