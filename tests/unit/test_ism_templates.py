"""Which retention policy ISM attaches to each index `rdsaudit setup`'s policies can meet (tests/unit/ism_model.py
models the plugin's choice): daily audit indices get the audit retention, daily findings the findings retention,
the detect job's state index neither, and another prefix's indices nothing of ours."""

from __future__ import annotations

import pytest

from handler.mappings import findings_ism_policy, ism_policy
from handler.read.patterns import findings_index, state_index
from handler.transforms.document import index_name
from tests.unit.ism_model import Template, conflicts, policy_for, simple_match, templates


def installed(*prefixes: str) -> list[Template]:
    out: list[Template] = []
    for prefix in prefixes:
        out += templates(f"{prefix}-retention", ism_policy(prefix, 90))
        out += templates(f"{prefix}-findings-retention", findings_ism_policy(prefix, 400))
    return out


@pytest.mark.parametrize(
    ("index", "policy"),
    [
        (index_name("rdsaudit", "2026.11.10"), "rdsaudit-retention"),
        (index_name("rdsaudit", "2099.01.01"), "rdsaudit-retention"),
        (findings_index("rdsaudit", "2026.11.10"), "rdsaudit-findings-retention"),
        (state_index("rdsaudit"), None),  # the detect job's memory: no retention may delete it
        ("rdsaudit-findings", None),
        ("rdsaudit-deadletters", None),  # not a daily index: nothing of ours deletes it
        (index_name("audit", "2026.11.10"), "audit-retention"),  # a second prefix in the same cluster
        (findings_index("audit", "2026.11.10"), "audit-findings-retention"),
        (state_index("audit"), None),
        (index_name("rdsauditx", "2026.11.10"), None),  # a prefix that merely starts like ours
        ("rdsactivity-2026.11.10", None),  # Activity Streams indices are not the audit policy's
        (".rdsaudit-2026.11.10", None),  # dot-names are never managed by a template
    ],
)
def test_each_index_gets_its_policy(index: str, policy: str | None) -> None:
    assert policy_for(index, installed("rdsaudit", "audit")) == policy


def test_the_old_audit_pattern_took_the_findings_and_the_state_index() -> None:
    """Why the patterns are what they are: `<prefix>-*` (before this release) also matched the findings and the
    state index, at priority 100, so the audit retention deleted them after 90 days."""
    old = ism_policy("rdsaudit", 90)
    old["policy"]["ism_template"][0]["index_patterns"] = ["rdsaudit-*"]
    assert policy_for(state_index("rdsaudit"), templates("rdsaudit-retention", old)) == "rdsaudit-retention"
    assert policy_for(state_index("rdsaudit"), installed("rdsaudit")) is None


def test_priorities_and_no_exclusions() -> None:
    audit, findings = ism_policy("p", 90)["policy"], findings_ism_policy("p", 400)["policy"]
    assert audit["ism_template"] == [{"index_patterns": ["p-2*"], "priority": 100}]
    assert findings["ism_template"] == [{"index_patterns": ["p-findings-2*"], "priority": 200}]
    for template in audit["ism_template"] + findings["ism_template"]:
        assert not [p for p in template["index_patterns"] if p.startswith("-")]  # index-management 3.4+ only


def test_findings_retention_is_its_own_and_never_read_only() -> None:
    policy = findings_ism_policy("rdsaudit", 30)["policy"]
    assert [s["name"] for s in policy["states"]] == ["hot", "delete"]
    assert policy["states"][0]["transitions"] == [{"state_name": "delete", "conditions": {"min_index_age": "30d"}}]
    assert findings_ism_policy("rdsaudit", 400)["policy"]["states"][0]["transitions"][0]["conditions"] == {
        "min_index_age": "400d"
    }


def test_two_prefixes_install_without_conflict() -> None:
    """The plugin refuses a policy whose template overlaps another's at the same priority: `audit-*` and
    `audit-prod-*` did; the daily patterns do not."""
    first = installed("audit")
    assert conflicts("audit-prod-retention", ism_policy("audit-prod", 90), first) == []
    assert conflicts("audit-prod-findings-retention", findings_ism_policy("audit-prod", 400), first) == []
    old = ism_policy("audit-prod", 90)
    old["policy"]["ism_template"][0]["index_patterns"] = ["audit-prod-*"]
    older = ism_policy("audit", 90)
    older["policy"]["ism_template"][0]["index_patterns"] = ["audit-*"]
    assert conflicts("audit-prod-retention", old, templates("audit-retention", older)) == ["audit-retention"]


def test_the_model_matches_as_the_plugin_does() -> None:
    assert simple_match("a-2*", "a-2026.01.01") and simple_match("*", "") and simple_match("a*b*c", "abc")
    assert not simple_match("a-2*", "a-findings-2026.01.01") and not simple_match("a-2*", "A-2026.01.01")
    assert not simple_match("a-?", "a-b")  # `?` is literal in Regex.simpleMatch
    with pytest.raises(ValueError, match="index-management 3"):
        simple_match("-a-findings-*", "a-2026")
    late = [Template("p", ("a-*",), 1, last_updated=2000)]
    assert policy_for("a-1", late, created=1000) is None and policy_for("a-1", late, created=3000) == "p"
    assert policy_for("a-1", late, created=3000, hidden=True) is None
    ranked = [Template("low", ("a-*",), 1), Template("high", ("a-2*",), 5)]
    assert policy_for("a-2026", ranked) == "high" and policy_for("a-x", ranked) == "low"
