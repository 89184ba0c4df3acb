"""The values passed between the report's stages: what was asked (options) and what the engine answered (raw)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handler.read.period import BusinessHours, Period
from handler.read.privileged import DEFAULT_PRIVILEGED
from handler.read.reader import Paging

Row = dict[str, Any]
OFFICE_HOURS = BusinessHours(8, 18, frozenset(range(5)), "UTC")  # 08:00–18:00, Monday to Friday
NO_PAGING = Paging("search_after", "")


@dataclass(frozen=True)
class ReportOptions:
    period: Period
    clusters: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()  # AWS account ids (`owner`)
    regions: tuple[str, ...] = ()
    privileged_users: tuple[str, ...] = DEFAULT_PRIVILEGED
    privileged_from_option: bool = False  # True: the names came from --privileged-user, not the defaults
    hours: BusinessHours = OFFICE_HOURS
    burst_failures: int = 5
    burst_window_seconds: int = 60
    page_size: int = 1000


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
    burst_candidates: list[Row] = field(default_factory=list)  # failed logins in windows that may hold a burst
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
    clients_before: set[str] = field(default_factory=set)
    statement_counts: list[tuple[str | None, str, int, int]] = field(default_factory=list)  # user, hash, n, failed
    statement_texts: dict[str, str] = field(default_factory=dict)  # fingerprint hash → fingerprint
    statements_without_fingerprint: int = 0  # QUERY events of indices written before fingerprints
