"""Index patterns: the audit documents, and the findings the detections write beside them.

Findings live in `<prefix>-findings-YYYY.MM.DD`, which `<prefix>-*` matches too: every read of audit documents
(report, sessions, detections, backfill's counts, the Dashboards index pattern) goes through `audit_pattern`, which
excludes them, so a finding is never counted as an audit event nor an audit event read as a finding."""

from __future__ import annotations

FINDINGS = "findings"


def audit_pattern(prefix: str) -> str:
    """The audit indices of `prefix`, findings excluded (a comma-separated index expression; `-` excludes)."""
    return f"{prefix}-*,-{findings_pattern(prefix)}"


def findings_pattern(prefix: str) -> str:
    return f"{prefix}-{FINDINGS}-*"


def findings_documents_pattern(prefix: str) -> str:
    """The findings themselves, the detect job's state document excluded (the Dashboards index pattern)."""
    return f"{findings_pattern(prefix)},-{state_index(prefix)}"


def audit_days_pattern(prefix: str) -> str:
    """Only the daily audit indices `<prefix>-YYYY.MM.DD`, as a single glob: for ISM templates, whose `-` exclusions
    exist only from index-management 3.4, so `<prefix>-*` there would also take the findings and the state index."""
    return f"{prefix}-2*"


def audit_write_patterns(prefix: str) -> list[str]:
    """Every daily audit index `<prefix>-<year>.MM.DD` and nothing else, as globs (the security plugin's index
    patterns have no exclusion): a day's index starts with a digit, the findings and the state index with `f`.
    `2*` alone would refuse the documents a bad timestamp dates to 1970 or year 0001 (the parser keeps them)."""
    return [f"{prefix}-{digit}*" for digit in "0123456789"]


def findings_days_pattern(prefix: str) -> str:
    """Only the daily findings indices `<prefix>-findings-YYYY.MM.DD` (not the state index), as a single glob."""
    return f"{prefix}-{FINDINGS}-2*"


def findings_index(prefix: str, day: str) -> str:
    """`<prefix>-findings-YYYY.MM.DD`; `day` is `YYYY.MM.DD` (UTC)."""
    return f"{prefix}-{FINDINGS}-{day}"


def state_index(prefix: str) -> str:
    """Where the detect job keeps what its last run covered: one document, in the findings' family (their template
    and role), outside every daily index."""
    return f"{prefix}-{FINDINGS}-state"
