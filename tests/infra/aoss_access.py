"""The second half of authorization on OpenSearch Serverless: the collection's data access policy, evaluated for
every recorded OpenSearch request, and every permission it grants a role checked for use.

Modelled as AWS documents it ("Data access control for Amazon OpenSearch Serverless"): a policy is a list of
statements, each with Rules (ResourceType `collection` or `index`, Resource names or prefix patterns ending in `*`,
Permission names or `aoss:*`) and Principals (IAM role ARNs); permissions are additive and nothing can be denied.
A request → the permissions it needs, from "Supported operations and plugins in Amazon OpenSearch Serverless",
limited to what rdsaudit sends and failing on anything else:

- `GET _index_template/<name>`: aoss:DescribeCollectionItems ("describe aliases and index templates") on
  `collection/<collection>`;
- `PUT _index_template/<name>` creates or replaces the template: aoss:CreateCollectionItems and
  aoss:UpdateCollectionItems on `collection/<collection>`. The documentation names the one for creating collection
  items and the other for updating templates, and the recording does not tell a first PUT from a later one, so both
  are required (and both are what writers and setup are granted);
- `POST _bulk`: aoss:WriteDocument on each index the body names, and aoss:CreateIndex (`PUT <index>`), since the
  first document of a day creates that day's index. The recorder keeps no bodies: the indices are the entry's
  family, `<prefix>-YYYY.MM.DD` for the deployed prefix (the activity consumer's, else the audit one), checked with
  one representative day;
- `GET _cat/indices/<pattern>`: aoss:DescribeIndex on `index/<collection>/<pattern>`;
- `POST <indices>/_refresh`: nothing. Serverless has no refresh API ("Supported operations": `_refresh` is not
  listed) and the runtime never sends one there (`Runtime.make_searchable` returns a note instead; tests/unit/
  test_make_searchable.py), so a refresh recorded against the managed-domain node has no counterpart here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.infra.iam_requests import Stack, Translator, Unmapped

DAY = "2023.11.14"  # a representative daily index suffix


@dataclass(frozen=True)
class DataRequest:
    entry: str
    permission: str
    resource: str  # collection/<name> or index/<name>/<index>


def _matches(pattern: str, value: str) -> bool:
    return value.startswith(pattern[:-1]) if pattern.endswith("*") else value == pattern


def data_requests(stack: Stack, call: dict[str, Any]) -> list[DataRequest]:
    collection = stack.collection()
    assert collection is not None and call["kind"] == "http"
    name, entry, method = collection[1], call["entry"], call["method"]
    path = Translator(stack).es_path(call)  # the test's index prefixes renamed to the stack's
    parts = path.strip("/").split("/")
    if parts[0] == "_index_template" and len(parts) == 2:
        if method in ("GET", "HEAD"):
            return [DataRequest(entry, "aoss:DescribeCollectionItems", f"collection/{name}")]
        if method in ("PUT", "POST"):
            return [
                DataRequest(entry, p, f"collection/{name}")
                for p in ("aoss:CreateCollectionItems", "aoss:UpdateCollectionItems")
            ]
    if parts == ["_bulk"] and method == "POST":
        env = stack.env(entry)
        prefix = (
            env.get("RDSAUDIT_ACTIVITY_INDEX_PREFIX", "rdsactivity")
            if entry == "activity"
            else env["RDSAUDIT_INDEX_PREFIX"]
        )
        index = f"index/{name}/{prefix}-{DAY}"
        return [DataRequest(entry, p, index) for p in ("aoss:WriteDocument", "aoss:CreateIndex")]
    if len(parts) == 2 and parts[1] == "_refresh" and method == "POST":
        return []
    if parts[:2] == ["_cat", "indices"] and method == "GET":
        return [DataRequest(entry, "aoss:DescribeIndex", f"index/{name}/{parts[2] if len(parts) > 2 else '*'}")]
    raise Unmapped(f"{entry}: {method} {path} is no operation this model maps to a data access permission")


@dataclass
class DataOutcome:
    denied: list[tuple[DataRequest, list[str]]] = field(default_factory=list)  # request, tests
    unmapped: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


def evaluate_data(
    stack: Stack, document: list[dict[str, Any]], calls: list[dict[str, Any]], allowed: list[tuple[str, str, str, str]]
) -> DataOutcome:
    """Every recorded request against the policy; then every (role, resource, permission) the policy grants an
    entry's role that no allowed request used and no allow-list entry (entry, permission, resource, reason)
    explains. Principals that are no entry's role (the admins, a reader) are people: not checked for use here."""
    out = DataOutcome()
    roles = {stack.template.get_att(stack.role_id(e), "Arn"): e for e in {c["entry"] for c in calls}}
    arn_of = {e: arn for arn, e in roles.items()}
    used: set[tuple[str, str, str]] = set()  # (principal, rule resource, rule permission)
    requests: dict[DataRequest, list[str]] = {}
    for call in calls:
        try:
            for request in data_requests(stack, call):
                requests.setdefault(request, []).append(call.get("test", ""))
        except Unmapped as e:
            out.unmapped.append(str(e))
    for request, tests in requests.items():
        principal = arn_of[request.entry]
        grants = [
            (resource, permission)
            for statement in document
            if principal in statement["Principal"]
            for rule in statement["Rules"]
            if request.resource.startswith(f"{rule['ResourceType']}/")
            for resource in rule["Resource"]
            if _matches(resource, request.resource)
            for permission in rule["Permission"]
            if permission in (request.permission, "aoss:*")
        ]
        if not grants:
            out.denied.append((request, tests))
        used.update((principal, r, p) for r, p in grants)
    for statement in document:
        for principal in statement["Principal"]:
            entry = roles.get(principal)
            for rule in statement["Rules"] if entry else []:
                for resource in rule["Resource"]:
                    for permission in rule["Permission"]:
                        if (principal, resource, permission) in used or any(
                            e == entry and p == permission and r == resource for e, p, r, _ in allowed
                        ):
                            continue
                        out.unused.append(f"{entry}: {permission} on {resource} is granted but no test used it")
    return out


def report(out: DataOutcome) -> str:
    lines = [
        f"DENIED by the data access policy {r.entry}: {r.permission} on {r.resource}\n    made by {sorted(t)[0]}"
        for r, t in sorted(out.denied, key=lambda x: (x[0].entry, x[0].permission, x[0].resource))
    ]
    return "\n".join(lines + [f"UNMAPPED {u}" for u in sorted(set(out.unmapped))] + sorted(set(out.unused)))
