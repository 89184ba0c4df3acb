"""Cluster and instance names derived from CloudWatch log group and stream names. Pure."""

from __future__ import annotations

from functools import lru_cache

from handler.model import Context

_CLUSTER_GROUP = "/aws/rds/cluster/"
_INSTANCE_GROUP = "/aws/rds/instance/"


def cloudwatch_context(
    log_group: str | None, log_stream: str | None, owner: str | None, region: str | None = None
) -> Context:
    cluster = instance = None
    if log_group:
        if log_group.startswith(_CLUSTER_GROUP):
            cluster = _middle(log_group, _CLUSTER_GROUP)
            # Aurora streams are `<instance>.audit.log.<n>.<date>...`: the instance precedes the first dot.
            if log_stream:
                instance = log_stream.split(".", 1)[0] or None
        elif log_group.startswith(_INSTANCE_GROUP):
            instance = _middle(log_group, _INSTANCE_GROUP)
    return Context(
        log_group=log_group, log_stream=log_stream, owner=owner, cluster=cluster, instance=instance, region=region
    )


def _middle(log_group: str, head: str) -> str | None:
    name = log_group[len(head) :].split("/", 1)[0]
    return name or None


@lru_cache(maxsize=256)
def context_fields(ctx: Context) -> dict[str, str]:
    """The context's non-empty fields as document fields, in the documents' order. Computed once per context (a
    batch has one) rather than once per line; callers copy it into their documents and never change it."""
    names = ("log_group", "log_stream", "owner", "cluster", "instance", "region")
    return {name: value for name, value in zip(names, ctx, strict=True) if value}
