"""A stand-in for the index-management plugin's managed-index APIs (explain, remove, change_policy), which the
integ-test distribution lacks (the plugin is not on Maven Central: shared toolchain notes). Shared by the Open
Distro fake (test_opendistro.py) and the proxy over the real node (test_ism_move.py).

What it models, and where that is documented:
- `GET <base>/_ism/explain/<indices>` (OpenSearch docs im-plugin/ism/api.md, "Explain index";
  opensearch-project/index-management ExplainResponse.toXContent): one object per index naming its policy under
  `index.plugins.index_state_management.policy_id` and `index.opendistro.index_state_management.policy_id` (null
  when unmanaged), the managed index's metadata (`index`, `index_uuid`, `policy_id`, `state`) and `enabled`, then
  `total_managed_indices`. Open Distro's ExplainResponse (opendistro-for-elasticsearch/index-management) writes
  only `index.opendistro.index_state_management.policy_id` and the metadata, without `enabled` or the total.
  A pattern matching nothing answers an empty object; a name that does not exist is a 404
  `index_not_found_exception` (index resolution, as the real node answers for any missing index);
- `POST <base>/_ism/remove/<index>` (api.md, "Remove policy from index"; TransportRemovePolicyAction): 200 with
  `updated_indices`, `failures`, `failed_indices`; an unmanaged index fails with "This index does not have a
  policy to remove";
- `POST <base>/_ism/change_policy/<index>` {"policy_id": …} (api.md, "Update managed index policy";
  TransportChangePolicyAction): the same answer; an unmanaged index fails with "This index is not being managed";
  a policy that does not exist is a 404 "Could not find policy=<id>" (OpenSearchStatusException, NOT_FOUND); an
  index between two states fails with "Cannot change policy while transitioning to new state" (INDEX_IN_TRANSITION).
  The change is queued on the managed index's job (ManagedIndexConfig.changePolicy): explain still names the old
  policy until the job's next run (`plugins.index_state_management.job_interval`, 5 minutes by default) applies it
  at a safe point (ManagedIndexRunner.initChangePolicy), moving the index to the request's `state`, or keeping its
  state name when none is given; a state the new policy lacks fails the index there. `run_jobs()` is that run.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from collections.abc import Callable
from typing import Any

PLUGINS_KEY = "index.plugins.index_state_management.policy_id"
OPENDISTRO_KEY = "index.opendistro.index_state_management.policy_id"


def not_found(name: str) -> tuple[int, Any]:
    reason = f"no such index [{name}]"
    cause = {"type": "index_not_found_exception", "reason": reason, "index": name, "index_uuid": "_na_"}
    return 404, {"error": {"root_cause": [cause], **cause}, "status": 404}


class IsmStandIn:
    def __init__(
        self,
        base: str,
        indices: Callable[[], list[str]],
        policies: Callable[[], dict[str, list[str]]],
        opendistro: bool,
    ) -> None:
        self.base = base
        self.indices = indices  # the names of the indices that exist now
        self.policies = policies  # the installed policies' ids -> their state names
        self.opendistro = opendistro
        self.managed: dict[str, dict[str, Any]] = {}  # index -> {"policy_id", "state", "pending"}
        self.uuids: dict[str, str] = {}

    def attach(self, index: str, policy_id: str, state: str = "hot", transitioning: bool = False) -> None:
        """What ism_template did when the index was created under an older release's policy."""
        self.managed[index] = {"policy_id": policy_id, "state": state, "pending": None}
        if transitioning:
            self.managed[index]["transitioning"] = True

    def _uuid(self, name: str) -> str:
        return self.uuids.setdefault(name, uuid.uuid4().hex[:22])

    def _resolve(self, expression: str) -> list[str] | tuple[int, Any]:
        existing = self.indices()
        names: list[str] = []
        for part in expression.split(","):
            if "*" in part:
                names += [n for n in existing if fnmatch.fnmatchcase(n, part) and n not in names]
            elif part in existing:
                names.append(part)
            else:
                return not_found(part)
        return names

    def handle(self, method: str, bare: str, body: Any) -> tuple[int, Any] | None:
        found = re.fullmatch(rf"/{self.base}/_ism/(explain|remove|change_policy)/([^/]+)", bare)
        if found is None:
            return None
        verb, expression = found.groups()
        if (verb == "explain") != (method == "GET"):
            return 405, {"error": f"Incorrect HTTP method for uri [{bare}] and method [{method}]", "status": 405}
        names = self._resolve(expression)
        if isinstance(names, tuple):
            return names
        if verb == "explain":
            return 200, self._explain(names)
        if verb == "change_policy":
            policy_id = (body or {}).get("policy_id")
            if policy_id not in self.policies():
                return 404, {"error": {"type": "status_exception", "reason": f"Could not find policy={policy_id}"}}
        failed, updated = [], 0
        for name in names:
            current = self.managed.get(name)
            if current is None:
                reason = (
                    "This index does not have a policy to remove"
                    if verb == "remove"
                    else ("This index is not being managed")
                )
                failed.append({"index_name": name, "index_uuid": self._uuid(name), "reason": reason})
                continue
            if verb == "change_policy" and current.get("transitioning"):
                reason = "Cannot change policy while transitioning to new state"
                failed.append({"index_name": name, "index_uuid": self._uuid(name), "reason": reason})
                continue
            if verb == "remove":
                del self.managed[name]
            else:
                current["pending"] = {"policy_id": body["policy_id"], "state": body.get("state")}
            updated += 1
        return 200, {"updated_indices": updated, "failures": bool(failed), "failed_indices": failed}

    def run_jobs(self) -> None:
        """Each managed index's job run: a queued change of policy takes effect."""
        for current in self.managed.values():
            pending = current["pending"]
            if pending is None:
                continue
            current.update(policy_id=pending["policy_id"], pending=None)
            current["state"] = pending["state"] or current["state"]
            if current["state"] not in self.policies()[pending["policy_id"]]:
                current["failed"] = f"Failed to find state={current['state']} in policy={pending['policy_id']}"

    def _explain(self, names: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for name in names:
            current = self.managed.get(name)
            policy_id = current["policy_id"] if current else None
            entry: dict[str, Any] = {} if self.opendistro else {PLUGINS_KEY: policy_id}
            entry[OPENDISTRO_KEY] = policy_id
            if current:
                entry.update(
                    index=name,
                    index_uuid=self._uuid(name),
                    policy_id=policy_id,
                    state={"name": current["state"], "start_time": 1700000000000},
                )
            if not self.opendistro:
                entry["enabled"] = True if current else None
            answer[name] = entry
        if not self.opendistro:
            answer["total_managed_indices"] = sum(1 for n in names if n in self.managed)
        return answer
