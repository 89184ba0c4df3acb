"""The searches the README documents on the statement (template version 2), as it writes them, with the lines that
must and must not match: shared by the default node's test (test_readme_searches.py) and the engine matrix
(tests/engines/test_engine.py), so every engine answers them the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from handler.transforms.document import SQL_LOWER_CHARS

README = Path(__file__).resolve().parents[2] / "README.md"
T = "1700000000000001"
LONG = "SELECT " + ", ".join(f"col_{n}" for n in range(60)) + " FROM wide WHERE id = 7"  # past sql_lower's 256
assert len(LONG) > SQL_LOWER_CHARS


def _line(queryid: int, sql: str, user: str = "app") -> str:
    escaped = sql.replace("\\", "\\\\").replace("'", "\\'")
    return f"{T},i1,{user},10.0.0.1,6,{queryid},QUERY,shop,'{escaped}',0"


STATEMENTS = {
    "create_user": "CREATE USER 'r'@'%' IDENTIFIED BY 'pw'",
    "create_user_lower": "create user bob",
    "create_table": "Create Table t (id int)",
    "mentions": "SELECT note FROM t WHERE note = 'create user'",
    "select_1": "SELECT 1",
    "select_1_lower": "select 1",
    "select_1_2": "select 1, 2",
    "customers": "INSERT INTO customers (id, name) VALUES (3, 'ethan')",
    "long": LONG,
    "long_other_id": LONG.replace("id = 7", "id = 8"),
    "long_other_shape": LONG.replace("col_59", "col_61"),
    "long_extended": LONG + " AND x = 1",  # holds the whole of LONG: a phrase alone finds it too
}
LINES = [_line(100 + n, sql) for n, sql in enumerate(STATEMENTS.values())]

# (the query exactly as the README writes it, the statements it must find)
LUCENE = [
    (r"sql_lower:create\ user*", {"create_user", "create_user_lower"}),
    ('sql_lower:"select 1"', {"select_1", "select_1_lower"}),
    (r"sql\*lower:create*", {"create_user", "create_user_lower", "create_table"}),
]


def check(search: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """`search(query)` answers the hits of one query over the indexed LINES."""
    readme = README.read_text(encoding="utf-8")
    by_sql = {sql: name for name, sql in STATEMENTS.items()}

    def found(query: dict[str, Any]) -> set[str]:
        return {by_sql[h["_source"]["sql"].replace("'***'", "'pw'")] for h in search(query)}

    for text, expected in LUCENE:
        assert f"`{text}`" in readme, f"the README no longer documents {text}"
        assert found({"query_string": {"query": text}}) == expected, text
    # full text and phrases on `sql`
    assert found({"match": {"sql": "customers"}}) == {"customers"}
    assert found({"match_phrase": {"sql": "create user"}}) == {"create_user", "create_user_lower", "mentions"}
    # an exact match past 256 characters: the fingerprint's hash (same shape) plus a phrase on the statement
    assert "`sql_fingerprint_hash`" in readme and "plus a phrase on `sql`" in readme
    phrase = {"match_phrase": {"sql": LONG}}
    assert found(phrase) == {"long", "long_extended"}
    [hash_of_long] = {h["_source"]["sql_fingerprint_hash"] for h in search(phrase) if h["_source"]["sql"] == LONG}
    same_shape = {"term": {"sql_fingerprint_hash": hash_of_long}}
    assert found(same_shape) == {"long", "long_other_id"}
    assert found({"bool": {"filter": [same_shape, phrase]}}) == {"long"}
