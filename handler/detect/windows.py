"""Window rules: exact aggregation queries through the one reader (composite, paged to the end), then the rule in
Python on the few documents that can matter. Each returns `Finding`s whose window is fixed by the data.

A run covers [since, until); each rule reads as far back as its own window needs, so a finding whose events
straddle the previous run's end is computed whole again (the same id).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from handler.detect import bursts
from handler.detect.catalog import Catalog, Rule
from handler.detect.findings import EXAMPLE_FIELDS, Finding, lucene_value, ms_iso
from handler.read.events import lucene, saved_search
from handler.read.period import Period, iso, parse_timestamp
from handler.read.queries import Query, all_of, in_period, term
from handler.read.reader import Reader

Row = dict[str, Any]
READS = "operation:READ OR (operation:QUERY AND sql\\*lower:select*)"  # what bulk-read counts


def _terms(name: str, missing: bool = True) -> dict[str, Any]:
    return {name: {"terms": {"field": name, "missing_bucket": missing}}}


def _floor(moment: datetime, seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, moment.tzinfo)


def _kept(catalog: Catalog, rule: Rule, rows: list[Row]) -> list[Row]:
    return [
        r for r in rows if not catalog.skips(rule, r.get("user"), r.get("client"), r.get("instance") or r.get("server"))
    ]


def _read_candidates(
    reader: Reader, base: Query, period: Period, window: int, threshold: int, key: str
) -> dict[str | None, list[Row]]:
    """Documents of `base` in the fixed windows that could hold `threshold` of them for one `key` value."""
    fixed = {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{window}s"}}}
    query = all_of(base, in_period(period))
    counts = [(b["key"][key], b["key"]["t"], b["doc_count"]) for b in reader.composite(query, [_terms(key), fixed])]
    rows: dict[str | None, list[Row]] = defaultdict(list)
    for value, start_ms, end_ms in bursts.candidate_ranges(counts, window * 1000, threshold):
        span = {"range": {"@timestamp": {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}}
        rows[value].extend(reader.documents(all_of(query, term(key, value), span), EXAMPLE_FIELDS))
    return rows


def _bucket_findings(
    rule: Rule, key: dict[str, Any], buckets: list[tuple[int, list[Row]]], window: int, base_query: str
) -> list[Finding]:
    out = []
    for start_ms, rows in buckets:
        out.append(
            Finding(
                rule,
                key,
                ms_iso(start_ms),
                ms_iso(start_ms + window * 1000),
                len(rows),
                rows[0]["@timestamp"],
                rows[-1]["@timestamp"],
                rows,
                query=_query(base_query, key),
            )
        )
    return out


def _query(base: str, key: dict[str, Any]) -> str:
    from handler.detect.findings import key_query

    return key_query(key, base)


def failure_bursts(
    reader: Reader, catalog: Catalog, rule: Rule, run: Period, distinct: str | None, within: Query | None = None
) -> list[Finding]:
    """brute-force (failures from one client) and password-spraying (distinct users failing from one client).

    `within`: a further filter (the report's scope: its period exactly, clusters, accounts, regions); the report's
    failed-login bursts are this function's brute-force findings, so the two can never disagree."""
    window = int(rule.p("window_seconds"))
    threshold = int(rule.p("distinct_users") if distinct else rule.p("threshold"))
    period = Period(_floor(run.since, window), run.until)
    found: list[Finding] = []
    failed = saved_search("failed_logins") if within is None else all_of(saved_search("failed_logins"), within)
    candidates = _read_candidates(reader, failed, period, window, threshold, "client")
    for client, candidate in sorted(candidates.items(), key=lambda kv: kv[0] or ""):
        rows = _kept(catalog, rule, sorted(candidate, key=lambda r: (r["@timestamp"], r["_id"])))
        if client is None or not rows:
            continue
        buckets = bursts.qualifying_buckets(_unique(rows), window, threshold, distinct)
        found += _bucket_findings(rule, {"client": client}, buckets, window, lucene("failed_logins"))
    return found


def _unique(rows: list[Row]) -> list[Row]:
    """Candidate ranges of one client can overlap at their edges: each document once."""
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["_id"] not in seen:
            seen.add(row["_id"])
            out.append(row)
    return out


def login_after_failures(reader: Reader, catalog: Catalog, rule: Rule, run: Period) -> list[Finding]:
    window, threshold = int(rule.p("window_seconds")), int(rule.p("failures"))
    period = Period(run.since - timedelta(seconds=window), run.until)
    failed = all_of(saved_search("failed_logins"), in_period(period))
    pairs = [
        (b["key"]["user"], b["key"]["client"])
        for b in reader.composite(failed, [_terms("user", False), _terms("client", False)])
        if b["doc_count"] >= threshold
    ]
    found: list[Finding] = []
    for user, client in pairs:
        if catalog.skips(rule, user, client, None):
            continue
        pair = all_of(term("user", user), term("client", client))
        failures = list(reader.documents(all_of(failed, pair), EXAMPLE_FIELDS))
        logins = reader.documents(all_of(pair, term("operation", "CONNECT"), in_period(run)), EXAMPLE_FIELDS)
        found += logins_after_failures(rule, user, client, failures, _kept(catalog, rule, list(logins)))
    return found


def _before(failure: Row, at: int, login: Row) -> bool:
    """The failure happened before the login. The plugin writes whole seconds, so a failure and the login that
    follows it often share one: there the connection ids tell (the server numbers connections in the order they
    come in). Only one server's ids are ordered: on an Aurora cluster the failures and the login can reach
    different instances, whose counters are unrelated, so a failure on another server in the login's second counts
    (the order cannot be known, and a failure that close to a login is evidence of guessing either way)."""
    t = bursts.epoch_ms(failure["@timestamp"])
    if t != at:
        return t < at
    if failure.get("server") != login.get("server"):
        return True
    return (
        isinstance(failure.get("connid"), int)
        and isinstance(login.get("connid"), int)
        and (failure["connid"] < login["connid"])
    )


def logins_after_failures(rule: Rule, user: str, client: str, failures: list[Row], logins: list[Row]) -> list[Finding]:
    """One user's failures and logins from one client → a finding per aligned window with a login that
    `failures` or more failures preceded within `window_seconds`. Pure."""
    window, threshold = int(rule.p("window_seconds")), int(rule.p("failures"))
    per_bucket: dict[int, list[Row]] = defaultdict(list)
    for login in logins:
        at = bursts.epoch_ms(login["@timestamp"])
        before = [
            f for f in failures if at - window * 1000 <= bursts.epoch_ms(f["@timestamp"]) and _before(f, at, login)
        ]
        if len(before) >= threshold:
            per_bucket[at // (window * 1000) * window * 1000].extend([*before, login])
    found = []
    for start_ms, kept in sorted(per_bucket.items()):
        rows = _unique(kept)  # two logins in one bucket share failures
        login = rows[-1]
        finding = _bucket_findings(rule, {"user": user, "client": client}, [(start_ms, rows)], window, "")[0]
        pair = f"user:{lucene_value(user)} AND client:{lucene_value(client)}"
        finding.query = f"({lucene('failed_logins')} OR operation:CONNECT) AND {pair}"
        finding.count = len([r for r in rows if r.get("operation") == "FAILED_CONNECT"])
        # the connection that got in is what to look at: its server and id, first (the failures' connections
        # differ from it, so the evidence would otherwise name none)
        finding.rows = [login, *[r for r in rows if r is not login]]
        finding.extra = {"server": login.get("server"), "connid": login.get("connid")}
        found.append(finding)
    return found


def audit_silence(reader: Reader, catalog: Catalog, rule: Rule, run: Period) -> list[Finding]:
    """Gaps longer than `silence_minutes` between an instance's events (minute buckets, exact first and last
    times), and the one still open at the run's end."""
    silence = timedelta(minutes=int(rule.p("silence_minutes")))
    period = Period(run.since - timedelta(hours=int(rule.p("lookback_hours"))), run.until)
    minute = {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": "60s"}}}
    spans = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    per_instance: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for b in reader.composite(in_period(period), [_terms("instance"), _terms("server"), minute], spans):
        name = b["key"]["instance"] or b["key"]["server"]
        if name is not None and not catalog.skips(rule, None, None, name):
            per_instance[name].append((b["first"]["value_as_string"], b["last"]["value_as_string"]))
    found = []
    for name, minutes in sorted(per_instance.items()):
        minutes.sort()
        ends = [(minutes[i][1], minutes[i + 1][0]) for i in range(len(minutes) - 1)] + [(minutes[-1][1], None)]
        for last, resumed in ends:
            end = parse_timestamp(resumed) if resumed else run.until
            quiet = end - parse_timestamp(last)
            if quiet < silence or end < run.since:
                continue
            gap_end = resumed or iso(run.until)
            finding = Finding(rule, {"instance": name}, last, gap_end, 0, last, gap_end)
            finding.query = f"instance:{lucene_value(name)} OR server:{lucene_value(name)}"
            finding.extra = {
                "silent_since": last,
                "resumed": resumed,
                "silent_minutes": int(quiet.total_seconds() // 60),
            }
            found.append(finding)
    return found


def new_clients(reader: Reader, catalog: Catalog, rule: Rule, run: Period) -> list[Finding]:
    """(user, client) pairs whose first login in [since - lookback_days, until) is inside the run."""
    period = Period(run.since - timedelta(days=int(rule.p("lookback_days"))), run.until)
    logins = all_of(term("operation", "CONNECT"), in_period(period))
    first = {"first": {"min": {"field": "@timestamp"}}}
    found = []
    for b in reader.composite(logins, [_terms("user", False), _terms("client", False)], first):
        user, client, at = b["key"]["user"], b["key"]["client"], b["first"]["value_as_string"]
        # as times, not text: the node writes `…:40.000Z` for what `iso` writes `…:40Z`, and the text sorts earlier
        if parse_timestamp(at) < run.since or catalog.skips(rule, user, client, None):
            continue
        pair = all_of(term("user", user), term("client", client), term("operation", "CONNECT"), in_period(run))
        rows = _first_rows(reader, pair)
        if not rows or catalog.skips(rule, user, client, rows[0].get("instance") or rows[0].get("server")):
            continue
        finding = Finding(
            rule,
            {"user": user, "client": client},
            rows[0]["@timestamp"],
            iso(run.until),
            b["doc_count"],
            rows[0]["@timestamp"],
            rows[-1]["@timestamp"],
            rows,
        )
        finding.query = f"operation:CONNECT AND user:{lucene_value(user)} AND client:{lucene_value(client)}"
        found.append(finding)
    return found


def _first_rows(reader: Reader, query: Query) -> list[Row]:
    rows = []
    for row in reader.documents(query, EXAMPLE_FIELDS):
        rows.append(row)
        if len(rows) == 3:
            break
    return rows


def bulk_reads(reader: Reader, catalog: Catalog, rule: Rule, run: Period) -> list[Finding]:
    """Read events per user in aligned windows of `window_seconds` (not sliding: counts only, no documents)."""
    window, threshold = int(rule.p("window_seconds")), int(rule.p("threshold"))
    period = Period(_floor(run.since, window), run.until)
    reads = all_of({"query_string": {"query": READS}}, in_period(period))
    fixed = {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{window}s"}}}
    spans = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    totals: dict[tuple[str, int], list[Any]] = {}
    for b in reader.composite(reads, [_terms("user", False), fixed, _terms("client")], spans):
        user, start, client = b["key"]["user"], b["key"]["t"], b["key"]["client"]
        if catalog.skips(rule, user, client, None):
            continue
        entry = totals.setdefault((user, start), [0, b["first"]["value_as_string"], b["last"]["value_as_string"]])
        entry[0] += b["doc_count"]
        entry[1], entry[2] = min(entry[1], b["first"]["value_as_string"]), max(entry[2], b["last"]["value_as_string"])
    found = []
    for (user, start), (count, first, last) in sorted(totals.items()):
        if count < threshold:
            continue
        rows = _first_rows(
            reader, all_of(reads, term("user", user), {"range": {"@timestamp": {"gte": first, "lte": last}}})
        )
        finding = Finding(rule, {"user": user}, ms_iso(start), ms_iso(start + window * 1000), count, first, last, rows)
        finding.query = f"({READS}) AND user:{lucene_value(user)}"
        found.append(finding)
    return found


def window_findings(reader: Reader, catalog: Catalog, run: Period) -> list[Finding]:
    found: list[Finding] = []
    for rule in catalog.enabled("window"):
        if rule.id == "brute-force":
            found += failure_bursts(reader, catalog, rule, run, None)
        elif rule.id == "password-spraying":
            found += failure_bursts(reader, catalog, rule, run, "user")
        elif rule.id == "login-after-failures":
            found += login_after_failures(reader, catalog, rule, run)
        elif rule.id == "audit-silence":
            found += audit_silence(reader, catalog, rule, run)
        elif rule.id == "new-client":
            found += new_clients(reader, catalog, rule, run)
        elif rule.id == "bulk-read":
            found += bulk_reads(reader, catalog, rule, run)
    return found
