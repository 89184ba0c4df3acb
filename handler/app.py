"""Lambda entries, and nothing else: each turns its event into a job run on the process's Runtime and writes one
JSON line. Nothing imports this module; the runtime is cached here, once per execution environment."""

from __future__ import annotations

import json
from typing import Any

from handler.config import Settings
from handler.errors import IncompleteWrite
from handler.runtime import Runtime, build_runtime

_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        settings = Settings.from_env()
        from handler.logs import configure_logging

        configure_logging(settings.log_level)
        _runtime = build_runtime(settings)
    return _runtime


def reset_runtime() -> None:
    """Forget the cached settings and clients (tests, or after the environment changed)."""
    global _runtime
    _runtime = None


def emit(line: dict[str, Any], level: str = "INFO") -> None:
    """One JSON object per line on stdout: Lambda stores it as is, so CloudWatch metric filters such as
    `{ $.dead_lettered > 0 }` can read it (a logging handler would prefix it with level, time and request id)."""
    print(json.dumps({"level": level, **line}, default=str), flush=True)


def _request_id(context: Any) -> Any:
    return getattr(context, "aws_request_id", None)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """CloudWatch Logs subscription → OpenSearch. Raises while documents are pending, so Lambda redelivers."""
    from handler.forward import forward_event

    runtime = get_runtime()
    deadline = runtime.deadline(context)
    # A log group subscribed straight to the function is in the function's region (AWS_REGION, set by Lambda).
    region = runtime.settings.aws_region or None
    outcome = forward_event(event, runtime.pipeline(), runtime.options, deadline, region)
    log = outcome.as_log()
    emit(
        {"msg": "invocation", "request_id": _request_id(context), **log}, "ERROR" if outcome.counts.pending else "INFO"
    )
    if outcome.counts.pending:
        raise IncompleteWrite(outcome.counts.pending, outcome.counts.pending_reason)
    return log


def kinesis_handler(event: Any, context: Any) -> dict[str, Any]:
    """Kinesis event source mapping on a collecting stream (CloudWatch Logs destinations of member accounts):
    partial batch response; raises only when a batch cannot be written at all (refused, dead letters failing)."""
    from handler.collect import forward_kinesis

    runtime = get_runtime()
    deadline = runtime.deadline(context)
    outcome = forward_kinesis(event, runtime.pipeline(), runtime.options, deadline)
    emit(
        {"msg": "collect", "request_id": _request_id(context), **outcome.as_log()},
        "ERROR" if outcome.failures else "INFO",
    )
    return outcome.response()


def backfill_handler(event: Any, context: Any) -> dict[str, Any]:
    """One S3 object per item (Step Functions Distributed Map), an S3 notification or an EventBridge event."""
    from handler.backfill.lambda_entry import backfill_objects

    runtime = get_runtime()
    summary = backfill_objects(event, runtime, runtime.deadline(context))
    emit({"msg": "backfill", "request_id": _request_id(context), **summary})
    return summary


def setup_handler(event: Any, context: Any) -> dict[str, Any]:
    """CloudFormation custom resource (CDK Provider `onEvent`): `rdsaudit setup` on Create and Update, so the
    subscriptions that depend on it start only once the template exists. Delete keeps the data."""
    from handler.setup import run_setup
    from handler.setup.custom_resource import options_from_properties

    runtime = get_runtime()
    physical_id = event.get("PhysicalResourceId") or f"rdsaudit-setup-{runtime.settings.index_prefix}"
    if event.get("RequestType") == "Delete":
        return {"PhysicalResourceId": physical_id}
    options = options_from_properties(event.get("ResourceProperties", {}))
    changes, _ = run_setup(runtime.settings, options, runtime.client)
    for change in changes:
        emit({"msg": "setup", "change": str(change)})
    return {"PhysicalResourceId": physical_id, "Data": {"Changes": "; ".join(map(str, changes))[:3000]}}


def activity_kinesis_handler(event: Any, context: Any) -> dict[str, Any]:
    """Kinesis event source mapping on aws-rds-das-<cluster>: partial batch response."""
    from handler.activity import decryptors, process_kinesis

    runtime = get_runtime()
    deadline = runtime.deadline(context)
    failures, counts, extra = process_kinesis(event, runtime, decryptors(runtime, deadline), deadline)
    emit({"msg": "activity", "request_id": _request_id(context), **counts.as_log(), **extra})
    return {"batchItemFailures": failures}


def activity_firehose_handler(event: Any, context: Any) -> dict[str, Any]:
    """Firehose data transformation: encrypted Activity Streams records in, decrypted documents out."""
    from handler.activity import decryptors, process_firehose

    runtime = get_runtime()
    deadline = runtime.deadline(context)
    return process_firehose(event, runtime, decryptors(runtime, deadline))


def export_handler(event: Any, context: Any) -> dict[str, Any]:
    """Scheduled RDS log-file export: instances from the event ({"instances": [...]}) or RDSAUDIT_EXPORT_INSTANCES."""
    from handler.export.run import export_from_event

    results = export_from_event(event, get_runtime())
    emit({"msg": "export", "results": results})
    return {"results": results}


def subscribe_handler(event: Any, context: Any) -> dict[str, Any]:
    """EventBridge (CloudTrail CreateLogGroup): subscribe a new RDS audit log group to the forwarder."""
    from handler.subscribe import subscribe_from_event

    result = subscribe_from_event(event, get_runtime())
    emit({"msg": "subscribe", **result})
    return result


def detect_handler(event: Any, context: Any) -> dict[str, Any]:
    """EventBridge Scheduler, every few minutes: the window rules over the time since the previous run, then the
    notifications of new findings (SNS, EventBridge, Security Hub as configured)."""
    from datetime import UTC, datetime

    from handler.detect.lambda_entry import detect_scheduled

    result = detect_scheduled(event, get_runtime(), datetime.now(UTC))
    notified = result["notify"]
    failed = sum(notified["failed"].values()) + notified["marks_failed"]
    emit({"msg": "detect", "request_id": _request_id(context), **result}, "ERROR" if failed else "INFO")
    return result
