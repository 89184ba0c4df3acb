"""Indices an older release's audit policy took: moved once, by `rdsaudit setup`, after the policies are installed.

Before the audit policy matched only `<prefix>-2*`, its `<prefix>-*` template also took the daily findings indices
and the detect job's state index `<prefix>-findings-state`. ISM keeps an index under the policy that took it at
creation, so fixing the template leaves them there: the state index becomes read-only after CLOSED_AFTER_DAYS (the
notifier's lease is then refused with a 403 index block on every run) and is deleted with the audit indices.

Setup asks ISM (`GET <base>/_ism/explain/<prefix>-findings-*`) which policy manages each of them, then
- removes any policy from the state index (`POST <base>/_ism/remove/<index>`): no retention may delete it;
- moves each findings index still under `<prefix>-retention` to `<prefix>-findings-retention`
  (`POST <base>/_ism/change_policy/<index>`, one index a request: a comma list of a year of days is past the
  4 KB request line OpenSearch accepts), into that policy's first state. ISM applies the change at the index's
  next run (5 minutes by default): a rerun before then sends it again, which only replaces the queued change;
- lifts a write block (`index.blocks.write`, what the policy's `read_only` action sets) from the state index only.
  The state holds no evidence and the job cannot run without writing it. A daily findings index is evidence: its
  block may be an operator's (setup cannot tell who set it), and the notifier marks findings within minutes of
  writing them, long before the old policy's two days; its blocks are reported and left, with the command to lift.
"""

from __future__ import annotations

from typing import Any

from handler.errors import RdsAuditError
from handler.mappings import findings_ism_policy
from handler.read.patterns import findings_days_pattern, findings_pattern, state_index
from handler.setup.cluster import ISM_PLUGINS, Change, ClusterSetup, audit_policy_id, findings_policy_id

# The explain API names the policy under both setting keys on OpenSearch (ExplainResponse.toXContent) and under the
# Open Distro one only on Open Distro; an unmanaged index has null there.
_POLICY_KEYS = ("index.plugins.index_state_management.policy_id", "index.opendistro.index_state_management.policy_id")


def _policy_of(entry: Any) -> str | None:
    if not isinstance(entry, dict):  # `total_managed_indices`, beside the indices
        return None
    return next((str(entry[k]) for k in _POLICY_KEYS if entry.get(k)), None)


def _blocked(cluster: ClusterSetup, pattern: str) -> list[str]:
    """The indices matching `pattern` whose writes are blocked (GET _settings lists only those with the setting)."""
    found = cluster._get(f"/{pattern}/_settings/index.blocks.write") or {}
    return sorted(
        name
        for name, body in found.items()
        if str(((body.get("settings") or {}).get("index") or {}).get("blocks", {}).get("write")).lower() == "true"
    )


def _post(cluster: ClusterSetup, path: str, body: Any) -> None:
    """A remove or change_policy request; the plugin answers 200 with `failures` and a reason per failed index."""
    if cluster.dry_run:
        cluster.requests.append(("POST", path, body))
        return
    answer = cluster.client.transport.perform_request("POST", path, body=body)
    if answer.get("failures"):
        reasons = "; ".join(f"{f.get('index_name')}: {f.get('reason')}" for f in answer.get("failed_indices", []))
        raise RdsAuditError(f"ISM refused {path}: {reasons}; rerun rdsaudit setup once ISM has finished with it")


def move_managed(cluster: ClusterSetup) -> list[Change]:
    """Changes `moved`, `would move` (dry run) or `unchanged`, for the state index and for the daily findings."""
    if cluster.engine().serverless:
        return []
    base = cluster._plugin_prefix(ISM_PLUGINS)
    if base is None:
        return []
    prefix = cluster.prefix
    state, audit_policy, findings_policy = state_index(prefix), audit_policy_id(prefix), findings_policy_id(prefix)
    explained = cluster._get(f"/{base}/_ism/explain/{findings_pattern(prefix)}") or {}  # a pattern: 200 even if none
    moved = "would move" if cluster.dry_run else "moved"
    changes = []
    if state in explained:
        notes = []
        policy = _policy_of(explained[state])
        if policy is not None:
            _post(cluster, f"/{base}/_ism/remove/{state}", None)
            notes.append(f"policy {policy} removed: no retention deletes the detect job's state")
        if _blocked(cluster, state):
            cluster._write("PUT", f"/{state}/_settings", {"index.blocks.write": False}, existed=True)
            notes.append("write block lifted: it was read-only, so every detect run failed writing its state")
        changes.append(Change(f"ISM of {state}", moved if notes else "unchanged", "; ".join(notes) or "no policy"))
    # the daily ones only (setup is granted change_policy on `<prefix>-findings-2*`); other names are not ours
    days_glob = findings_days_pattern(prefix)
    days = days_glob.removesuffix("*")
    old = sorted(i for i, e in explained.items() if i.startswith(days) and _policy_of(e) == audit_policy)
    # Into the findings policy's first state: without `state` ISM keeps the index's state name (`closed`, which the
    # findings policy lacks, would fail the index) (ManagedIndexRunner.initChangePolicy).
    change = {"policy_id": findings_policy, "state": findings_ism_policy(prefix, 1)["policy"]["default_state"]}
    for index in old:
        _post(cluster, f"/{base}/_ism/change_policy/{index}", change)
    what = f"ISM of {days_glob}"
    if not old:
        changes.append(Change(what, "unchanged", f"none under {audit_policy}"))
        return changes
    detail = f"{len(old)} from {audit_policy} to {findings_policy}"
    blocked = [i for i in _blocked(cluster, days_glob) if i in old]
    if blocked:
        detail += (
            f"; {len(blocked)} read-only already ({', '.join(blocked[:3])}{', …' if len(blocked) > 3 else ''}), "
            f'left so: lift with PUT <index>/_settings {{"index.blocks.write": false}} if findings there must change'
        )
    changes.append(Change(what, moved, detail))
    return changes
