"""The query layer: reads everything a report needs from the engine, completely, into a `Raw`."""

from __future__ import annotations

from typing import Any

from handler.detect.windows import failure_bursts
from handler.read.events import saved_search
from handler.read.period import series_interval
from handler.read.privileged import PRIVILEGED_RULE, privileged_names
from handler.read.queries import Scope
from handler.read.reader import Reader, require_indices
from handler.report.model import Raw, ReportOptions
from handler.report.statements import collect_statements
from handler.sessions.links import dashboards_path, timeline_command
from handler.sessions.listing import list_sessions

ROW_FIELDS = [
    "@timestamp",
    "user",
    "client",
    "server",
    "owner",
    "region",
    "cluster",
    "instance",
    "db",
    "operation",
    "sql",
    "retcode",
]


def _terms(field: str, missing: bool = True) -> dict[str, Any]:
    return {field: {"terms": {"field": field, "missing_bucket": missing}}}


def _span_aggs() -> dict[str, Any]:
    return {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}


def _span(bucket: dict[str, Any]) -> tuple[str, str]:
    return str(bucket["first"]["value_as_string"]), str(bucket["last"]["value_as_string"])


def collect(client: Any, pattern: str, options: ReportOptions) -> Raw:
    require_indices(client, pattern)
    scope = Scope(options.period, options.clusters, accounts=options.accounts, regions=options.regions)
    raw = Raw()
    with Reader(client, pattern, options.page_size) as reader:
        raw.engine, raw.paging = reader.engine.name, reader.paging
        raw.total = reader.count(scope.query())
        raw.indices = [
            (b["key"]["_index"], b["doc_count"]) for b in reader.composite(scope.query(), [_terms("_index", False)])
        ]
        # per account and region too: two accounts' clusters of one name are two rows
        raw.sources = [
            (b["key"]["owner"], b["key"]["region"], b["key"]["cluster"], b["key"]["instance"], b["doc_count"])
            for b in reader.composite(
                scope.query(), [_terms("owner"), _terms("region"), _terms("cluster"), _terms("instance")]
            )
        ]
        raw.account_rows = list(reader.documents(scope.query(saved_search("account_changes")), ROW_FIELDS))
        raw.schema_rows = list(reader.documents(scope.query(saved_search("schema_changes")), ROW_FIELDS))
        _failed_logins(reader, scope, options, raw)
        _privileged(reader, scope, options, raw)
        _activity(reader, scope, options, raw)
        collect_statements(reader, scope, raw)
        if raw.paging.method != "point_in_time":
            raw.total_after = reader.count(scope.query())
        raw.requests = reader.requests
    return raw


def _failed_logins(reader: Reader, scope: Scope, options: ReportOptions, raw: Raw) -> None:
    failed = scope.query(saved_search("failed_logins"))
    raw.failed_total = reader.count(failed)
    interval = series_interval(options.period)
    histogram = {"t": {"date_histogram": {"field": "@timestamp", "calendar_interval": interval}}}
    raw.failed_series = [(b["key"]["t"], b["doc_count"]) for b in reader.composite(failed, [histogram])]
    raw.failed_by_user = [(b["key"]["user"], b["doc_count"]) for b in reader.composite(failed, [_terms("user")])]
    raw.failed_by_client = [(b["key"]["client"], b["doc_count"]) for b in reader.composite(failed, [_terms("client")])]
    # Bursts are rule brute-force's findings (threshold, window, allow list, internal accounts), exactly as the
    # detect job computes them, within the report's scope and period.
    rule = options.rules.rule("bursts")
    found = failure_bursts(reader, options.rules.catalog, rule, options.period, None, within=scope.query())
    raw.bursts = [
        {
            "client": f.key["client"],
            "first": f.first,
            "last": f.last,
            "failures": f.count,
            "users": sorted({str(r["user"]) for r in f.rows if r.get("user") is not None}),
            "instances": sorted({str(r["instance"]) for r in f.rows if r.get("instance") is not None}),
        }
        for f in found
    ]
    # what the rule skips is said with its count, never dropped silently (the test failure_bursts uses: skips)
    keys = [_terms("user"), _terms("client"), _terms("instance"), _terms("server")]
    raw.bursts_not_counted = sum(
        b["doc_count"]
        for b in reader.composite(failed, keys)
        if options.rules.catalog.skips(
            rule, b["key"]["user"], b["key"]["client"], b["key"]["instance"] or b["key"]["server"]
        )
    )


def _privileged(reader: Reader, scope: Scope, options: ReportOptions, raw: Raw) -> None:
    why = options.rules.note("privileged")["set_by"]["users"]
    why = f"rule {PRIVILEGED_RULE}" if why == "catalog" else why
    raw.privileged_names = privileged_names(options.privileged_users, raw.account_rows, why)
    names = [name for name, _ in raw.privileged_names]
    if not names:
        return
    theirs = scope.query({"terms": {"user": names}})
    raw.privileged_ops = [
        (b["key"]["user"], b["key"]["operation"], b["doc_count"], *_span(b))
        for b in reader.composite(theirs, [_terms("user", False), _terms("operation")], _span_aggs())
    ]
    raw.privileged_clients = [
        (b["key"]["user"], b["key"]["client"], b["doc_count"])
        for b in reader.composite(theirs, [_terms("user", False), _terms("client")])
    ]
    # RDS's own accounts (rdsadmin connects every few minutes) count only in sessions that changed accounts
    people = [name for name in names if name not in options.rules.catalog.internal_users]
    having = {"bool": {"should": [{"terms": {"user": people}}, saved_search("account_changes")]}}
    sessions = list_sessions(reader, options.period, options.clusters, privileged_users=names, having=having)
    prefix = reader.pattern.removesuffix("-*")  # the saved objects' ids follow the index prefix
    raw.privileged_sessions = [
        {**s.as_dict(), "timeline": timeline_command(s), "dashboards": dashboards_path(s, prefix)} for s in sessions
    ]


def _activity(reader: Reader, scope: Scope, options: ReportOptions, raw: Raw) -> None:
    # Local hours (calendar interval in the business zone) so each bucket is wholly inside or outside business hours.
    hour = {
        "t": {"date_histogram": {"field": "@timestamp", "calendar_interval": "hour", "time_zone": options.hours.zone}}
    }
    raw.hourly = [
        (b["key"]["t"], b["key"]["user"], b["doc_count"])
        for b in reader.composite(scope.query(), [hour, _terms("user")])
    ]
    raw.clients_now = [
        (b["key"]["client"], b["key"]["user"], b["doc_count"], *_span(b))
        for b in reader.composite(scope.query(), [_terms("client", False), _terms("user")], _span_aggs())
    ]
    previous = scope.query(period=options.rules.lookback(options.period))
    raw.clients_before = {b["key"]["client"] for b in reader.composite(previous, [_terms("client", False)])}
