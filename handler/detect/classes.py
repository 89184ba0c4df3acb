"""The event classes of handler/read/events.py as ingest-time predicates on a document, for the event rules.

The read side runs each class as the Lucene of its saved search; here the same class is answered from the document
about to be indexed, so tagging costs no query. Each predicate is written from the exact Lucene in `WRITTEN_FROM`
(a unit test fails when a saved search changes without it), and tests/integration/test_detect_classes.py indexes a
table of statements into the real node and checks that the Lucene's hits and the predicates' answers agree.

What the Lucene does that the predicates copy: `sql\\*lower` names `sql_lower` (issue 24: the statement's first
256 characters, lowercased, a keyword with a lowercase normalizer; indices written before it have `sql.lower`
instead), so the comparison is a prefix of the statement as stored, leading spaces included; `operation` is an
exact keyword. Every prefix compared is ASCII and shorter than `HEAD`, so lowercasing the first characters here and
the first 256 there give the same answer.
"""

from __future__ import annotations

from typing import Any

WRITTEN_FROM = {
    "failed_logins": "operation:FAILED_CONNECT",
    "schema_changes": "operation:(CREATE OR ALTER OR DROP OR RENAME) OR (operation:QUERY AND sql\\*lower:(create* OR "
    "alter* OR drop* OR rename* OR truncate*) AND NOT sql\\*lower:(create\\ user* OR alter\\ user* OR drop\\ user* OR "
    "rename\\ user* OR create\\ role* OR drop\\ role*))",
    "account_changes": "operation:QUERY AND sql\\*lower:(create\\ user* OR alter\\ user* OR drop\\ user* OR "
    "rename\\ user* OR grant* OR revoke* OR set\\ password* OR create\\ role* OR drop\\ role* OR "
    "set\\ default\\ role*)",
}

TABLE_DDL = frozenset(("CREATE", "ALTER", "DROP", "RENAME"))
DDL_PREFIXES = ("create", "alter", "drop", "rename", "truncate")
ACCOUNT_IN_DDL = ("create user", "alter user", "drop user", "rename user", "create role", "drop role")
ACCOUNT_PREFIXES = (
    "create user",
    "alter user",
    "drop user",
    "rename user",
    "grant",
    "revoke",
    "set password",
    "create role",
    "drop role",
    "set default role",
)


HEAD = 32  # longer than every prefix above (and mysqldump's SELECT head)


def indexed_head(sql: str) -> str:
    """The start of what `sql_lower` holds for this statement (see the module's note)."""
    return sql[:HEAD].lower()


def is_failed_login(doc: dict[str, Any]) -> bool:
    return doc.get("operation") == "FAILED_CONNECT"


def is_schema_change(operation: str | None, low: str | None) -> bool:
    if operation in TABLE_DDL:
        return True
    return (
        operation == "QUERY" and low is not None and low.startswith(DDL_PREFIXES) and not low.startswith(ACCOUNT_IN_DDL)
    )


def is_account_change(operation: str | None, low: str | None) -> bool:
    return operation == "QUERY" and low is not None and low.startswith(ACCOUNT_PREFIXES)


def classes_of(doc: dict[str, Any]) -> set[str]:
    """Every class of handler/read/events.py the document is in (the agreement test's side of the table)."""
    operation = doc.get("operation")
    sql = doc.get("sql")
    low = indexed_head(sql) if isinstance(sql, str) else None
    found = set()
    if is_failed_login(doc):
        found.add("failed_logins")
    if is_schema_change(operation, low):
        found.add("schema_changes")
    if is_account_change(operation, low):
        found.add("account_changes")
    return found
