"""The backfill Lambda's work: each named object through process_object, with a per-object S3 checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.backfill.checkpoint import Progress, S3Checkpoints
from handler.backfill.process import BackfillOptions, process_object
from handler.errors import DecodeError
from handler.sources.objects import head_object, open_object, s3_client, targets_from_event
from handler.sources.s3 import is_skipped_object

if TYPE_CHECKING:
    from handler.app import Runtime


def backfill_objects(event: Any, runtime: Runtime, deadline: float | None) -> dict[str, Any]:
    s3 = s3_client()
    checkpoint = S3Checkpoints(runtime.settings.checkpoint, s3) if runtime.settings.checkpoint else None
    totals: dict[str, Any] = {
        "objects": 0,
        "records": 0,
        "indexed": 0,
        "already_present": 0,
        "flagged": 0,
        "dead_lettered": 0,
        "finished_earlier": 0,
        "failed": [],
    }
    for bucket, key in targets_from_event(event):
        totals["objects"] += 1
        if is_skipped_object(key):
            continue
        ref = head_object(bucket, key, s3)
        seen = checkpoint.get(ref.uri) if checkpoint else None
        resume = 0
        if seen is not None and seen.version == ref.version:
            if seen.done:
                totals["finished_earlier"] += 1
                continue
            resume = seen.position

        def save(position: int, ref_uri: str = ref.uri, version: str = ref.version) -> None:
            if checkpoint is not None:
                checkpoint.put(ref_uri, Progress(version, position, False))

        with open_object(ref, s3) as raw:
            # IncompleteWrite propagates: the retry resumes from the last saved segment.
            result = process_object(
                ref,
                raw,
                writer=runtime.writer,
                dead_letters=runtime.dead_letters,
                transform=runtime.options,
                options=BackfillOptions(),
                resume_from=resume,
                on_progress=save,
                deadline=deadline,
            )
        if result.error:
            # Unreadable content will not improve with retries: report it as a failure of this item.
            raise DecodeError(f"{ref.uri}: {result.error}")
        if checkpoint is not None:
            checkpoint.put(ref.uri, Progress(ref.version, result.position, True))
        for k in ("indexed", "already_present", "flagged", "dead_lettered"):
            totals[k] += getattr(result, k)
        totals["records"] += result.events
    return totals
