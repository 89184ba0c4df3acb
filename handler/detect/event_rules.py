"""Event rules at ingest: one document in, the ids of the rules it matches (and the highest severity) out. Pure.

Every flow (forwarder, backfill, replay, export --index, parse) builds documents in handler/transforms/batch.py,
which calls `EventRules.tag` on each: cheap by construction, because almost every document is answered by its
operation and the first letter of its statement; the allow lists and internal accounts are looked at only on a hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from handler.detect.catalog import SEVERITIES, Catalog, business_hours, client_in, split_clients
from handler.detect.classes import HEAD, is_account_change, is_schema_change
from handler.transforms.sql_secrets import ascii_lowered

TABLE_EVENTS = frozenset(("READ", "WRITE", "CREATE", "ALTER", "DROP", "RENAME"))
_INTO_FILE = re.compile(rb"\binto\s+(?:outfile|dumpfile)\b")
# what mysqldump sends for every table it dumps: SELECT /*!40001 SQL_NO_CACHE */ * FROM `t` (client/mysqldump.cc)
DUMP_HEAD = "select /*!40001 sql_no_cache */"
SELECTS = ("select", "with", "(", "table")
# statement heads the saved searches' classes start with (schema and account changes)
_TAMPER_HEADS = ("set", "uninstall")
KEYWORD_HEADS = ("create", "alter", "drop", "rename", "truncate", "grant", "revoke", "set password", "set default")


def _into_file(text: bytes) -> bool:
    """INTO OUTFILE|DUMPFILE outside a quoted string (an even number of quotes before it)."""
    return any(text.count(b"'", 0, m.start()) % 2 == 0 for m in _INTO_FILE.finditer(text))


class _Sensitive:
    """Statements naming `db.table` (quoted or not), or a bare table name in a statement run in `db`, and table
    events on it. `db.*` stands for every table of the database. Statements are read as ASCII bytes, lowered."""

    def __init__(self, objects: list[str]) -> None:
        self.pairs = {tuple(o.lower().split(".")) for o in objects}
        self.needles = sorted({db.encode() for db, _ in self.pairs})
        self.qualified: dict[bytes, re.Pattern[bytes]] = {}
        self.bare: dict[str, re.Pattern[bytes] | None] = {}
        for db in sorted({db for db, _ in self.pairs}):
            tables = sorted(t for d, t in self.pairs if d == db)
            name = "|".join(re.escape(t) for t in tables if t != "*")
            table = r"[`\"]?[\w$]+" if "*" in tables else rf"[`\"]?(?:{name})[`\"]?(?![\w$])"
            self.qualified[db.encode()] = re.compile(rf"(?<![\w$])[`\"]?{re.escape(db)}[`\"]?\s*\.\s*{table}".encode())
            self.bare[db] = (
                None
                if "*" in tables or not name
                else re.compile(
                    rf"\b(?:from|join|into|update|table|describe|desc)\s+[`\"]?(?:{name})[`\"]?(?![\w$.])".encode()
                )
            )

    def statement(self, text: bytes, db: str | None) -> bool:
        for needle in self.needles:
            if needle in text and self.qualified[needle].search(text):
                return True
        if db is not None:
            db = db.lower()
            if (db, "*") in self.pairs:
                return True
            bare = self.bare.get(db)
            return bare is not None and bare.search(text) is not None
        return False

    def table(self, db: str | None, table: str | None) -> bool:
        if db is None:
            return False
        db = db.lower()
        return (db, "*") in self.pairs or (table is not None and (db, table.lower()) in self.pairs)


class EventRules:
    """The enabled event rules of a catalog, compiled."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rules = {r.id: r for r in catalog.enabled("event")}
        self._rank = {s: i for i, s in enumerate(SEVERITIES)}
        on = self.rules.__contains__
        self._account = on("account-change")
        self._tamper = self.rules.get("audit-tampering")
        self._ddl_hours = self.rules.get("ddl-off-hours")
        self._hours = business_hours(self._ddl_hours.parameters) if self._ddl_hours else None
        self._dropped = on("table-dropped")
        self._file = on("export-to-file")
        self._dump = on("dump-session")
        sensitive = self.rules.get("sensitive-access")
        self._sensitive = _Sensitive(list(sensitive.p("objects"))) if sensitive else None
        self._needles = tuple(self._sensitive.needles) if self._sensitive else ()
        self._dbs = frozenset(n.decode() for n in self._needles)
        self._mysql = b"mysql" in self._needles  # found by the masker's search already (ascii_lowered)
        self._others = tuple(n for n in self._needles if n != b"mysql")
        self._db_names: dict[str, bool] = {}  # database → holds sensitive objects (few distinct names)
        privileged = self.rules.get("privileged-remote")
        self._privileged = frozenset(privileged.p("users")) if privileged else frozenset()
        self._outside = split_clients(list(privileged.p("allowed_clients")), "") if privileged else ((), frozenset())
        if self._tamper:
            self._variables = tuple(v.lower().encode() for v in self._tamper.p("variables"))
            self._plugins = tuple(p.lower().encode() for p in self._tamper.p("plugins"))
        self._timestamp: Callable[[str], datetime] | None = None
        # every head a QUERY rule reads (a leading space: tampering looks past it)
        self._heads = (*KEYWORD_HEADS, *SELECTS, *((*_TAMPER_HEADS, " ") if self._tamper else ()))

    def tag(self, doc: dict[str, Any]) -> tuple[list[str], str] | None:
        """(rule ids, highest severity), or None for the documents no rule is about (nearly all)."""
        operation = doc.get("operation")
        if operation == "QUERY":
            sql = doc.get("sql")
            if sql is None:
                return None
            hits = self._query(doc, sql)
        elif operation == "CONNECT":
            if doc.get("user") not in self._privileged:
                return None
            hits = [] if client_in(doc.get("client"), *self._outside) else ["privileged-remote"]
        elif operation in TABLE_EVENTS:
            hits = self._table(doc, operation)
        else:
            return None
        if not hits:
            return None
        return self._kept(doc, hits)

    def _query(self, doc: dict[str, Any], sql: str) -> list[str]:
        # The saved searches compare prefixes of the statement as stored, spaces included: the head decides the
        # classes, and which statements are worth reading whole. The transform has lowered the head already
        # (`sql_lower`) and the masker the whole statement's ASCII (`ascii_lowered`, a memo of the same str).
        head = doc.get("sql_lower") or sql[:HEAD].lower()
        text, mysql = ascii_lowered(sql)
        hits = []
        # Most statements (INSERT, UPDATE, DELETE, …) start with none of the heads a rule reads: one test in C
        # answers every head rule for them.
        if head.startswith(self._heads):
            if head.startswith(KEYWORD_HEADS):
                if is_schema_change("QUERY", head):
                    hits.extend(self._schema(doc, head))
                if self._account and is_account_change("QUERY", head):
                    hits.append("account-change")
            elif head.startswith(SELECTS):  # the usual statement: two prefix checks and a substring search
                if self._dump and head.startswith(DUMP_HEAD):
                    hits.append("dump-session")
                if self._file and text.find(b"file") >= 0 and _into_file(text):
                    hits.append("export-to-file")
            if (
                self._tamper is not None
                and (head.startswith(_TAMPER_HEADS) or (head[:1] == " " and head.lstrip().startswith(_TAMPER_HEADS)))
                and self._tampers(text)
            ):
                hits.append("audit-tampering")
        sensitive = self._sensitive
        if sensitive is not None:
            db = doc.get("db")
            if db is not None:
                known = self._db_names.get(db)
                if known is None:
                    known = self._sensitive_db(db)
            else:
                known = False
            if (
                (mysql >= 0 and self._mysql) or known or (self._others and any(text.find(n) >= 0 for n in self._others))
            ) and sensitive.statement(text, db):
                hits.append("sensitive-access")
        return hits

    def _sensitive_db(self, db: str) -> bool:
        return self._db_names.setdefault(db, db.lower() in self._dbs)

    def _schema(self, doc: dict[str, Any], low: str | None) -> list[str]:
        hits = []
        if self._dropped and low is not None and low.startswith(("drop table", "truncate")):
            hits.append("table-dropped")
        if self._hours is not None and not self._hours.contains(self._time(doc["@timestamp"])):
            hits.append("ddl-off-hours")
        return hits

    def _table(self, doc: dict[str, Any], operation: str) -> list[str]:
        hits = []
        if operation in ("CREATE", "ALTER", "DROP", "RENAME"):
            if operation == "DROP" and self._dropped:
                hits.append("table-dropped")
            if self._hours is not None and not self._hours.contains(self._time(doc["@timestamp"])):
                hits.append("ddl-off-hours")
        # Reads only: the server writes the grant tables itself for every account statement (server_audit logs
        # WRITE on mysql.global_priv, db, tables_priv, … before the CREATE USER or GRANT; docs/mariadb-server-audit.md),
        # which account-change already reports; DML that writes them names them, and its QUERY record is tagged.
        if operation == "READ" and self._sensitive is not None and self._sensitive.table(doc.get("db"), doc.get("sql")):
            hits.append("sensitive-access")
        return hits

    def _tampers(self, text: bytes) -> bool:
        head = text.lstrip()
        if head.startswith(b"set"):
            return any(v in text for v in self._variables)
        if head.startswith(b"uninstall"):
            return any(p in text for p in self._plugins)
        return False

    def _time(self, stamp: str) -> datetime:
        if self._timestamp is None:
            from handler.read.period import parse_timestamp

            self._timestamp = parse_timestamp
        return self._timestamp(stamp)

    def _kept(self, doc: dict[str, Any], hits: list[str]) -> tuple[list[str], str] | None:
        user, client = doc.get("user"), doc.get("client")
        instance = doc.get("instance") or doc.get("server")
        kept = [h for h in dict.fromkeys(hits) if not self.catalog.skips(self.rules[h], user, client, instance)]
        if not kept:
            return None
        severity = max((self.rules[h].severity for h in kept), key=self._rank.__getitem__)
        return kept, severity


@cache
def shipped_event_rules() -> EventRules:
    from handler.detect.catalog import load_catalog

    return EventRules(load_catalog())


def event_rules(overrides: str) -> EventRules:
    """The event rules with the user's overrides (RDSAUDIT_DETECTIONS): the shipped ones when there are none."""
    if not overrides.strip():
        return shipped_event_rules()
    from handler.detect.catalog import load_catalog

    return EventRules(load_catalog(overrides))
