"""The one write path. Every flow (forwarder, backfill, export --index, replay, Activity Streams) hands its actions
to `Pipeline.write`, which makes sure the family's index template exists, bulk-writes with retries, dead-letters
what OpenSearch rejects (with the reason, masked) and reports what is still pending — all in one `Counts`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from handler.model import Action, Context, Counts, Rejection
from handler.sinks.bulk import BulkWriter
from handler.sinks.dead_letter import DeadLetterStore, error_reason, rejection_record

AUDIT = "audit"
ACTIVITY = "activity"
FINDINGS = "findings"  # the detect job's family: only its template is checked here (it writes through its store)


class Pipeline:
    """Writes actions of one index family (audit or activity)."""

    def __init__(
        self,
        writer: BulkWriter,
        dead_letters: DeadLetterStore,
        *,
        family: str = AUDIT,
        mask: bool = True,
        ensure_template: Callable[[], None] | None = None,
    ) -> None:
        self.writer = writer
        self.dead_letters = dead_letters
        self.family = family
        self.mask = mask
        self._ensure_template = ensure_template

    def write(self, ctx: Context, actions: Iterable[Action], *, key: str, deadline: float | None = None) -> Counts:
        """Write every action once. Rejections go to the dead-letter store under `key` (the batch's stable name,
        so a redelivered batch overwrites its own dead letters); pending actions are reported, never dropped."""
        if self._ensure_template is not None:
            self._ensure_template()
        counts = Counts()
        result = self.writer.write(_counted(actions, counts), deadline)
        counts.indexed, counts.already_present = result.indexed, result.already_present
        counts.indices = result.indices
        # known to be in each index now (a checkpoint records it): what this write indexed and what it found there
        counts.present = dict(result.indices)
        for index, n in result.already.items():
            counts.present[index] = counts.present.get(index, 0) + n
        counts.requests, counts.retries = result.requests, result.retries
        counts.pending, counts.pending_reason = len(result.pending), result.pending_reason
        counts.pending_ids = {a.doc_id for a in result.pending}
        if result.rejected:
            counts.dead_letters.append(self.dead_letter(ctx, result.rejected, key))
            counts.dead_lettered = len(result.rejected)
            for r in result.rejected:
                reason = error_reason(r.error, self.mask)[:200]
                counts.rejections[reason] = counts.rejections.get(reason, 0) + 1
        return counts

    def dead_letter(self, ctx: Context, rejected: list[Rejection], key: str) -> str:
        records = [rejection_record(r, ctx, self.family, mask=self.mask) for r in rejected]
        return self.dead_letters.write("documents", key, records)


def _counted(actions: Iterable[Action], counts: Counts) -> Iterator[Action]:
    """Counts actions as the writer consumes them (it reads lazily, one chunk at a time)."""
    for action in actions:
        counts.received += 1
        if action.flagged:
            counts.flagged += 1
        yield action
