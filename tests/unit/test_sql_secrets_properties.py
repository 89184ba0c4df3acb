"""Credential statements built from a small grammar: the secret never reaches anything we emit.

The secret's identifying characters are Greek letters, which nothing else in these statements or lines contains:
one Greek letter anywhere in the output is a leak, however the secret was quoted, escaped, split or cut.
"""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.model import Context
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.document import audit_document, failure_document
from handler.transforms.sql_secrets import mask_raw_line, mask_sql
from tests.events.generate import plugin_escape
from tests.profiles import examples

GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
SPECIALS = ["'", '"', "\\", "''", "\\'", ",", ";", " ", "\n", "\t", "*/", "/*", "-- ", "#", ")", "(", "`", "%", "_"]
SPACES = [" ", "  ", "\n", "\t", "\r\n", " /* c */ ", "\n-- c\n", " # c\n", "/**/"]
# 200 examples a run; which ones is the profile's choice (tests/profiles.py): the same ones on every CI run, new ones
# on every other run, so the masker's properties keep exploring.
MASKER = settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow])
_PUNCT = set("(),=")


def leaked(text: str) -> bool:
    return any(c in GREEK for c in text)


@st.composite
def secrets(draw: st.DrawFn) -> str:
    chunks = draw(st.lists(st.text(GREEK, min_size=1, max_size=4) | st.sampled_from(SPECIALS), max_size=5))
    chunks.insert(draw(st.integers(0, len(chunks))), draw(st.text(GREEK, min_size=12, max_size=16)))
    return "".join(chunks)


@st.composite
def literals(draw: st.DrawFn, secret: str) -> str:
    """The secret as MySQL would read it back: quote style, escapes, introducer, adjacent pieces."""
    quote = draw(st.sampled_from(["'", '"']))
    escaped_quote = draw(st.sampled_from([quote * 2, "\\" + quote]))
    prefix = draw(st.sampled_from(["", "_utf8mb4", "_latin1 ", "N"] if quote == "'" else ["", "_utf8mb4"]))
    cut = draw(st.integers(0, len(secret)))
    pieces = [secret[:cut], secret[cut:]] if draw(st.booleans()) and 0 < cut < len(secret) else [secret]
    encoded = [quote + p.replace("\\", "\\\\").replace(quote, escaped_quote) + quote for p in pieces]
    return prefix + draw(st.sampled_from([" ", "\n", " /* c */ "])).join(encoded)


def keyword(draw: st.DrawFn, word: str) -> str:
    bits = draw(st.integers(0, 2 ** len(word) - 1))
    return "".join(c.upper() if bits >> i & 1 else c.lower() for i, c in enumerate(word))


_CHOICES = {
    "@user": ["u", "'bob'@'%'", "`app`@`10.0.%`", "CURRENT_USER()", "app@localhost"],
    "@procedure": [
        "mysql.rds_set_external_master",
        "`mysql`.`rds_set_external_source`",
        "MYSQL . RDS_SET_EXTERNAL_MASTER_WITH_DELAY",
        "mysql.rds_set_external_source_with_auto_position",
        "mysql.`rds_set_external_master_gtid`",
        "rds_set_external_source_for_channel",
    ],
}
# Tokens separated by spaces; A|B is either; L is where the literal goes.
CREDENTIAL_TEMPLATES = [
    "CREATE|ALTER USER @user IDENTIFIED BY L",
    "CREATE USER u IDENTIFIED WITH caching_sha2_password BY|AS L",
    "ALTER USER u IDENTIFIED VIA|WITH ed25519 USING|AS PASSWORD|ED25519 ( L ) OR unix_socket",
    "ALTER USER u IDENTIFIED BY 'n' REPLACE L RETAIN CURRENT PASSWORD",
    "SET PASSWORD FOR @user = L",
    "SET PASSWORD = PASSWORD|OLD_PASSWORD ( L )",
    "GRANT ALL ON *.* TO u IDENTIFIED BY PASSWORD L",
    "CHANGE MASTER TO MASTER_HOST = 'h' , MASTER_PASSWORD = L",
    "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = L , SOURCE_SSL = 1",
    "START SLAVE|REPLICA USER = 'r' PASSWORD = L",
    "CREATE|ALTER SERVER s OPTIONS ( USER 'r' , PASSWORD L )",
    "CALL @procedure ( 'h' , 3306 , 'r' , L , 'f' )",
    # in routine bodies and compound statements (review of issue 13, finding 1)
    "CREATE DEFINER = admin PROCEDURE|FUNCTION p ( ) SQL SECURITY DEFINER SET PASSWORD FOR @user = L",
    "BEGIN NOT ATOMIC SET PASSWORD = L ; END",
    "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO START REPLICA|SLAVE USER = 'r' PASSWORD = L",
    "CREATE TRIGGER t BEFORE UPDATE|INSERT ON x FOR EACH ROW SET PASSWORD = L",
    # written into the grant tables (finding 5)
    "UPDATE mysql.user SET authentication_string|Password = L WHERE User = 'u'",
    "INSERT|REPLACE INTO mysql.user ( Host , User , authentication_string ) VALUES ( '%' , 'u' , L )",
]
HARMLESS_TEMPLATES = [
    "SELECT * FROM t WHERE name = L",
    "UPDATE users SET password = L WHERE id = 1",
    "INSERT INTO t ( password ) VALUES ( L )",
    "SELECT password_hint , L FROM accounts",
]


@st.composite
def statements(draw: st.DrawFn, templates: list[str]) -> tuple[str, int, int]:
    """(sql, start, end) where sql[start:end] is the credential literal."""
    toks = [draw(st.sampled_from(_CHOICES.get(t) or t.split("|"))) for t in draw(st.sampled_from(templates)).split()]
    secret_literal = draw(literals(draw(secrets())))
    out, start, end = "", 0, 0
    for n, tok in enumerate(toks):
        if n:
            tight = tok in _PUNCT or toks[n - 1] in _PUNCT
            out += draw(st.sampled_from(["", *SPACES] if tight else SPACES))
        if tok == "L":
            start, end = len(out), len(out) + len(secret_literal)
            out += secret_literal
        else:
            out += keyword(draw, tok) if tok.replace("_", "").isalpha() else tok
    return out, start, end


def _line(sql: str, tail: str = "',0") -> str:
    return "1603440571474649,db-1,admin,1.34.6.81,30,973788,QUERY,mysqldemo,'" + plugin_escape(sql) + tail


def _emitted(line: str) -> str:
    """What the transform stores for the line: its document (or failure document), serialized."""
    rec = parse_line(line)
    if isinstance(rec, AuditRecord):
        doc = audit_document(rec, Context())
    else:
        doc = failure_document(line, rec.reason, "2020-10-23T08:09:31.474Z", Context())
    return orjson.dumps(doc).decode()


@MASKER
@given(statements(CREDENTIAL_TEMPLATES), st.data())
def test_secret_never_emitted(stmt: tuple[str, int, int], data: st.DataObject) -> None:
    sql, start, end = stmt
    if data.draw(st.booleans(), label="truncated"):  # the plugin cuts long statements, possibly inside the secret
        sql = sql[: data.draw(st.integers(start + 1, end), label="cut at")]
    masked = mask_sql(sql)
    assert not leaked(masked)
    assert mask_sql(masked) == masked
    line = _line(sql)
    assert not leaked(mask_raw_line(line))
    assert mask_raw_line(mask_raw_line(line)) == mask_raw_line(line)
    assert not leaked(_emitted(line))


@MASKER
@given(statements(CREDENTIAL_TEMPLATES), st.data())
def test_secret_never_emitted_from_unparseable_lines(stmt: tuple[str, int, int], data: st.DataObject) -> None:
    sql, start, _ = stmt
    line = _line(sql)
    broken = data.draw(
        st.sampled_from(
            [
                "garbage" + line[16:],  # a timestamp the parser refuses
                line[: data.draw(st.integers(len(_line("")) - 3 + start, len(line) - 3))],  # cut, no closing quote
                "x," + line[line.index("'") :],  # too few fields
                plugin_escape(sql) + "',0",  # an export continuation line: the object without its start
            ]
        )
    )
    assert not leaked(mask_raw_line(broken))
    assert not leaked(_emitted(broken))


@MASKER
@given(statements(HARMLESS_TEMPLATES))
def test_harmless_literals_kept(stmt: tuple[str, int, int]) -> None:
    sql, _, _ = stmt
    assert mask_sql(sql) == sql
    assert mask_raw_line(_line(sql)) == _line(sql)


_FRAGMENTS = [
    *[
        "IDENTIFIED",
        "BY",
        "WITH",
        "VIA",
        "AS",
        "USING",
        "OR",
        "REPLACE",
        "PASSWORD",
        "SET",
        "FOR",
        "TO",
        "RANDOM",
        "CALL",
        "START",
        "SLAVE",
        "CREATE",
        "SERVER",
    ],
    *[
        "OPTIONS",
        "TABLE",
        "CONNECTION",
        "MASTER_PASSWORD",
        "PREPARE",
        "FROM",
        "ED25519",
        "_utf8mb4",
        "N",
        "X",
        "0x41",
        "@",
        "@@",
    ],
    *["=", "(", ")", ",", ";", "'", '"', "`", "\\", "\\'", "''", "'a'", '"b"', "/*", "*/", "/*!", "--", "-- ", "#"],
    *["\n", " ", "mysql.rds_set_external_master", "'u:p@h'", "'CREATE USER u IDENTIFIED BY ''q'''"],
    *["CONCAT", "||", "'mysql://u:p", "mysql.user", "authentication_string", "BEGIN", "DO", "UPDATE", "--\x01", "$$"],
]


@MASKER
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=16).map("".join), st.sampled_from(["'", ""]))
def test_any_text_masks_without_error_and_idempotently(text: str, quote: str) -> None:
    masked = mask_sql(text)
    assert mask_sql(masked) == masked
    line = mask_raw_line(f"1603440571474649,s,u,h,1,2,QUERY,db,{quote}{text}',0")
    assert mask_raw_line(line) == line


@MASKER
@given(statements(CREDENTIAL_TEMPLATES), st.booleans())
def test_secret_never_in_a_dead_letter(stmt: tuple[str, int, int], cut: bool) -> None:
    """Dead letters are kept for months and read by whoever replays them: the rejected document's record (its
    document, line and the error OpenSearch sent back quoting it) and a whole payload that would not decode."""
    import base64
    import gzip
    import json

    from handler.model import RawEvent, Rejection
    from handler.sinks.dead_letter import payload_record, rejection_record
    from handler.transforms.batch import BatchTransformer, TransformOptions

    sql, start, end = stmt
    line = _line(sql[: start + (end - start) // 2] if cut else sql)
    action = BatchTransformer(Context(), TransformOptions()).action(RawEvent(line, 1_603_440_571_474))
    error = {"type": "mapper_parsing_exception", "reason": f"failed to parse: {action.document()}"}
    record = rejection_record(Rejection(action, 400, error), Context(), "audit")
    assert not leaked(json.dumps(record, ensure_ascii=False))
    assert record["id"] == action.doc_id  # replay needs no raw line to write the same id
    # a payload of the wrong shape (no timestamp): dead-lettered whole, and still readable after masking
    body = json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": line}]})
    event = {"awslogs": {"data": base64.b64encode(gzip.compress(body.encode())).decode()}}
    stored = payload_record(event, "logEvents[0].timestamp is missing")
    decoded = gzip.decompress(base64.b64decode(stored["event"]["awslogs"]["data"])).decode()
    assert not leaked(decoded) and not leaked(json.dumps(stored, ensure_ascii=False))
    assert json.loads(decoded)["logEvents"][0]["id"] == "1"
