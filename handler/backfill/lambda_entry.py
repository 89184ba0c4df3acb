"""The backfill Lambda's job: each named object through process_object, with a per-object S3 checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.backfill.checkpoint import Progress, S3Checkpoints
from handler.backfill.process import BackfillOptions, process_object
from handler.errors import DecodeError, IncompleteWrite
from handler.model import Counts
from handler.sources.framing import is_skipped_object
from handler.sources.objects import head_object, open_object, targets_from_event

if TYPE_CHECKING:
    from handler.runtime import Runtime


def backfill_objects(event: Any, runtime: Runtime, deadline: float | None) -> dict[str, Any]:
    s3 = runtime.aws("s3")
    checkpoint = S3Checkpoints(runtime.settings.checkpoint, s3) if runtime.settings.checkpoint else None
    counts = Counts()
    objects = finished_earlier = skipped = 0
    for bucket, key in targets_from_event(event):
        objects += 1
        if is_skipped_object(key):
            skipped += 1
            continue
        ref = head_object(bucket, key, s3)
        seen = checkpoint.get(ref.uri) if checkpoint else None
        resume = 0
        if seen is not None and seen.version == ref.version:
            if seen.done:
                finished_earlier += 1
                continue
            resume = seen.position

        def save(position: int, present: dict[str, int], ref_uri: str = ref.uri, version: str = ref.version) -> None:
            if checkpoint is not None:
                checkpoint.put(ref_uri, Progress(version, position, False, dict(present)))

        with open_object(ref, s3) as raw:
            result = process_object(
                ref,
                raw,
                pipeline=runtime.pipeline(),
                transform=runtime.options,
                options=BackfillOptions(),
                resume_from=resume,
                on_progress=save,
                deadline=deadline,
            )
        counts.add(result.counts)
        if result.incomplete:
            # The retry resumes from the last saved segment.
            raise IncompleteWrite(result.counts.pending, result.error)
        if result.error:
            # Unreadable content will not improve with retries: report it as a failure of this item.
            raise DecodeError(f"{ref.uri}: {result.error}")
        if checkpoint is not None:
            checkpoint.put(ref.uri, Progress(ref.version, result.position, True, dict(result.counts.present)))
    return {"objects": objects, "finished_earlier": finished_earlier, "skipped": skipped, **counts.as_log()}
