"""The detect job: every window rule over the period since the previous run (with an overlap for late data), the
documents the transform tagged turned into findings, the findings written. `rdsaudit detect` and the scheduled
function both call `run`.

Scheduled (no `since`): the period starts `overlap` before the previous run's end (the state document), so an event
that arrives up to `overlap` late is still seen; its finding has the same id as it would have had on time. An
event later than that is found only by an explicit run over its time (`rdsaudit detect --since …`), which leaves
the state alone. The first scheduled run covers `FIRST_RUN`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from handler.detect import store
from handler.detect.catalog import Catalog, load_catalog
from handler.detect.findings import Finding, document
from handler.detect.tagged import tagged_findings
from handler.detect.windows import window_findings
from handler.pipeline import FINDINGS
from handler.read.patterns import audit_pattern
from handler.read.period import Period, iso
from handler.read.privileged import PRIVILEGED_RULE
from handler.read.reader import Reader

FIRST_RUN = timedelta(hours=1)
OVERLAP = timedelta(minutes=15)


@dataclass
class DetectResult:
    period: Period
    scheduled: bool
    findings: list[dict[str, Any]]  # every finding with an event in the period, new and known, oldest first
    new: list[str] = field(default_factory=list)  # ids of the findings this run created
    computed: int = 0  # findings the rules produced (a rerun produces them again, as updates)
    requests: int = 0
    paging: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.as_dict(),
            "scheduled": self.scheduled,
            "new": len(self.new),
            "known": len(self.findings) - len([f for f in self.findings if f["finding_id"] in set(self.new)]),
            "findings": [{**f, "new": f["finding_id"] in set(self.new)} for f in self.findings],
        }


def period_for(runtime: Any, since: datetime | None, until: datetime | None, now: datetime) -> tuple[Period, bool]:
    end = until or now
    if since is not None:
        return Period(since, end), False
    previous = store.read_state(runtime.client, runtime.settings.index_prefix)
    start = previous - OVERLAP if previous is not None else end - FIRST_RUN
    return Period(min(start, end - OVERLAP), end), True


def run(
    runtime: Any, since: datetime | None = None, until: datetime | None = None, now: datetime | None = None
) -> DetectResult:
    from handler.setup.engine import for_settings

    now = now or datetime.now(UTC)
    settings = runtime.settings
    serverless = for_settings(settings)  # known from the settings alone: checked before any request
    if serverless is not None:
        serverless.check_detect()
    prefix = settings.index_prefix
    catalog = load_catalog(settings.detections)
    period, scheduled = period_for(runtime, since, until, now)
    runtime.ensure_template(FINDINGS)  # the one template check: a role that may not update it uses the installed one
    pattern_id = f"{prefix}-index-pattern"
    with Reader(runtime.client, audit_pattern(prefix)) as reader:
        found = window_findings(reader, catalog, period) + tagged_findings(reader, catalog, period)
        docs = [
            _with_session(
                reader, catalog, f, document(f, now=iso(now), pattern_id=pattern_id, catalog_version=catalog.version)
            )
            for f in found
        ]
        requests, paging = reader.requests, reader.paging.method
    created, _ = store.write(runtime.client, prefix, docs)
    if scheduled:
        store.write_state(runtime.client, prefix, period, now)
    listed = store.period_findings(runtime.client, prefix, period)
    return DetectResult(period, scheduled, listed, sorted(created), len(docs), requests, paging)


def _with_session(reader: Reader, catalog: Catalog, finding: Finding, doc: dict[str, Any]) -> dict[str, Any]:
    """The session a finding of one connection happened in (handler/sessions), by its key and a short summary."""
    if doc.get("server") is None or doc.get("connid") is None:
        return doc
    from handler.sessions.lookup import find_session

    # at its last event: the connection a finding names holds that one (login-after-failures' first events are
    # the failures, on other connections, often seconds before the login)
    users = catalog.rule(PRIVILEGED_RULE).p("users")  # with the overrides, as the sessions command reads them
    summary = find_session(reader, doc["server"], int(doc["connid"]), finding.last, privileged_users=users)
    if summary is not None:
        doc["session"] = {
            "key": summary.key,
            "summary": {
                "user": summary.user,
                "client": summary.client,
                "start": summary.start,
                "end": summary.end,
                "events": summary.events,
                "failed_statements": summary.failed_statements,
                "closed": summary.closed,
            },
        }
    return doc
