"""The IAM contract: every recorded call of every Lambda entry, evaluated against that entry's role in the
synthesized stack by a real policy evaluator, and every granted action checked for use.

The evaluator is @cloud-copilot/iam-simulate (npm, pinned with integrity hashes in iam_simulate/package-lock.json,
installed by `make test`). moto's IAM enforcement was not enough: it evaluates Resource only for S3 (other
services get "*"), ignores conditions on identity policies (only StringEquals exists, and identity requests carry
no context values), and has no OpenSearch (moto/iam/access_control.py, moto/iam/policy_conditions.py, 5.2.5).
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.infra.iam_requests import Request, Stack, Translator, Unmapped
from tests.infra.iam_template import ACCOUNT, PARTITION

SIMULATOR = Path(__file__).resolve().parent / "iam_simulate"
# A key created outside the stack (the Activity Streams key) is assumed to have KMS's default key policy, which
# lets IAM policies of the account grant its use ("Default key policy", AWS KMS Developer Guide).
DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{PARTITION}:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


def simulator_ready() -> str | None:
    if not (SIMULATOR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return f"the IAM evaluator is not installed: `npm ci` in {SIMULATOR} (make test does it)"
    return None


@dataclass
class Outcome:
    requests: dict[Request, list[str]] = field(default_factory=dict)  # request → tests that made it
    results: dict[Request, dict[str, Any]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    granted: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # entry → (policy, action, res)
    statements: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)  # entry → (policy, st)

    def denied(self) -> list[tuple[Request, dict[str, Any]]]:
        return [(r, res) for r, res in self.results.items() if res.get("decision") != "Allowed"]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    st = policy.get("Statement", [])
    return st if isinstance(st, list) else [st]


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def evaluate(stack: Stack, calls: list[dict[str, Any]]) -> Outcome:
    out = Outcome()
    translator = Translator(stack)
    for call in calls:
        try:
            for request in translator.requests(call):
                out.requests.setdefault(request, []).append(call.get("test", ""))
        except Unmapped as e:
            out.unmapped.append(str(e))
    resource_policies = stack.template.resource_policies()
    roles = {}
    for entry in sorted({r.entry for r in out.requests}):
        try:
            roles[entry] = stack.template.role(stack.role_id(entry))
        except Unmapped as e:
            out.unmapped.append(str(e))
    batch, ids = [], {}
    for n, request in enumerate(r for r in out.requests if r.entry in roles):
        role = roles[request.entry]
        session = f"arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{role.arn.rsplit('/', 1)[1]}/{request.entry}"
        resource_policy = _resource_policy(request, resource_policies)
        context = dict(request.context) | {
            "aws:SecureTransport": "true",
            "aws:PrincipalArn": role.arn,
            "aws:PrincipalAccount": ACCOUNT,
        }
        ids[str(n)] = request
        batch.append(
            {
                "id": str(n),
                "principal": session,
                "action": request.action,
                "resource": request.resource,
                "account": ACCOUNT,
                "context": context,
                "identityPolicies": role.policies,
                "resourcePolicy": resource_policy,
            }
        )
    answer = subprocess.run(
        ["node", str(SIMULATOR / "evaluate.cjs")],
        input=json.dumps({"requests": batch}),
        capture_output=True,
        text=True,
        check=True,
        cwd=SIMULATOR,
    )
    for rid, result in json.loads(answer.stdout)["results"].items():
        out.results[ids[rid]] = result
    for entry, role in roles.items():
        out.statements[entry] = [
            (p["name"], st) for p in role.policies for st in _statements(p["policy"]) if st.get("Effect") == "Allow"
        ]
        out.granted[entry] = [
            (p["name"], action, json.dumps(st.get("Resource")))
            for p in role.policies
            for st in _statements(p["policy"])
            if st.get("Effect") == "Allow"
            for action in _as_list(st.get("Action", []))
        ]
    return out


def _resource_policy(request: Request, policies: dict[str, Any]) -> dict[str, Any] | None:
    arn = request.resource
    if arn.startswith(f"arn:{PARTITION}:s3:::"):
        return policies.get(arn.split("/", 1)[0])
    if arn.startswith(f"arn:{PARTITION}:kms:"):
        return policies.get(arn, DEFAULT_KEY_POLICY)
    return policies.get(arn)


def _canonical(statement: Any) -> str:
    return json.dumps(statement, sort_keys=True)


def unused(out: Outcome, allowed: list[tuple[str, str, str, str]]) -> list[str]:
    """Granted (statement, action, resource) triples that no allowed request used, and no allow-list entry
    (entry, action pattern, resource pattern, reason) explains: least privilege down to each resource."""
    uses: dict[str, list[tuple[str, str]]] = {}  # statement → (action, resource) of the requests it allowed
    for request, result in out.results.items():
        if result.get("decision") == "Allowed":
            for s in result.get("allowStatements", []):
                uses.setdefault(_canonical(s["statement"]), []).append((request.action, request.resource))
    lines = []
    for entry, grants in out.statements.items():
        for policy, statement in grants:
            made = uses.get(_canonical(statement), [])
            for action in _as_list(statement.get("Action", [])):
                for resource in _as_list(statement.get("Resource", [])):
                    if any(fnmatch.fnmatchcase(a, action) and fnmatch.fnmatchcase(r, resource) for a, r in made) or any(
                        e == entry and fnmatch.fnmatchcase(action, a) and fnmatch.fnmatchcase(resource, r)
                        for e, a, r, _ in allowed
                    ):
                        continue
                    lines.append(f"{entry}: {action} on {resource} ({policy}) is granted but no test used it")
    return sorted(set(lines))


def report(out: Outcome) -> str:
    lines = []
    for request, result in sorted(out.denied(), key=lambda x: (x[0].entry, x[0].action, x[0].resource)):
        tests = sorted(set(out.requests[request]))
        why = f" [{request.why}]" if request.why else ""
        detail = result.get("errors") or result.get("decision")
        lines.append(
            f"DENIED {request.entry}: {request.action} on {request.resource}"
            f"{' ' + json.dumps(dict(request.context)) if request.context else ''}{why} → {detail}"
            f"\n    made by {tests[0]}{f' (+{len(tests) - 1} more)' if len(tests) > 1 else ''}"
        )
    lines += [f"UNMAPPED {u}" for u in sorted(set(out.unmapped))]
    return "\n".join(lines)


def table(out: Outcome) -> str:
    """Per entry: the calls observed and the actions granted (Markdown), for the README and the closing note."""
    rows = ["| entry | observed (action on resource) | granted actions |", "| --- | --- | --- |"]
    for entry in sorted(out.granted):
        observed = sorted({f"{r.action} {r.resource}" for r in out.requests if r.entry == entry})
        granted = sorted({a for _, a, _ in out.granted[entry]})
        rows.append(f"| {entry} | {'<br>'.join(observed)} | {', '.join(granted)} |")
    return "\n".join(rows)


def write_table(out: Outcome) -> None:
    path = os.environ.get("RDSAUDIT_IAM_TABLE")
    if path:
        Path(path).write_text(table(out) + "\n", encoding="utf-8")
