"""The Markdown report, for tickets: the same sections as tables, time series as a line of block characters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from handler.report import labels

BLOCKS = " ▁▂▃▄▅▆▇█"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # GitHub-flavoured tables: a pipe ends a cell unless escaped (in code spans too); a cell is one line
    return text.replace("|", "\\|").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    if len(lines) == 2:
        lines.append("| " + " | ".join(["none in the period", *[""] * (len(headers) - 1)]) + " |")
    return [*lines, ""]


def _code(text: str) -> str:
    """A statement as a code span (where nothing is markup); with a backtick inside, as text with markup escaped."""
    if not text:
        return ""
    if "`" not in text:
        return f"`{text}`"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*").replace("_", "\\_")


def sparkline(values: Sequence[int]) -> str:
    top = max(values, default=0)
    if not top:
        return BLOCKS[0] * len(values)
    return "".join(BLOCKS[0] if not v else BLOCKS[max(1, round(v * 8 / top))] for v in values)


def _limited(items: list[dict[str, Any]], top: int, key: str, count: str) -> list[list[Any]]:
    rows: list[list[Any]] = [[labels.name(i[key]), f"{i[count]:,}"] for i in items[:top]]
    rest = items[top:]
    if rest:
        rows.append([f"*{len(rest):,} more (all in the JSON report)*", f"{sum(i[count] for i in rest):,}"])
    return rows


def _changes(section: dict[str, Any]) -> list[str]:
    rows = [
        [
            labels.when(r["time"]),
            labels.name(r["user"]),
            labels.name(r["client"]),
            labels.place(r),
            _code(labels.statement(r)),
            labels.result(r["retcode"]),
            "**yes**" if r["outside_business_hours"] else "",
        ]
        for r in section["rows"]
    ]
    return [
        f"{section['count']:,} in the period, oldest first; statements as stored (passwords masked).",
        "",
        *_table(["time (UTC)", "user", "client", "cluster / instance", "statement", "result", "outside hours"], rows),
    ]


def _statements(s: dict[str, Any], title: str, top: int) -> list[str]:
    def rows(items: list[dict[str, Any]]) -> list[list[Any]]:
        return [
            [_code(i["fingerprint"]), f"`{i['hash']}`", f"{i['events']:,}", f"{i['failures']:,}",
             ", ".join(f"{labels.name(u['user'])} ({u['events']:,})" for u in i.get("users", []))]
            for i in items[:top]
        ]  # fmt: skip

    headers = ["statement (literals as ?)", "fingerprint hash", "events", "failures", "users"]
    out = [f"## {title}", "", labels.statements_lead(s), ""]
    out += ["### By count", "", *_table(headers, rows(s["by_count"]))]
    out += ["### By failures", "", *_table(headers, rows(s["by_failures"]))]
    out += ["### By user", ""]
    for u in s["by_user"][:top]:
        out += [f"**{labels.name(u['user'])}** ({u['events']:,} statements)", ""]
        out += _table(headers[:4], [r[:4] for r in rows(u["statements"])])
    return out


def render_md(report: dict[str, Any], top: int = 25) -> str:
    d, sha = report["data"], report["sha256"]
    c, f, p = d["coverage"], d["failed_logins"], d["privileged_activity"]
    o, n, t = d["outside_business_hours"], d["new_clients"], labels.TITLES
    period = c["period"]
    out = [
        "# Database audit report",
        "",
        f"**Period (UTC):** {labels.when(period['since'])} — {labels.when(period['until'])} (until excluded)  ",
        f"**Endpoint:** {c['endpoint']} · **engine:** {c['engine']} · **index pattern:** `{c['index_pattern']}` · "
        f"**clusters / instances:** {', '.join(c['clusters_filter']) or 'all'}  ",
        f"**accounts:** {', '.join(c.get('accounts_filter', [])) or 'all'}  ",
        f"**regions:** {', '.join(c.get('regions_filter', [])) or 'all'}  ",
        f"**Documents:** {c['documents']:,} · **generated:** {labels.when(c['generated_at'])} UTC · "
        f"**rdsaudit** {c['rdsaudit_version']}  ",
        f"**Paging:** {labels.paging(c)}  ",
        f"**Consistency:** {labels.consistency(c)}  ",
        f"**SHA-256 of the data:** `{sha}`",
        "",
        *_table(["index", "documents"], ([i["index"], f"{i['documents']:,}"] for i in c["indices"])),
        *_table(
            ["account", "region", "cluster", "instance", "documents"],
            (
                [*(labels.name(s[k]) for k in ("account", "region", "cluster", "instance")), f"{s['documents']:,}"]
                for s in c["sources"]
            ),
        ),
        f"## {t['account_changes']}",
        "",
        *_changes(d["account_changes"]),
        f"## {t['schema_changes']}",
        "",
        *_changes(d["schema_changes"]),
        f"## {t['failed_logins']}",
        "",
        f"{f['total']:,} failed logins by {f['distinct_users']:,} users from {f['distinct_clients']:,} clients.",
        "",
        f"Per {f['series']['interval']} (UTC): `{sparkline([b['count'] for b in f['series']['buckets']])}`",
        "",
        *_table(["user", "failures"], _limited(f["by_user"], top, "user", "failures")),
        *_table(["client", "failures"], _limited(f["by_client"], top, "client", "failures")),
        f"Bursts ({f['bursts']['definition']}). {labels.rule(f['bursts']['rule'])} {labels.bursts_note(f['bursts'])}",
        "",
        *_table(
            ["client", "first (UTC)", "last (UTC)", "failures", "users tried"],
            (
                [
                    labels.name(b["client"]),
                    labels.when(b["first"]),
                    labels.when(b["last"]),
                    b["failures"],
                    ", ".join(b["users"]),
                ]
                for b in f["bursts"]["list"]
            ),
        ),
        f"## {t['privileged_activity']}",
        "",
        labels.rule(p["rule"]),
        "",
        *_table(
            [
                "account",
                "why privileged",
                "events",
                "connections",
                "failed logins",
                "statements",
                "first (UTC)",
                "last (UTC)",
            ],
            (
                [
                    u["user"],
                    u["why"],
                    f"{u['events']:,}",
                    f"{u['connections']:,}",
                    f"{u['failed_logins']:,}",
                    f"{u['statements']:,}",
                    labels.when(u["first_seen"]),
                    labels.when(u["last_seen"]),
                ]
                for u in p["users"]
            ),
        ),
        f"## {t['privileged_sessions']}",
        "",
        labels.SESSIONS_LEAD,
        "",
        *_table(
            [
                "start (UTC)",
                "end (UTC)",
                "account",
                "client",
                "server #connection",
                "events",
                "account changes",
                "schema changes",
                "failed statements",
                "notes",
                "timeline",
            ],
            (
                [
                    labels.when(s["start"]),
                    labels.when(s["end"]),
                    ", ".join(s["users"]),
                    labels.name(s["client"]),
                    labels.session_place(s),
                    f"{s['events']:,}",
                    s["account_changes"],
                    s["schema_changes"],
                    s["failed_statements"],
                    labels.session_flags(s),
                    f"`{s['timeline']}` · [Dashboards]({s['dashboards']})",
                ]
                for s in d["privileged_sessions"]["sessions"]
            ),
        ),
        f"## {t['outside_business_hours']}",
        "",
        f"Business hours: {o['business_hours']}. {o['events']:,} events outside them, including "
        f"{o['account_changes']:,} account or privilege changes and {o['schema_changes']:,} schema changes. "
        + labels.rule(o["rule"]),
        "",
        *_table(["user", "events outside business hours"], _limited(o["by_user"], top, "user", "events")),
        f"## {t['new_clients']}",
        "",
        f"{len(n['new']):,} of the {n['clients_in_period']:,} clients of the period sent nothing in the "
        f"{n['lookback']['days']:,} days before it ({labels.when(n['lookback']['since'])} — "
        f"{labels.when(n['lookback']['until'])}). " + labels.rule(n["rule"]),
        "",
        *_table(
            ["client", "first seen (UTC)", "last seen (UTC)", "events", "failed logins", "users"],
            (
                [
                    c2["client"],
                    labels.when(c2["first_seen"]),
                    labels.when(c2["last_seen"]),
                    f"{c2['events']:,}",
                    f"{c2['failed_logins']:,}",
                    ", ".join(f"{labels.name(u['user'])} ({u['events']:,})" for u in c2["users"]),
                ]
                for c2 in n["new"]
            ),
        ),
        *_statements(d["top_statements"], t["top_statements"], top),
        "## Definitions",
        "",
        *_table(
            ["section", "Lucene query (as in the Dashboards saved searches)"],
            ([k, f"`{v}`"] for k, v in c["definitions"].items()),
        ),
    ]
    return "\n".join(out).rstrip() + "\n"
