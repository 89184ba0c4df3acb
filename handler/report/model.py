"""The values passed between the report's stages: what was asked (options) and what the engine answered (raw)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handler.read.period import BusinessHours, Period
from handler.read.reader import Paging
from handler.report.rules import ReportRules, shipped

Row = dict[str, Any]
NO_PAGING = Paging("search_after", "")


@dataclass(frozen=True)
class ReportOptions:
    period: Period
    clusters: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # AWS account ids (`owner`)
    regions: tuple[str, ...] = ()
    # bursts, business hours, new clients' look-back and privileged users: the detection rules' (handler/report/rules)
    rules: ReportRules = field(default_factory=shipped)
    page_size: int = 1000

    @property
    def hours(self) -> BusinessHours:
        return self.rules.hours

    @property
    def privileged_users(self) -> tuple[str, ...]:
        return self.rules.privileged_users


@dataclass
class Raw:
    """Everything the report's sections are built from, exactly as read (complete lists, no sampling)."""

    engine: str = ""
    paging: Paging = NO_PAGING
    requests: int = 0
    total: int = 0
    total_after: int | None = None  # without a point in time: the count again at the end of the run
    indices: list[tuple[str, int]] = field(default_factory=list)
    sources: list[tuple[str | None, str | None, str | None, str | None, int]] = field(
        default_factory=list
    )  # account, region, cluster, instance, documents
    account_rows: list[Row] = field(default_factory=list)
    schema_rows: list[Row] = field(default_factory=list)
    failed_total: int = 0
    failed_series: list[tuple[int, int]] = field(default_factory=list)  # (bucket start, epoch ms; count)
    failed_by_user: list[tuple[str | None, int]] = field(default_factory=list)
    failed_by_client: list[tuple[str | None, int]] = field(default_factory=list)
    bursts: list[Row] = field(default_factory=list)  # rule brute-force's findings in the scope, oldest first
    bursts_not_counted: int = 0  # failed logins in the scope the rule skips: its allow list, internal accounts
    privileged_names: list[tuple[str, str]] = field(default_factory=list)  # (user, why)
    privileged_ops: list[tuple[str, str | None, int, str, str]] = field(
        default_factory=list
    )  # user, op, n, first, last
    privileged_clients: list[tuple[str, str | None, int]] = field(default_factory=list)
    privileged_sessions: list[dict[str, Any]] = field(default_factory=list)  # session summaries (as_dict), links
    hourly: list[tuple[int, str | None, int]] = field(default_factory=list)  # (local hour start ms, user, count)
    clients_now: list[tuple[str, str | None, int, str, str]] = field(
        default_factory=list
    )  # client, user, n, first, last
    clients_before: set[str] = field(default_factory=set)  # clients seen in the new-client rule's look-back
    statement_counts: list[tuple[str | None, str, int, int]] = field(default_factory=list)  # user, hash, n, failed
    statement_texts: dict[str, str] = field(default_factory=dict)  # fingerprint hash → fingerprint
    statements_without_fingerprint: int = 0  # QUERY events of indices written before fingerprints
