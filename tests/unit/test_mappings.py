"""The definitions in mappings/: valid, self-consistent, and in the shapes the OpenSearch APIs document."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from handler.mappings import dashboards_ndjson, index_template, ism_policy, saved_objects, security_roles


def template_fields(properties: dict[str, Any] | None = None) -> set[str]:
    out = set()

    def walk(props: dict[str, Any], prefix: str = "") -> None:
        for name, spec in props.items():
            out.add(prefix + name)
            walk(spec.get("properties", {}), prefix + name + ".")
            for sub in spec.get("fields", {}):
                out.add(f"{prefix}{name}.{sub}")

    walk(properties or index_template("rdsaudit")["template"]["mappings"]["properties"])
    return out


def used_fields(obj: dict[str, Any]) -> set[str]:
    attrs = obj["attributes"]
    fields: set[str] = set(attrs.get("columns", []))
    if obj["type"] == "index-pattern":
        fields.add(attrs["timeFieldName"])
        fields |= set(json.loads(attrs["fieldFormatMap"]))
    for name, _ in attrs.get("sort", []):
        fields.add(name)
    if "visState" in attrs:
        for agg in json.loads(attrs["visState"])["aggs"]:
            if "field" in agg["params"]:
                fields.add(agg["params"]["field"])
    source = attrs.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if source:
        query = json.loads(source)["query"]["query"]
        # `sql\*lower:` names a field pattern (sql.lower before template version 2, sql_lower since)
        fields |= {f.replace("\\*", "*") for f in re.findall(r"([A-Za-z_@](?:[\w.@]|\\\*)*):", query)}
    return fields


def test_ndjson_is_valid_with_unique_ids_and_resolving_references() -> None:
    objects = saved_objects()
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys))
    for o in objects:
        for ref in o.get("references", []):
            assert (ref["type"], ref["id"]) in keys, (o["id"], ref)
        for attr in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fieldFormatMap"):
            if attr in o["attributes"]:
                json.loads(o["attributes"][attr])
        source = o["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if source:
            parsed = json.loads(source)
            if "indexRefName" in parsed:
                assert parsed["indexRefName"] in {r["name"] for r in o["references"]}
        if "panelsJSON" in o["attributes"]:
            names = {p["panelRefName"] for p in json.loads(o["attributes"]["panelsJSON"])}
            assert names == {r["name"] for r in o["references"]}
        if "savedSearchRefName" in o["attributes"]:
            assert o["attributes"]["savedSearchRefName"] in {r["name"] for r in o["references"]}


def _pattern_of(obj: dict[str, Any], objects: dict[str, dict[str, Any]]) -> str:
    """The index pattern an object reads, followed through the saved search a visualization may be built on."""
    if obj["type"] == "index-pattern":
        return str(obj["id"])
    for ref in obj["references"]:
        if ref["type"] == "index-pattern":
            return str(ref["id"])
    (search,) = [objects[r["id"]] for r in obj["references"] if r["type"] == "search"]
    return _pattern_of(search, objects)


FINDINGS_PATTERN_ID = "rdsaudit-findings-index-pattern"


def test_every_field_used_exists_in_the_template() -> None:
    from handler.mappings import ACTIVITY_PATTERN_ID, activity_index_template_fields, findings_index_template

    findings = findings_index_template("rdsaudit")["template"]["mappings"]["properties"]
    known = {
        "rdsaudit-index-pattern": template_fields(),
        ACTIVITY_PATTERN_ID: template_fields(activity_index_template_fields()),
        FINDINGS_PATTERN_ID: template_fields(findings),
    }
    objects = {o["id"]: o for o in saved_objects() if o["type"] != "dashboard"}
    for o in objects.values():
        fields = known[_pattern_of(o, objects)]
        unknown = {f for f in used_fields(o) if not fnmatch.filter(fields, f)}
        assert not unknown, (o["id"], unknown)


def test_the_findings_objects_aggregate_what_the_findings_template_can() -> None:
    """Terms and sums need doc values: keywords, numbers and dates, never `text` or an unindexed field."""
    from handler.mappings import findings_index_template

    properties = findings_index_template("rdsaudit")["template"]["mappings"]["properties"]
    objects = {o["id"]: o for o in saved_objects() if o["type"] != "dashboard"}
    findings = [o for o in objects.values() if _pattern_of(o, objects) == FINDINGS_PATTERN_ID]
    assert {o["type"] for o in findings} == {"index-pattern", "search", "visualization"}
    assert all(o["id"].startswith("rdsaudit-findings-") for o in findings)  # one family, renamed with the prefix
    for o in findings:
        for agg in json.loads(o["attributes"].get("visState", '{"aggs": []}'))["aggs"]:
            if "field" in agg["params"]:
                spec = properties[agg["params"]["field"]]
                assert spec["type"] in {"keyword", "long", "date_nanos"} and spec.get("index", True), (o["id"], agg)
    (dashboard,) = [o for o in saved_objects() if o["id"] == "rdsaudit-findings-dashboard"]
    assert {r["id"] for r in dashboard["references"]} == {o["id"] for o in findings if o["type"] != "index-pattern"}


def test_what_the_issue_asks_for_is_there() -> None:
    by_type: dict[str, list[str]] = {}
    for o in saved_objects():
        by_type.setdefault(o["type"], []).append(o["id"])
    assert sorted(by_type["index-pattern"]) == [ACTIVITY_ID, FINDINGS_PATTERN_ID, "rdsaudit-index-pattern"]
    assert sorted(by_type["dashboard"]) == ["rdsaudit-dashboard", "rdsaudit-findings-dashboard"]
    assert len([s for s in by_type["search"] if s.startswith("rdsaudit-")]) == 7  # one connection's; findings
    assert len([s for s in by_type["search"] if s.startswith("rdsactivity-")]) == 3
    findings = [v for v in by_type["visualization"] if v.startswith("rdsaudit-findings-vis-")]
    # findings over time, by severity, by rule, by client, by user
    assert len(findings) == 5
    assert (
        len(by_type["visualization"]) - len(findings) == 9
    )  # top statements; the account, region and cluster filter, events by account
    for pattern in [o for o in saved_objects() if o["type"] == "index-pattern"]:
        assert pattern["attributes"]["timeFieldName"] == "@timestamp"


ACTIVITY_ID = "rdsactivity-index-pattern"


def test_prefix_rewritten_everywhere() -> None:
    assert index_template("audit")["index_patterns"] == ["audit-*"]
    assert ism_policy("audit", 30)["policy"]["ism_template"][0]["index_patterns"] == ["audit-2*"]  # daily indices only
    patterns = {
        name: [p["index_patterns"] for p in r["index_permissions"]]
        for name, r in security_roles("audit", "act").items()
    }
    assert patterns == {
        # the daily indices only: not the findings nor the state index (the notifier's lease and marks)
        "rdsaudit_writer": [[*(f"audit-{d}*" for d in "0123456789"), "act-*"]],
        "rdsaudit_reader": [["audit-*", "act-*"]],
        "rdsaudit_detector": [["audit-findings-*"]],  # it reads as rdsaudit_reader
    }
    assert '"title":"audit-*,-audit-findings-*"' in dashboards_ndjson("audit")
    assert '"title":"audit-findings-*,-audit-findings-state"' in dashboards_ndjson("audit")
    ids = {o["id"] for o in saved_objects("audit")}
    assert {"audit-findings-index-pattern", "audit-findings-search", "audit-findings-dashboard"} <= ids
    assert not [i for i in ids if i.startswith("rdsaudit")]
    assert '"title":"activity-*"' in dashboards_ndjson("audit", "activity")


def _flow(body: dict[str, Any]) -> list[tuple[str, list[str], str | None]]:
    """(state, its actions, the age it leaves at) in order; every transition names the state after it."""
    states = body["policy"]["states"]
    out = []
    for state, following in zip(states, [*states[1:], None], strict=True):
        transitions = state["transitions"]
        assert [t["state_name"] for t in transitions] == ([following["name"]] if following else [])
        age = transitions[0]["conditions"]["min_index_age"] if transitions else None
        out.append((state["name"], [next(iter(a)) for a in state["actions"]], age))
    return out


def test_ism_policy_shape() -> None:
    policy = ism_policy("rdsaudit", 90)["policy"]
    assert policy["default_state"] == "hot"
    # a day's index, closed: read-only and merged into one segment after 2 days, then kept until deleted
    assert _flow(ism_policy("rdsaudit", 90)) == [
        ("hot", [], "2d"),
        ("closed", ["read_only", "force_merge"], "90d"),
        ("delete", ["delete"], None),
    ]
    assert policy["states"][1]["actions"][1] == {"force_merge": {"max_num_segments": 1}}
    assert _flow(ism_policy("rdsaudit", 365, 30))[0] == ("hot", [], "30d")
    assert _flow(ism_policy("rdsaudit", 1)) == [("hot", [], "1d"), ("delete", ["delete"], None)]


def test_ism_tiers_of_amazon_opensearch_service() -> None:
    tiers = ism_policy("rdsaudit", 365, ultrawarm_after_days=7, cold_after_days=30)
    assert _flow(tiers) == [
        ("hot", [], "2d"),
        ("closed", ["read_only", "force_merge"], "7d"),
        ("ultrawarm", ["warm_migration"], "30d"),
        ("cold", ["cold_migration"], "365d"),
        ("delete", ["cold_delete"], None),  # an index in cold storage is deleted with cold_delete
    ]
    assert tiers["policy"]["states"][3]["actions"][0]["cold_migration"] == {"timestamp_field": "@timestamp"}
    warm_only = ism_policy("rdsaudit", 365, ultrawarm_after_days=7)
    assert [s for s, _, _ in _flow(warm_only)] == ["hot", "closed", "ultrawarm", "delete"]
    assert _flow(warm_only)[-1] == ("delete", ["delete"], None)


def test_writer_role_is_least_privilege() -> None:
    roles = security_roles("rdsaudit")
    writer = roles["rdsaudit_writer"]
    actions = {a for p in writer["index_permissions"] for a in p["allowed_actions"]}
    assert actions == {
        "indices:data/write/bulk*",
        "indices:data/write/index",
        "indices:admin/create",
        "indices:admin/mapping/put",
        "indices:admin/refresh*",  # an operator's replay leaves what it wrote searchable (Runtime.make_searchable)
    }
    assert not any("delete" in a or "read" in a or (a.endswith("*") and ":" not in a) for a in actions)
    assert set(writer["cluster_permissions"]) == {
        "indices:data/write/bulk",
        "indices:admin/index_template/get",
        "indices:admin/template/get",  # the legacy template check on Elasticsearch 7.0-7.7
        "cluster:monitor/main",  # GET /: which engine and version, once per cold start
    }
    reader = roles["rdsaudit_reader"]
    assert {a for p in reader["index_permissions"] for a in p["allowed_actions"]} >= {"read"}
    assert not any("write" in a for p in reader["index_permissions"] for a in p["allowed_actions"])


def test_sql_keywords_stay_under_the_term_limit() -> None:
    from handler.transforms.document import SQL_LOWER_CHARS

    properties = index_template("rdsaudit")["template"]["mappings"]["properties"]
    # 4 bytes a character at most: the prefix always fits Lucene's 32,766-byte term limit, and never hits ignore_above
    assert SQL_LOWER_CHARS <= properties["sql_lower"]["ignore_above"] <= 8191
    assert properties["sql_lower"]["normalizer"] == "rdsaudit_lowercase"


def test_the_template_is_built_for_cost() -> None:
    """Version 2 (issue 24): no keyword copies of whole statements, nothing indexed that no search uses."""
    body = index_template("rdsaudit")
    settings, properties = body["template"]["settings"]["index"], body["template"]["mappings"]["properties"]
    assert body["version"] == 2 and settings["codec"] == "best_compression"
    assert properties["sql"] == {"type": "text", "norms": False}  # no sql.keyword, no sql.lower
    assert properties["sql_fingerprint"] == {"type": "keyword", "index": False, "doc_values": False}
    assert properties["sql_fingerprint_hash"]["type"] == "keyword"
    assert properties["sql_lower"]["doc_values"] is False  # searched, never aggregated
    assert properties["table"]["type"] == "keyword" and properties["table"].get("doc_values", True)  # aggregated


def test_engine_variants_come_from_the_one_definition() -> None:
    from handler.setup.engine import Engine

    portable = index_template("rdsaudit")
    for engine in (Engine("opensearch", "2.19.6"), Engine("opensearch", "1.3.20"), Engine("elasticsearch", "7.7.1")):
        assert index_template("rdsaudit", engine) == portable, engine
    serverless = index_template("rdsaudit", Engine("aoss", collection_type="search"))
    assert "codec" not in serverless["template"]["settings"]["index"]
    assert serverless["template"]["mappings"] == portable["template"]["mappings"]


def test_findings_are_outside_every_audit_pattern_and_have_their_own_template() -> None:
    from handler.mappings import findings_index_template, index_template
    from handler.read.patterns import audit_pattern, findings_index, findings_pattern

    assert audit_pattern("audit") == "audit-*,-audit-findings-*"
    assert findings_index("audit", "2026.11.10").startswith(findings_pattern("audit")[:-1])
    body = findings_index_template("audit")
    assert body["index_patterns"] == ["audit-findings-*"]
    assert body["priority"] > index_template("audit")["priority"]  # the audit template's audit-* matches them too
