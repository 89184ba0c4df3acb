"""Recorded calls (tests/integration/iam_recorder.py) → the IAM requests AWS would authorize for them in the
deployed stack, including the requests a call makes on the caller's behalf that no client library shows.

The tests run against their own buckets, prefixes and queues; each entry's settings recorded with its calls say
which test location stands for which setting, and the synthesized function's environment says where that setting
points in the stack. Rules modelled here, each as documented by AWS:
- S3 operation → action: "Required permissions for Amazon S3 API operations" (Amazon S3 User Guide); HeadObject and
  the multipart operations are authorized as s3:GetObject / s3:PutObject, ListObjectsV2 as s3:ListBucket with the
  s3:prefix condition key set to the request's prefix.
- A GetObject or HeadObject may meet a key that does not exist; S3 then answers 404 only if the caller also has
  s3:ListBucket on the bucket, else 403 AccessDenied ("GetObject" and "HeadObject", Amazon S3 API Reference,
  Permissions). So each one also needs s3:ListBucket on its bucket, evaluated with s3:prefix = the key (what a
  prefix-scoped grant must cover).
- SSE-KMS: S3 calls KMS with the caller's permissions: kms:GenerateDataKey to write, kms:Decrypt to read and for
  multipart uploads ("Using server-side encryption with AWS KMS keys (SSE-KMS)", "Uploading and copying objects
  using multipart upload"); with S3 Bucket Keys the encryption context is the bucket ARN ("Reducing the cost of
  SSE-KMS with Amazon S3 Bucket Keys"). An explicit ServerSideEncryption=AES256 asks for SSE-S3 instead.
- SQS with a KMS key: SendMessage needs kms:GenerateDataKey, ReceiveMessage kms:Decrypt ("Key management",
  Amazon SQS Developer Guide), encryption context aws:sqs:arn.
- OpenSearch: an HTTP request is es:ESHttp<Method> on the domain ARN followed by the path ("Identity and Access
  Management in Amazon OpenSearch Service"). On a Serverless collection, IAM authorizes every data-plane request as
  aoss:APIAccessAll on the collection ARN (its only resource type, "Actions, resources, and condition keys for
  Amazon OpenSearch Serverless"); what the request may do there is the data access policy's decision
  (tests/infra/aoss_access.py). The opensearchserverless API (signing name aoss) is aoss:<Operation>; the lifecycle
  policy actions have no resource type, so their resource is "*".
- SNS Publish to a topic with SSE: SNS asks KMS for a data key with the publisher's permissions (kms:GenerateDataKey,
  kms:Decrypt; "Encryption at rest", Amazon SNS Developer Guide). EventBridge PutEvents is events:PutEvents on the
  bus ARN; Security Hub BatchImportFindings is securityhub:BatchImportFindings on the product ARN ("Actions,
  resources, and condition keys" for each service). STS GetCallerIdentity needs no permission ("No permissions
  are required to perform this operation", AWS STS API Reference): no request.
- RDS: the complete-file download (REST, SigV4 service rds) is rds:DownloadCompleteDBLogFile ("Downloading a
  database log file", Amazon RDS User Guide).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from tests.infra.iam_template import ACCOUNT, DOMAIN_NAME, PARTITION, REGION, Template

# entry (iam_recorder.ENTRIES) → the handler of its function in the stack; replay runs as the operators' role
HANDLERS = {
    "forwarder": "lambda_handler",
    "collector": "kinesis_handler",
    "backfill": "backfill_handler",
    "exporter": "export_handler",
    "activity": "activity_kinesis_handler",
    "setup": "setup_handler",
    "subscribe": "subscribe_handler",
    "member": "subscribe_handler",  # the member stack's (rdsaudit:sendTo): a template of its own
    "detect": "detect_handler",
}
MEMBER_ONLY = {"member"}
REPLAY_ROLE = "OperatorsReplayRole"  # logical id prefix of the role `rdsaudit replay` is run with
S3_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "DeleteObject": "s3:DeleteObject",
}
MULTIPART = {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
# Recorded with a backfill's calls (recording("backfill", RDSAUDIT_ARCHIVE_BUCKET=...)): the test bucket that stands
# for the archive, which the backfill reads from its event (no setting names it).
ARCHIVE = "RDSAUDIT_ARCHIVE_BUCKET"


class Unmapped(Exception):
    """A recorded call the contract cannot place in the stack: a new resource or operation to teach it."""


@dataclass(frozen=True)
class Request:
    entry: str
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""  # set for requests made on the caller's behalf (the rule that implies them)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "context": dict(self.context), "why": self.why}


@dataclass
class Stack:
    """The stack-side facts the translation needs."""

    template: Template
    context: dict[str, Any]
    functions: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.functions = self.template.functions()

    def has(self, entry: str) -> bool:
        """Whether this variant of the stack has the entry's function (replay's role is always there, except in
        the member stack, which has only the member's function)."""
        member = bool(self.context.get("rdsaudit:sendTo"))
        if member != (entry in MEMBER_ONLY):
            return False
        return entry == "replay" or HANDLERS[entry] in self.functions

    def env(self, entry: str) -> dict[str, str]:
        handler = HANDLERS.get(entry, "lambda_handler")  # replay runs with the forwarder's settings
        fn = self.functions.get(handler)
        if fn is None:
            raise Unmapped(f"no function with handler.app.{handler} in the stack")
        return dict(fn["env"])

    def role_id(self, entry: str) -> str:
        if entry == "replay":
            found = self.template.roles_named(REPLAY_ROLE)
            if not found:
                raise Unmapped(f"no role {REPLAY_ROLE}* in the stack for `rdsaudit replay`")
            return found[0]
        fn = self.functions.get(HANDLERS[entry])
        if fn is None:
            raise Unmapped(f"no function with handler.app.{HANDLERS[entry]} in the stack")
        return str(fn["role"])

    def collection(self) -> tuple[str, str] | None:
        """(ARN, name) of the stack's OpenSearch Serverless collection, if it writes to one."""
        for lid, r in self.template.resources.items():
            if r["Type"] == "AWS::OpenSearchServerless::Collection":
                return self.template.get_att(lid, "Arn"), str(r["Properties"]["Name"])
        return None

    def on_failure_queue(self) -> str:
        fn = self.functions["lambda_handler"]["id"]
        for r in self.template.resources.values():
            if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": fn}:
                return str(self.template.resolve(r["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]))
        raise Unmapped("the forwarder has no on-failure destination")


def _s3_location(url: str) -> tuple[str, str] | None:
    if not url.startswith("s3://"):
        return None
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def _join(prefix: str, rest: str) -> str:
    return f"{prefix}/{rest}" if prefix and rest else prefix or rest


class Translator:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def _locations(self, entry: str, test_env: dict[str, str]) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        stack_env = self.stack.env(entry)
        pairs = []
        for var in ("RDSAUDIT_CHECKPOINT", "RDSAUDIT_DEAD_LETTER"):
            test, deployed = _s3_location(test_env.get(var, "")), _s3_location(stack_env.get(var, ""))
            if test and deployed:
                pairs.append((test, deployed))
        archive = self.stack.context.get("rdsaudit:archiveBucket")
        if entry == "backfill" and ARCHIVE in test_env and archive:
            # the objects a Distributed Map hands the backfill are in the archive bucket the stack is given
            pairs.append(((test_env[ARCHIVE], ""), (str(archive), "")))
        if "RDSAUDIT_EXPORT_BUCKET" in test_env and "RDSAUDIT_EXPORT_BUCKET" in stack_env:
            pairs.append(
                (
                    (test_env["RDSAUDIT_EXPORT_BUCKET"], test_env.get("RDSAUDIT_EXPORT_PREFIX", "").strip("/")),
                    (stack_env["RDSAUDIT_EXPORT_BUCKET"], stack_env.get("RDSAUDIT_EXPORT_PREFIX", "").strip("/")),
                )
            )
        return sorted(pairs, key=lambda p: -len(p[0][1]))  # the most specific location first

    def object(self, call: dict[str, Any], key: str) -> tuple[str, str]:
        """The stack's (bucket, key) for a test (bucket, key)."""
        bucket = call["params"]["Bucket"]
        for (tb, tp), (sb, sp) in self._locations(call["entry"], call["env"]):
            if bucket == tb and (not tp or key == tp or key.startswith(tp + "/")):
                return sb, _join(sp, key[len(tp) :].lstrip("/"))
        raise Unmapped(f"{call['entry']}: s3://{bucket}/{key} is in no location the stack configures")

    def es_path(self, call: dict[str, Any]) -> str:
        stack_env = self.stack.env(call["entry"])
        renames = {}
        for var, default in (("RDSAUDIT_INDEX_PREFIX", "rdsaudit"), ("RDSAUDIT_ACTIVITY_INDEX_PREFIX", "rdsactivity")):
            renames[call["env"].get(var, default)] = stack_env.get(var, default)

        def rename(name: str) -> str:
            for test, deployed in renames.items():
                if name == test or name.startswith(test + "-"):
                    return deployed + name[len(test) :]
            return name

        # A segment may name several indices, comma-separated (a refresh of every index a command wrote).
        return "/".join(",".join(map(rename, segment.split(","))) for segment in call["path"].split("/"))

    def requests(self, call: dict[str, Any]) -> list[Request]:
        entry = call["entry"]
        if call["kind"] == "http":
            collection = self.stack.collection()
            if collection is not None:
                return [Request(entry, "aoss:APIAccessAll", collection[0])]
            method = call["method"].capitalize()
            # An index pattern in a path (`/<prefix>-findings-*/_search/point_in_time`) is a literal '*' to IAM,
            # which iam-simulate would take for a wildcard request; '~' stands in for it: one character no
            # policy names literally, so a policy matches it exactly where it matches the '*' (only its own '*'
            # or '?' can).
            path = self.es_path(call).replace("*", "~")
            resource = f"arn:{PARTITION}:es:{REGION}:{ACCOUNT}:domain/{DOMAIN_NAME}{path}"
            return [Request(entry, f"es:ESHttp{method}", resource)]
        if call["kind"] == "signed":
            path = urlparse(call["url"]).path
            if call["service"] == "rds" and path.startswith("/v13/downloadCompleteLogFile/"):
                instance = unquote(path.split("/")[3])
                resource = f"arn:{PARTITION}:rds:{REGION}:{ACCOUNT}:db:{instance}"
                return [Request(entry, "rds:DownloadCompleteDBLogFile", resource)]
            raise Unmapped(f"{entry}: signed request {call['method']} {call['url']}")
        service, operation, params = call["service"], call["operation"], call["params"]
        if service == "s3":
            return self._s3(call)
        if service == "aoss" and operation.endswith("LifecyclePolicy") and self.stack.collection():
            return [Request(entry, f"aoss:{operation}", "*")]
        if service == "sqs" and entry == "replay":
            queue = self.stack.on_failure_queue()  # the queue replay is pointed at (--queue) is this one
            out = [Request(entry, f"sqs:{operation}", queue)]
            key = self.stack.template.queue_key(queue)
            if key and operation in ("ReceiveMessage", "SendMessage"):
                kms_action = "kms:Decrypt" if operation == "ReceiveMessage" else "kms:GenerateDataKey"
                out.append(self._kms(entry, kms_action, key, "sqs", {"aws:sqs:arn": queue}))
            return out
        if service == "kms" and operation == "Decrypt" and entry == "activity":
            key = str(self.stack.context["rdsaudit:activityKmsKeyArn"])
            context = {f"kms:EncryptionContext:{k}": v for k, v in (params.get("EncryptionContext") or {}).items()}
            context["kms:CallerAccount"] = ACCOUNT
            return [Request(entry, "kms:Decrypt", key, tuple(sorted(context.items())))]
        if service == "logs" and "logGroupName" in params:
            resource = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{params['logGroupName']}"
            out = [Request(entry, f"logs:{operation}", resource)]
            if operation == "PutSubscriptionFilter" and ":destination:" in params.get("destinationArn", ""):
                # A destination of another account: its own PutSubscriptionFilter grant, and the role CloudWatch
                # Logs will assume passed to it ("Step 3: Add/validate IAM permissions for the cross-account
                # destination"; PutSubscriptionFilter: "you must also have the iam:PassRole permission").
                out.append(Request(entry, "logs:PutSubscriptionFilter", params["destinationArn"]))
            if params.get("roleArn"):
                role = self.mapped_role(entry, call["env"], params["roleArn"])
                out.append(Request(entry, "iam:PassRole", role, (("iam:PassedToService", "logs.amazonaws.com"),)))
            return out
        if service == "logs" and operation == "DescribeLogGroups":
            # no resource type ("Actions, resources, and condition keys for Amazon CloudWatch Logs"): "*"
            return [Request(entry, "logs:DescribeLogGroups", "*")]
        if service == "sts" and operation == "GetCallerIdentity":
            return []
        if entry == "detect" and service in ("sns", "events", "securityhub"):
            return self._notify(call)
        if service == "rds" and "DBInstanceIdentifier" in params:
            resource = f"arn:{PARTITION}:rds:{REGION}:{ACCOUNT}:db:{params['DBInstanceIdentifier']}"
            return [Request(entry, f"rds:{operation}", resource)]
        raise Unmapped(f"{entry}: {service}.{operation} {params}")

    def _notify(self, call: dict[str, Any]) -> list[Request]:
        """The detect entry's notifications, at the topic, bus and product the stack configures."""
        entry, service, operation = call["entry"], call["service"], call["operation"]
        stack_env = self.stack.env(entry)
        if service == "sns" and operation == "Publish":
            if call["params"].get("TopicArn") != call["env"].get("RDSAUDIT_DETECT_TOPIC_ARN"):
                raise Unmapped(f"{entry}: Publish to {call['params'].get('TopicArn')}, not RDSAUDIT_DETECT_TOPIC_ARN")
            topic = str(stack_env["RDSAUDIT_DETECT_TOPIC_ARN"])
            out = [Request(entry, "sns:Publish", topic)]
            key = self.stack.template.topic_key(topic)
            if key:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    out.append(self._kms(entry, action, key, "sns", {"aws:sns:topicArn": topic}))
            return out
        if service == "events" and operation == "PutEvents":
            bus = str(stack_env["RDSAUDIT_DETECT_EVENT_BUS"])
            arn = bus if bus.startswith("arn:") else f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
            return [Request(entry, "events:PutEvents", arn)]
        if service == "securityhub" and operation == "BatchImportFindings":
            product = f"arn:{PARTITION}:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
            return [Request(entry, "securityhub:BatchImportFindings", product)]
        raise Unmapped(f"{entry}: {service}.{operation}")

    def mapped_role(self, entry: str, test_env: dict[str, str], role_arn: str) -> str:
        """The stack's role for a role ARN the test configured (RDSAUDIT_DESTINATION_ROLE_ARN)."""
        if test_env.get("RDSAUDIT_DESTINATION_ROLE_ARN") == role_arn:
            return str(self.stack.env(entry)["RDSAUDIT_DESTINATION_ROLE_ARN"])
        raise Unmapped(f"{entry}: role {role_arn} is not RDSAUDIT_DESTINATION_ROLE_ARN")

    def _kms(self, entry: str, action: str, key: str, via: str, context: dict[str, str]) -> Request:
        ctx = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
        ctx |= {"kms:ViaService": f"{via}.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}
        return Request(entry, action, key, tuple(sorted(ctx.items())), why=f"{via} calls KMS for the caller")

    def _s3(self, call: dict[str, Any]) -> list[Request]:
        entry, operation, params = call["entry"], call["operation"], call["params"]
        if operation not in S3_ACTIONS:
            raise Unmapped(f"{entry}: s3.{operation}")
        action = S3_ACTIONS[operation]
        if action == "s3:ListBucket":
            bucket, prefix = self.object(call, params.get("Prefix", ""))
            return [Request(entry, action, f"arn:{PARTITION}:s3:::{bucket}", (("s3:prefix", prefix),))]
        bucket, key = self.object(call, params["Key"])
        bucket_arn = f"arn:{PARTITION}:s3:::{bucket}"
        out = [Request(entry, action, f"{bucket_arn}/{key}")]
        if operation in ("GetObject", "HeadObject"):
            out.append(
                Request(entry, "s3:ListBucket", bucket_arn, (("s3:prefix", key),), why="a missing key answers 404")
            )
        kms_key = self.stack.template.bucket_key(bucket)
        sse_s3 = params.get("ServerSideEncryption") == "AES256"
        if kms_key and not sse_s3 and action == "s3:PutObject":
            out.append(self._kms(entry, "kms:GenerateDataKey", kms_key, "s3", {"aws:s3:arn": bucket_arn}))
        if kms_key and (operation == "GetObject" or (operation in MULTIPART and not sse_s3)):
            out.append(self._kms(entry, "kms:Decrypt", kms_key, "s3", {"aws:s3:arn": bucket_arn}))
        return out
