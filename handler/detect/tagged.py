"""Event rules' findings: the documents the transform tagged (`detections`), one finding per rule, connection
(server and connection id, user, client) and UTC hour, read with one composite aggregation."""

from __future__ import annotations

from typing import Any

from handler.detect.catalog import Catalog
from handler.detect.findings import EXAMPLE_FIELDS, EXAMPLES, Finding, lucene_value, ms_iso
from handler.read.period import Period
from handler.read.queries import all_of, in_period

HOUR_MS = 3_600_000


def _terms(name: str) -> dict[str, Any]:
    return {name: {"terms": {"field": name, "missing_bucket": True}}}


def tagged_findings(reader: Any, catalog: Catalog, run: Period) -> list[Finding]:
    rules = {r.id: r for r in catalog.enabled("event")}
    if not rules:
        return []
    query = all_of({"terms": {"detections": sorted(rules)}}, in_period(run))
    hour = {"hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}
    sources = [_terms("detections"), _terms("server"), _terms("connid"), _terms("user"), _terms("client"), hour]
    aggs = {
        "first": {"min": {"field": "@timestamp"}},
        "last": {"max": {"field": "@timestamp"}},
        "examples": {
            "top_hits": {
                "size": EXAMPLES,
                "sort": [{"@timestamp": {"order": "asc"}}],
                "_source": {"includes": EXAMPLE_FIELDS},
            }
        },
    }
    found = []
    for b in reader.composite(query, sources, aggs):
        key = b["key"]
        rule = rules.get(key["detections"])
        if rule is None:  # a document tagged by a rule since disabled, or with other rules as well
            continue
        rows = [{**h["_source"], "_index": h["_index"], "_id": h["_id"]} for h in b["examples"]["hits"]["hits"]]
        identity = {name: key[name] for name in ("server", "connid", "user", "client") if key[name] is not None}
        start = key["hour"]
        finding = Finding(
            rule,
            identity,
            ms_iso(start),
            ms_iso(start + HOUR_MS),
            b["doc_count"],
            b["first"]["value_as_string"],
            b["last"]["value_as_string"],
            rows,
        )
        finding.query = f"detections:{lucene_value(rule.id)} AND " + " AND ".join(
            f"{k}:{lucene_value(v)}" for k, v in identity.items()
        )
        found.append(finding)
    return found
