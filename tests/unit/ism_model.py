"""A model of how the index-management plugin picks the ISM policy of a new index from the policies' `ism_template`s,
for the retention policies `rdsaudit setup` writes (the plugin is not in the integ-test distribution, nor on Maven
Central: shared toolchain notes).

What it models, as the OpenSearch docs describe `ism_template` (im-plugin/ism/policies: its `index_patterns`
and a `priority` that decides between templates matching one index) and the plugin's source says
(opensearch-project/index-management, src/main/kotlin/org/opensearch/indexmanagement/indexstatemanagement/):
- ManagedIndexCoordinator.findMatchingPolicy: every template whose `last_updated_time` is before the index's
  creation is tried; a template matches when one of its `index_patterns` matches the name by
  `Regex.simpleMatch` (OpenSearch core: `*` is the only wildcard, matching any run of characters including none,
  case-sensitive); the policy of the highest-priority match wins; hidden indices and names starting with `.` get
  none;
- the `-pattern` exclusions of ManagedIndexCoordinator.matchesIndexPatterns exist only from index-management 3.4,
  so an exclusion here is an error: no policy rdsaudit writes may rely on one;
- ISMTemplateService.findConflictingPolicyTemplates: a policy is refused when one of its templates overlaps
  (some index name matches both: `overlapping`, the intersection of the two automata) a template of another
  policy with the same priority; here computed from the globs' literal heads and tails, which for `*`-only
  patterns decide the same question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def simple_match(pattern: str, name: str) -> bool:
    """OpenSearch's Regex.simpleMatch: `*` matches any characters; everything else literally."""
    if pattern.startswith("-"):
        raise ValueError(f"{pattern!r}: ISM template exclusions need index-management 3.4 or later")
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), name) is not None


@dataclass(frozen=True)
class Template:
    policy: str
    patterns: tuple[str, ...]
    priority: int
    last_updated: float = 0  # ms since the epoch


def templates(policy_id: str, body: dict[str, Any], last_updated: float = 0) -> list[Template]:
    """The templates of one policy body as `PUT _plugins/_ism/policies/<id>` takes it."""
    return [
        Template(policy_id, tuple(t["index_patterns"]), int(t.get("priority", 0)), last_updated)
        for t in body["policy"].get("ism_template") or []
    ]


def policy_for(
    index: str, installed: list[Template], created: float = float("inf"), hidden: bool = False
) -> str | None:
    """The policy the plugin attaches to `index` when it is created, or None."""
    if hidden or index.startswith("."):
        return None
    best: tuple[int, str] | None = None
    for t in installed:
        matched = t.last_updated < created and any(simple_match(p, index) for p in t.patterns)
        if matched and (best is None or t.priority > best[0]):
            best = (t.priority, t.policy)
    return best[1] if best else None


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether some name matches a pattern of each: two `*` globs intersect unless their literal heads or tails
    (before the first and after the last `*`) contradict; a pattern without `*` is a name to test."""
    for p in a:
        for q in b:
            if "*" not in p or "*" not in q:
                literal, glob = (p, q) if "*" not in p else (q, p)
                if simple_match(glob, literal):
                    return True
                continue
            ph, pt, qh, qt = p.split("*")[0], p.split("*")[-1], q.split("*")[0], q.split("*")[-1]
            if (ph.startswith(qh) or qh.startswith(ph)) and (pt.endswith(qt) or qt.endswith(pt)):
                return True
    return False


def conflicts(policy_id: str, body: dict[str, Any], installed: list[Template]) -> list[str]:
    """The other policies whose templates would make the plugin refuse this one (same priority, overlapping)."""
    return sorted(
        {
            t.policy
            for new in templates(policy_id, body)
            for t in installed
            if t.policy != policy_id and t.priority == new.priority and _overlap(new.patterns, t.patterns)
        }
    )
