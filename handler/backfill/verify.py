"""A checkpoint is trusted only as far as the cluster still holds what it recorded: before resuming, one cheap
look at the indices it wrote (document counts) decides which finished objects must be indexed again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handler.backfill.checkpoint import LocalManifest
from handler.sources.objects import ObjectRef

if TYPE_CHECKING:
    from handler.runtime import Runtime


def recheck(checkpoint: LocalManifest, refs: list[ObjectRef], runtime: Runtime) -> list[str]:
    """Forget the progress of every object that wrote to an index now missing or holding fewer documents than
    recorded (a recreated node, a deleted index); return what was decided, for the summary."""
    notes = [f"checkpoint {checkpoint.path} {checkpoint.stale}: starting over"] if checkpoint.stale else []
    listed = {ref.uri for ref in refs}
    recorded: dict[str, int] = {}
    writers: dict[str, list[str]] = {}
    for uri in checkpoint.uris():
        progress = checkpoint.get(uri)
        if progress is None or uri not in listed:
            continue
        for index, n in progress.indices.items():
            recorded[index] = recorded.get(index, 0) + n
            writers.setdefault(index, []).append(uri)
    if not recorded:
        return notes
    if runtime.engine().serverless:
        # No _refresh there, so fresh documents may not be counted yet; and a time series collection would store
        # whatever is indexed again twice (no ids). Trusting the checkpoint is the lesser risk.
        return [*notes, "checkpoint: trusted as recorded on OpenSearch Serverless (--restart indexes everything again)"]
    held = _document_counts(runtime, list(recorded))
    if held is None:
        return [
            *notes,
            "checkpoint: the cluster would not say what its indices hold; trusting the checkpoint "
            "(--restart indexes everything again)",
        ]
    redo: set[str] = set()
    for index, n in sorted(recorded.items()):
        if held.get(index, 0) < n:
            redo.update(writers[index])
            notes.append(
                f"checkpoint: {index} holds {held.get(index, 0):,} documents where {n:,} were recorded: "
                f"indexing again the {len(writers[index])} "
                f"{'object' if len(writers[index]) == 1 else 'objects'} that wrote to it"
            )
    for uri in redo:
        checkpoint.forget(uri)
    return notes


def _document_counts(runtime: Runtime, indices: list[str]) -> dict[str, int] | None:
    from opensearchpy.exceptions import AuthorizationException, NotFoundError

    client = runtime.client
    from handler.read.patterns import audit_pattern

    pattern = audit_pattern(runtime.settings.index_prefix)
    try:
        # Documents written a moment ago are counted only once refreshed.
        client.indices.refresh(index=pattern, allow_no_indices=True, ignore_unavailable=True)
        rows = client.cat.indices(index=pattern, format="json", h="index,docs.count")
    except NotFoundError:
        return {}
    except AuthorizationException:
        return None
    return {row["index"]: int(row.get("docs.count") or 0) for row in rows if row["index"] in set(indices)}
