"""The HTML of the report's analytic sections: failed logins, privileged accounts, outside hours, new clients."""

from __future__ import annotations

from typing import Any

from handler.report import charts, labels
from handler.report.html_blocks import e, figure, limited, num, table, txt


def failed_logins(f: dict[str, Any], top: int) -> str:
    interval = f["series"]["interval"]
    parts = [
        f"<p>{f['total']:,} failed logins by {f['distinct_users']:,} users from {f['distinct_clients']:,} clients.</p>"
    ]
    if f["total"]:
        points = [(labels.bucket_label(b["start"], interval), [b["count"]]) for b in f["series"]["buckets"]]
        parts.append(
            figure(
                charts.columns("failed-logins-series", "Failed logins per " + interval, points),
                f"Failed logins per {interval} (UTC)",
            )
        )
        users = [(labels.name(u["user"]), u["failures"]) for u in f["by_user"][:15]]
        clients = [(labels.name(c["client"]), c["failures"]) for c in f["by_client"][:15]]
        parts.append(
            '<div class="charts">'
            + figure(charts.bars("failed-logins-users", "Top users", users), "Top users by failed logins")
            + figure(charts.bars("failed-logins-clients", "Top clients", clients), "Top clients by failed logins")
            + "</div>"
        )
    parts.append('<div class="charts"><div><h3>By user</h3>')
    parts.append(
        table(
            ["user", "failures"],
            limited(f["by_user"], top, lambda u: [txt(labels.name(u["user"])), num(u["failures"])], "failures"),
            numeric=[1],
        )
    )
    parts.append("</div><div><h3>By client</h3>")
    parts.append(
        table(
            ["client", "failures"],
            limited(f["by_client"], top, lambda c: [txt(labels.name(c["client"])), num(c["failures"])], "failures"),
            numeric=[1],
        )
    )
    parts.append(
        f"</div></div><h3 id='bursts'>Bursts</h3><p>{e(f['bursts']['definition'])}. "
        f"{e(labels.rule(f['bursts']['rule']))} {e(labels.bursts_note(f['bursts']))}</p>"
    )
    parts.append(
        table(
            ["client", "first (UTC)", "last (UTC)", "failures", "users tried", "instances"],
            (
                [
                    txt(labels.name(b["client"])),
                    txt(labels.when(b["first"]), "time"),
                    txt(labels.when(b["last"]), "time"),
                    num(b["failures"]),
                    txt(", ".join(b["users"])),
                    txt(", ".join(b["instances"])),
                ]
                for b in f["bursts"]["list"]
            ),
            numeric=[3],
        )
    )
    return "".join(parts)


def privileged(p: dict[str, Any]) -> str:
    active = [u for u in p["users"] if u["events"]]
    parts = [f"<p>{e(labels.rule(p['rule']))}</p>"]
    if active:
        parts.append(
            figure(
                charts.bars(
                    "privileged-events",
                    "Events per privileged account",
                    [(u["user"], u["events"]) for u in active],
                    width=charts.WIDTH,
                ),
                "Events per privileged account",
            )
        )
    rows = [
        [
            txt(u["user"]),
            txt(u["why"]),
            num(u["events"]),
            num(u["connections"]),
            num(u["failed_logins"]),
            num(u["statements"]),
            txt(
                ", ".join(f"{labels.name(c['client'])} ({c['events']:,})" for c in u["clients"][:5])
                + (f" … {len(u['clients']) - 5} more" if len(u["clients"]) > 5 else "")
            ),
            txt(labels.when(u["first_seen"]), "time"),
            txt(labels.when(u["last_seen"]), "time"),
        ]
        for u in p["users"]
    ]
    parts.append(
        table(
            [
                "account",
                "why privileged",
                "events",
                "connections",
                "failed logins",
                "statements",
                "clients",
                "first (UTC)",
                "last (UTC)",
            ],
            rows,
            numeric=[2, 3, 4, 5],
        )
    )
    return "".join(parts)


def privileged_sessions(p: dict[str, Any]) -> str:
    rows = [
        [
            txt(labels.when(s["start"]), "time"),
            txt(labels.when(s["end"]), "time"),
            txt(", ".join(s["users"])),
            txt(labels.name(s["client"])),
            txt(labels.session_place(s)),
            num(s["events"]),
            num(s["account_changes"]),
            num(s["schema_changes"]),
            num(s["failed_statements"]),
            txt(labels.session_flags(s)),
            (f"<code>{e(s['timeline'])}</code><br><small>Dashboards: <code>{e(s['dashboards'])}</code></small>", ""),
        ]
        for s in p["sessions"]
    ]
    headers = ["start (UTC)", "end (UTC)", "account", "client", "server #connection", "events", "account changes",
               "schema changes", "failed statements", "notes", "timeline"]  # fmt: skip
    return f"<p>{e(labels.SESSIONS_LEAD)}</p>" + table(headers, rows, numeric=[5, 6, 7, 8])


def outside_hours(o: dict[str, Any], top: int) -> str:
    parts = [
        f"<p>Business hours: {e(o['business_hours'])}. {o['events']:,} events outside them, including "
        f"{o['account_changes']:,} account or privilege changes and {o['schema_changes']:,} schema changes. "
        f"{e(labels.rule(o['rule']))}</p>"
    ]
    hours = [(f"{h['hour']:02d}", [h["inside"], h["outside"]]) for h in o["by_local_hour"]]
    days = [(d["day"], [d["inside"], d["outside"]]) for d in o["by_local_weekday"]]
    if any(sum(v) for _, v in hours):
        drawn = [
            figure(
                charts.columns(name, label, points, series=("inside", "outside"), every=every, width=charts.WIDTH // 2),
                f"{label} (red: outside business hours)",
            )
            for name, label, points, every in (
                ("outside-hours-by-hour", "Events by local hour", hours, 3),
                ("outside-hours-by-day", "Events by local weekday", days, 1),
            )
        ]
        parts.append(f'<div class="charts">{"".join(drawn)}</div>')
    parts.append(
        table(
            ["user", "events outside business hours"],
            limited(o["by_user"], top, lambda u: [txt(labels.name(u["user"])), num(u["events"])], "events"),
            numeric=[1],
        )
    )
    return "".join(parts)


def new_clients(n: dict[str, Any]) -> str:
    back = n["lookback"]
    rows = [
        [
            txt(c["client"]),
            txt(labels.when(c["first_seen"]), "time"),
            txt(labels.when(c["last_seen"]), "time"),
            num(c["events"]),
            num(c["failed_logins"]),
            txt(", ".join(f"{labels.name(u['user'])} ({u['events']:,})" for u in c["users"])),
        ]
        for c in n["new"]
    ]
    return (
        f"<p>{len(n['new']):,} of the {n['clients_in_period']:,} clients of the period sent nothing in the "
        f"{back['days']:,} days before it ({e(labels.when(back['since']))} — {e(labels.when(back['until']))}, "
        f"{n['clients_in_lookback']:,} clients). Clients are compared as stored (a host with a port is "
        f"another client). {e(labels.rule(n['rule']))}</p>"
        + table(
            ["client", "first seen (UTC)", "last seen (UTC)", "events", "failed logins", "users"], rows, numeric=[3, 4]
        )
    )


def top_statements(s: dict[str, Any], top: int) -> str:
    headers = ["statement (literals as ?)", "fingerprint hash", "events", "failures", "users"]

    def rows(items: list[dict[str, Any]], users: bool = True) -> list[list[tuple[str, str]]]:
        out = []
        for i in items[:top]:
            row = [txt(i["fingerprint"], "sql"), txt(i["hash"]), num(i["events"]), num(i["failures"])]
            if users:
                row.append(txt(", ".join(f"{labels.name(u['user'])} ({u['events']:,})" for u in i["users"])))
            out.append(row)
        return out

    parts = [f"<p>{e(labels.statements_lead(s))}</p>", "<h3>By count</h3>"]
    parts.append(table(headers, rows(s["by_count"]), numeric=[2, 3]))
    parts += ["<h3>By failures</h3>", table(headers, rows(s["by_failures"]), numeric=[2, 3])]
    parts.append("<h3>By user</h3>")
    for u in s["by_user"][:top]:
        parts.append(f"<h4>{e(labels.name(u['user']))} ({u['events']:,} statements)</h4>")
        parts.append(table(headers[:4], rows(u["statements"], users=False), numeric=[2, 3]))
    return "".join(parts)
