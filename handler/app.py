"""Lambda entries. Settings and clients are built once per cold start; each invocation runs the pipeline and
either returns its outcome or raises so Lambda redelivers (safe: document ids are idempotent)."""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from handler.config import Settings
from handler.errors import IncompleteWrite
from handler.pipeline import forward_subscription_event
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore, dead_letter_store
from handler.transforms.batch import TransformOptions

logger = logging.getLogger("rdsaudit")
# Lambda's root logger passes records at any level to CloudWatch; the level is ours to choose.
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


class Runtime:
    """Settings and clients built once per container."""

    def __init__(
        self,
        settings: Settings,
        client: Any,
        writer: BulkWriter,
        dead_letters: DeadLetterStore,
        options: TransformOptions,
    ) -> None:
        self.settings = settings
        self.client = client
        self.writer = writer
        self.dead_letters = dead_letters
        self.options = options
        self.templates_checked: set[str] = set()  # index templates already checked in this container


_runtime: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    from handler.sinks.opensearch import build_client, bulk_sender

    client = build_client(settings)
    writer = BulkWriter(
        bulk_sender(client),
        max_bytes=settings.bulk_max_bytes,
        max_actions=settings.bulk_max_actions,
        max_attempts=settings.max_attempts,
        request_timeout=settings.request_timeout,
    )
    return Runtime(
        settings=settings,
        client=client,
        writer=writer,
        dead_letters=dead_letter_store(settings.dead_letter),
        options=TransformOptions(index_prefix=settings.index_prefix, mask_secrets=settings.mask_secrets),
    )


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(Settings.from_env())
    return _runtime


def reset_runtime() -> None:
    """Forget the cached settings and clients (tests, or after the environment changed)."""
    global _runtime
    _runtime = None


def emit(line: dict[str, Any], level: str = "INFO") -> None:
    """One JSON object per line on stdout: Lambda stores it as is, so CloudWatch metric filters such as
    `{ $.dead_lettered > 0 }` can read it (a logging handler would prefix it with level, time and request id)."""
    print(json.dumps({"level": level, **line}, default=str), flush=True)


def _prepare(context: Any, *, activity: bool = False) -> tuple[Runtime, float | None]:
    """The cached runtime, the entry's index template (audit, or Activity Streams) checked once per container,
    and this invocation's deadline."""
    runtime = get_runtime()
    settings = runtime.settings
    prefix = settings.activity_prefix if activity else settings.index_prefix
    if settings.ensure_template and prefix not in runtime.templates_checked:
        from handler.mappings import activity_index_template, index_template
        from handler.setup import ClusterSetup

        body = activity_index_template(prefix) if activity else index_template(prefix)
        ClusterSetup(runtime.client, prefix).template(body, prefix)
        runtime.templates_checked.add(prefix)
    deadline = None
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining_ms):
        deadline = time.monotonic() + remaining_ms() / 1000 - runtime.settings.deadline_margin
    return runtime, deadline


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """CloudWatch Logs subscription → OpenSearch."""
    runtime, deadline = _prepare(context)

    outcome = forward_subscription_event(
        event,
        writer=runtime.writer,
        dead_letters=runtime.dead_letters,
        options=runtime.options,
        deadline=deadline,
    )
    line = {"msg": "invocation", "request_id": getattr(context, "aws_request_id", None), **outcome.as_log()}
    if outcome.pending:
        emit(line, "ERROR")
        raise IncompleteWrite(outcome.pending, outcome.pending_reason)
    emit(line)
    return outcome.as_log()


def backfill_handler(event: Any, context: Any) -> dict[str, Any]:
    """One S3 object per item (Step Functions Distributed Map), or the objects of an S3 event notification.

    Progress is checkpointed per segment when RDSAUDIT_CHECKPOINT is set, so an invocation that runs out of time
    raises and its retry resumes where it stopped.
    """
    from handler.backfill.lambda_entry import backfill_objects

    runtime, deadline = _prepare(context)
    summary = backfill_objects(event, runtime, deadline)
    line = {"msg": "backfill", "request_id": getattr(context, "aws_request_id", None), **summary}
    emit(line)
    return summary


def setup_handler(event: Any, context: Any) -> dict[str, Any]:
    """CloudFormation custom resource (CDK Provider framework `onEvent`): run `rdsaudit setup` on Create and
    Update, so the subscriptions that depend on it start only once the template exists. Delete keeps the data."""
    from handler.setup import SetupOptions, run_setup

    settings = Settings.from_env()
    props = event.get("ResourceProperties", {})
    physical_id = event.get("PhysicalResourceId") or f"rdsaudit-setup-{settings.index_prefix}"
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": physical_id}
    warm = props.get("WarmAfterDays")
    options = SetupOptions(
        retention_days=int(props.get("RetentionDays", 90)),
        warm_after_days=int(warm) if warm not in (None, "") else None,
        role_arns=[r for r in props.get("RoleArns", []) if r],
        dashboards_url=props.get("DashboardsUrl") or None,
    )
    changes, _ = run_setup(settings, options)
    for change in changes:
        emit({"msg": "setup", "change": str(change)})
    return {"PhysicalResourceId": physical_id, "Data": {"Changes": "; ".join(map(str, changes))[:3000]}}


def _activity_runtime(context: Any) -> tuple[Runtime, float | None, Any]:
    """The runtime with the Activity Streams template checked (not the audit one), and a per-invocation
    decryptor factory."""
    runtime, deadline = _prepare(context, activity=True)
    settings = runtime.settings
    import boto3

    from handler.errors import DecodeError
    from handler.sources.activity_streams import Decryptor, cluster_id_from_stream_arn

    kms = boto3.client("kms")
    decryptors: dict[str, Decryptor] = {}  # data keys are reused within this invocation only

    def decryptor_for(stream_arn: str | None) -> Decryptor:
        cluster = settings.das_cluster_id or cluster_id_from_stream_arn(stream_arn)
        if not cluster:
            raise DecodeError(f"no cluster resource id: stream {stream_arn!r} is not aws-rds-das-<id>")
        if cluster not in decryptors:
            decryptors[cluster] = Decryptor(kms, cluster)
        return decryptors[cluster]

    return runtime, deadline, decryptor_for


def activity_kinesis_handler(event: Any, context: Any) -> dict[str, Any]:
    """Kinesis event source mapping on aws-rds-das-<cluster>: partial batch response."""
    from handler.activity import process_kinesis

    runtime, deadline, decryptor_for = _activity_runtime(context)
    result = process_kinesis(
        event,
        decryptor_for,
        writer=runtime.writer,
        dead_letters=runtime.dead_letters,
        prefix=runtime.settings.activity_prefix,
        mask=runtime.settings.mask_secrets,
        deadline=deadline,
    )
    summary = {k: v for k, v in result.items() if k != "batchItemFailures"}
    emit({"msg": "activity", **summary, "failed_records": len(result["batchItemFailures"])})
    return {"batchItemFailures": result["batchItemFailures"]}


def activity_firehose_handler(event: Any, context: Any) -> dict[str, Any]:
    """Firehose data transformation: encrypted Activity Streams records in, decrypted documents out."""
    from handler.activity import process_firehose

    runtime, _, decryptor_for = _activity_runtime(context)
    return process_firehose(
        event,
        decryptor_for,
        prefix=runtime.settings.activity_prefix,
        mask=runtime.settings.mask_secrets,
        dead_letters=runtime.dead_letters,
    )


def export_handler(event: Any, context: Any) -> dict[str, Any]:
    """Scheduled RDS log-file export: instances from the event ({"instances": [...]}) or RDSAUDIT_EXPORT_INSTANCES."""
    from handler.export.run import export_all

    instances = (event or {}).get("instances") or [
        i.strip() for i in os.environ.get("RDSAUDIT_EXPORT_INSTANCES", "").split(",") if i.strip()
    ]
    results = export_all(
        instances,
        bucket=os.environ["RDSAUDIT_EXPORT_BUCKET"],
        prefix=os.environ.get("RDSAUDIT_EXPORT_PREFIX", ""),
        index=os.environ.get("RDSAUDIT_EXPORT_INDEX", "false").lower() == "true",
    )
    emit({"msg": "export", "results": results})
    failed = [r for r in results if "error" in r]
    if failed and len(failed) == len(results):
        raise RuntimeError(f"export failed for every instance: {failed}")
    return {"results": results}


def subscribe_handler(event: Any, context: Any) -> dict[str, Any]:
    """EventBridge (CloudTrail CreateLogGroup): subscribe a new RDS audit log group to the forwarder."""
    import boto3

    from handler.subscribe import log_group_from_event, subscribe

    group = log_group_from_event(event)
    if group is None:
        return {"result": "ignored", "reason": "no log group in the event"}
    result = subscribe(boto3.client("logs"), group, os.environ["RDSAUDIT_FORWARDER_ARN"])
    emit({"msg": "subscribe", "log_group": group, "result": result})
    return {"log_group": group, "result": result}
