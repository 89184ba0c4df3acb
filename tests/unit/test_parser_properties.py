"""Property tests: escaping as the plugin does round-trips; no input makes the parser raise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from handler.transforms.audit_line import AuditRecord, decode_line, parse_line
from tests.profiles import examples

_PLUGIN_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def plugin_escape(sql: str) -> str:
    return "".join(_PLUGIN_ESCAPES.get(c, c) for c in sql)


@settings(max_examples=examples(2000))
@given(st.text(), st.sampled_from(["aurora", "rds_mysql", "mariadb"]))
def test_escaped_sql_parses_back_to_itself(sql: str, dialect: str) -> None:
    quoted = "'" + plugin_escape(sql) + "'"
    if dialect == "aurora":
        line = f"1603440571474649,inst-1,admin,10.0.0.1,30,973788,QUERY,db,{quoted},0"
    elif dialect == "rds_mysql":
        line = f"20230501 10:02:20,ip-10-1-0-50,root,localhost,8,585290,QUERY,db,{quoted},0,,"
    else:
        line = f"20200720 16:37:59,ip-172-27-1-97,admin,10.0.0.1,305230,1,QUERY,db,{quoted},0"
    rec = parse_line(line)
    assert isinstance(rec, AuditRecord), rec
    assert rec.obj == sql
    assert rec.retcode == 0
    assert rec.dialect == dialect


@settings(max_examples=examples(3000))
@given(st.text())
def test_no_text_makes_the_parser_raise(text: str) -> None:
    parse_line(text)


@settings(max_examples=examples(3000))
@given(st.binary())
def test_no_bytes_make_the_parser_raise(data: bytes) -> None:
    parse_line(decode_line(data))


_FIELD = st.text(alphabet=st.characters(blacklist_characters=",\n"), max_size=12)


@settings(max_examples=examples(3000))
@given(
    st.lists(_FIELD, min_size=0, max_size=14),
    st.sampled_from(["1603440571474649", "20230501 10:02:20", "", "x"]),
    st.text(max_size=40),
)
def test_near_valid_lines_never_raise(fields: list[str], ts: str, tail: str) -> None:
    parse_line(",".join([ts, *fields]) + tail)


@settings(max_examples=examples(5000))
@given(st.text(alphabet=st.sampled_from(["\\", "'", "n", "r", "t", "b", "f", "x", "a", " ", "\ue000", "日"])))
def test_fast_unescape_matches_a_left_to_right_scan(text: str) -> None:
    from handler.transforms.unescape import unescape

    table = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(table.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(text[i])
            i += 1
    assert unescape(text) == "".join(out)
