"""Stop early on inputs that are not audit logs: a binary file or a source tree would otherwise be indexed as
thousands of parse failures. Pure: events in, the same events out, or NotAuditLog."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from handler.errors import NotAuditLog
from handler.model import RawEvent
from handler.transforms.audit_line import AuditRecord, parse_line
from handler.transforms.sql_secrets import mask_raw_line

SAMPLE = 1000


def audit_lines_only(events: Iterable[RawEvent], name: str, *, force: bool = False) -> Iterator[RawEvent]:
    """The events, unchanged, once most of the first SAMPLE have parsed as audit lines (or `force`)."""
    it = iter(events)
    head = list(islice(it, SAMPLE))
    if not force and head:
        bad = [e.line for e in head if not isinstance(parse_line(e.line), AuditRecord)]
        if len(bad) * 2 > len(head):
            # the message is printed and logged: a line it quotes is masked like everything we write
            example = mask_raw_line(bad[0])[:60].encode("unicode_escape").decode("ascii")
            raise NotAuditLog(
                f"{name} does not look like an audit log: {len(bad)} of its first {len(head)} lines are not "
                f"audit lines (e.g. '{example}'); pass --force to index them anyway, flagged as parse failures"
            )
    yield from head
    yield from it
