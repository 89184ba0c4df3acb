"""The HTML report: one self-contained file (inline CSS and SVG, the data embedded as JSON, no script, no network;
a Content-Security-Policy forbids any fetch), readable on screen and in print."""

from __future__ import annotations

from string import Template
from typing import Any

from handler.report import html_sections, labels
from handler.report.html_blocks import e, num, table, txt
from handler.report.html_style import CSS
from handler.report.integrity import embed

PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rdsaudit $version">
<title>$title</title><style>$css</style></head>
<body>
<h1>$title</h1>
<p class="lead">$lead</p>
$body
<footer>Made by rdsaudit $version at $generated. The report's data is embedded in this file as JSON
(<code>#rdsaudit-data</code>); its SHA-256 is <code>$sha</code>.
Check it with <code>rdsaudit report --verify FILE</code>.</footer>
$data
</body></html>
""")


def _coverage(c: dict[str, Any], sha: str) -> str:
    p = c["period"]
    facts = [
        ("Period (UTC)", f"{labels.when(p['since'])} — {labels.when(c['period']['until'])} (until excluded)"),
        ("Endpoint", c["endpoint"]),
        ("Engine", c["engine"]),
        ("Index pattern", c["index_pattern"]),
        ("Clusters / instances", ", ".join(c["clusters_filter"]) or "all"),
        ("Accounts", ", ".join(c.get("accounts_filter", [])) or "all"),
        ("Regions", ", ".join(c.get("regions_filter", [])) or "all"),
        ("Documents in the period", f"{c['documents']:,}"),
        ("Paging", labels.paging(c)),
        ("Consistency", labels.consistency(c)),
        ("Generated (UTC)", labels.when(c["generated_at"])),
        ("rdsaudit version", c["rdsaudit_version"]),
        ("SHA-256 of the data", sha),
    ]
    facts_html = (
        '<table class="facts"><tbody>'
        + "".join(
            f'<tr><th>{e(k)}</th><td class="{"warn" if str(v).startswith("WARNING") else ""}">{e(v)}</td></tr>'
            for k, v in facts
        )
        + "</tbody></table>"
    )
    # one line per daily index would run to ~90 rows a quarter: a list flowing in columns keeps it to a screen
    indices = (
        '<ul class="indices">'
        + "".join(f"<li><span>{e(i['index'])}</span> <b>{i['documents']:,}</b></li>" for i in c["indices"])
        + "</ul>"
    )
    sources = table(
        ["account", "region", "cluster", "instance", "documents"],
        (
            [*(txt(labels.name(s[k])) for k in ("account", "region", "cluster", "instance")), num(s["documents"])]
            for s in c["sources"]
        ),
        numeric=[4],
    )
    return (
        f"{facts_html}<h3>Clusters and instances</h3>{sources}"
        f"<h3>Documents per index ({len(c['indices']):,} indices)</h3>{indices}"
    )


def _cards(d: dict[str, Any]) -> str:
    f = d["failed_logins"]
    figures = [  # (what, how many, the section that shows them)
        ("account and privilege changes", d["account_changes"]["count"], "account_changes"),
        ("schema changes", d["schema_changes"]["count"], "schema_changes"),
        ("failed logins", f["total"], "failed_logins"),
        ("failed-login bursts", len(f["bursts"]["list"]), "bursts"),
        ("privileged accounts active", d["privileged_activity"]["active_users"], "privileged_activity"),
        ("events outside business hours", d["outside_business_hours"]["events"], "outside_business_hours"),
        ("new clients", len(d["new_clients"]["new"]), "new_clients"),
    ]
    cards = "".join(f'<a class="card" href="#{a}"><b>{n:,}</b>{e(t)}</a>' for t, n, a in figures)
    return f'<nav class="cards">{cards}</nav>'


def _changes(section: dict[str, Any], with_db: bool) -> str:
    headers = [
        "time (UTC)",
        "user",
        "client",
        "cluster / instance",
        *(["db"] if with_db else []),
        "statement",
        "result",
        "outside hours",
    ]
    rows = []
    for r in section["rows"]:
        rows.append(
            [
                txt(labels.when(r["time"]), "time"),
                txt(labels.name(r["user"])),
                txt(labels.name(r["client"])),
                txt(labels.place(r)),
                *([txt(r["db"])] if with_db else []),
                txt(labels.statement(r), "sql"),
                txt(labels.result(r["retcode"]), "" if r["retcode"] in (0, None) else "flag"),
                ('<span class="flag">yes</span>', "") if r["outside_business_hours"] else ("", ""),
            ]
        )
    return f"<p>{section['count']:,} in the period, oldest first; statements as stored (passwords masked).</p>" + table(
        headers, rows
    )


def _definitions(c: dict[str, Any]) -> str:
    rows = [[txt(k.replace("_", " ")), (f"<code>{e(v)}</code>", "")] for k, v in c["definitions"].items()]
    return (
        "<p>Sections use the saved searches' own Lucene queries (the same as in Dashboards), within the period"
        + (" and clusters" if c["clusters_filter"] else "")
        + ":</p>"
        + table(["section", "query"], rows)
        + f"<p>Privileged accounts: {e(', '.join(c['settings']['privileged_users']))}, "
        "and anyone who ran account or privilege statements.</p>"
    )


def _h2(anchor: str, title: str) -> str:
    return f'<h2 id="{anchor}">{e(title)}</h2>'


def render_html(report: dict[str, Any], top: int = 25) -> str:
    d, sha = report["data"], report["sha256"]
    c = d["coverage"]
    t = labels.TITLES
    body = [
        _cards(d),
        _h2("coverage", "Coverage"),
        _coverage(c, sha),
        _h2("account_changes", t["account_changes"]),
        _changes(d["account_changes"], with_db=False),
        _h2("schema_changes", t["schema_changes"]),
        _changes(d["schema_changes"], with_db=True),
        _h2("failed_logins", t["failed_logins"]),
        html_sections.failed_logins(d["failed_logins"], top),
        _h2("privileged_activity", t["privileged_activity"]),
        html_sections.privileged(d["privileged_activity"]),
        _h2("privileged_sessions", t["privileged_sessions"]),
        html_sections.privileged_sessions(d["privileged_sessions"]),
        _h2("outside_business_hours", t["outside_business_hours"]),
        html_sections.outside_hours(d["outside_business_hours"], top),
        _h2("new_clients", t["new_clients"]),
        html_sections.new_clients(d["new_clients"]),
        _h2("top_statements", t["top_statements"]),
        html_sections.top_statements(d["top_statements"], top),
        _h2("definitions", "Definitions"),
        _definitions(c),
    ]
    period = c["period"]
    return PAGE.substitute(
        title="Database audit report",
        lead=e(
            f"{labels.when(period['since'])} to {labels.when(period['until'])} UTC · "
            f"{c['index_pattern']} on {c['endpoint']}"
        ),
        body="\n".join(body),
        css=CSS,
        version=e(c["rdsaudit_version"]),
        generated=e(labels.when(c["generated_at"])) + " UTC",
        sha=e(sha),
        data=embed(report),
    )
