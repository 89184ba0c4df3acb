"""The definitions in mappings/: valid, self-consistent, and in the shapes the OpenSearch APIs document."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

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
        fields |= set(re.findall(r"([A-Za-z_@][\w.@]*):", query))
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


def test_every_field_used_exists_in_the_template() -> None:
    from handler.mappings import ACTIVITY_PATTERN_ID, activity_index_template_fields

    audit, activity = template_fields(), template_fields(activity_index_template_fields())
    for o in saved_objects():
        is_activity = o["id"] == ACTIVITY_PATTERN_ID or any(r["id"] == ACTIVITY_PATTERN_ID for r in o["references"])
        known = activity if is_activity else audit
        assert used_fields(o) <= known, (o["id"], used_fields(o) - known)


def test_what_the_issue_asks_for_is_there() -> None:
    by_type: dict[str, list[str]] = {}
    for o in saved_objects():
        by_type.setdefault(o["type"], []).append(o["id"])
    assert len(by_type["index-pattern"]) == 2 and len(by_type["dashboard"]) == 1
    assert len([s for s in by_type["search"] if s.startswith("rdsaudit-")]) == 5
    assert len([s for s in by_type["search"] if s.startswith("rdsactivity-")]) == 3
    assert len(by_type["visualization"]) == 6
    for pattern in [o for o in saved_objects() if o["type"] == "index-pattern"]:
        assert pattern["attributes"]["timeFieldName"] == "@timestamp"


def test_prefix_rewritten_everywhere() -> None:
    assert index_template("audit")["index_patterns"] == ["audit-*"]
    assert ism_policy("audit", 30)["policy"]["ism_template"][0]["index_patterns"] == ["audit-*"]
    assert all(
        p["index_patterns"] == ["audit-*", "act-*"]
        for r in security_roles("audit", "act").values()
        for p in r["index_permissions"]
    )
    assert '"title":"audit-*"' in dashboards_ndjson("audit")
    assert '"title":"activity-*"' in dashboards_ndjson("audit", "activity")


def test_ism_policy_shape() -> None:
    policy = ism_policy("rdsaudit", 90)["policy"]
    assert policy["default_state"] == "hot"
    assert [s["name"] for s in policy["states"]] == ["hot", "delete"]
    assert policy["states"][0]["transitions"] == [{"state_name": "delete", "conditions": {"min_index_age": "90d"}}]
    assert policy["states"][1]["actions"] == [{"delete": {}}]
    warm = ism_policy("rdsaudit", 365, 30)["policy"]
    assert [s["name"] for s in warm["states"]] == ["hot", "warm", "delete"]
    assert warm["states"][0]["transitions"][0] == {"state_name": "warm", "conditions": {"min_index_age": "30d"}}
    assert warm["states"][1]["transitions"][0]["conditions"] == {"min_index_age": "365d"}
    names = {s["name"] for s in warm["states"]}
    assert all(t["state_name"] in names for s in warm["states"] for t in s["transitions"])


def test_writer_role_is_least_privilege() -> None:
    roles = security_roles("rdsaudit")
    writer = roles["rdsaudit_writer"]
    actions = {a for p in writer["index_permissions"] for a in p["allowed_actions"]}
    assert actions == {
        "indices:data/write/bulk*",
        "indices:data/write/index",
        "indices:admin/create",
        "indices:admin/mapping/put",
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


@pytest.mark.parametrize("field", ["sql.keyword", "sql.lower"])
def test_sql_keywords_stay_under_the_term_limit(field: str) -> None:
    sub = field.split(".")[1]
    spec = index_template("rdsaudit")["template"]["mappings"]["properties"]["sql"]["fields"][sub]
    assert spec["ignore_above"] <= 8191
