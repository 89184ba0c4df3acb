"""Lines whose ids, index names and documents are pinned in `pinned-transform.json`, written from the code
before issue 17 made the transform faster: at 92169c4, then again at e77c8d1 once the tokenizing masker had
merged (it masks one of these lines differently; every id and every other document stayed the same), and once
more when lines holding a credential stopped being digested with it (a fast unkeyed hash of the password would
let anyone test guesses offline; they are identified by their fields without the statement): exactly those three
lines' ids changed, nothing else. Issue 24 added fields to documents (sql_lower, sql_fingerprint,
sql_fingerprint_hash) and re-pinned the documents: every id and every other field stayed the same. Sessions (issue
22) added `table` to table events' documents and re-pinned them the same way (with `table` taken out, the
file run's records and the other runs' digests are the previous fixture's).

An id is what makes a re-sent line a duplicate rather than a second document: a changed id duplicates every
document already indexed. So the fixture is never regenerated to make a failing test pass; the transform is fixed.
Regenerate only to add lines, from a commit whose output is known to be the same:

    python -m tests.unit.pinned          # rewrites tests/unit/pinned-transform.json
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from handler.model import Context, RawEvent
from handler.transforms.batch import BatchTransformer, TransformOptions
from handler.transforms.context import cloudwatch_context
from tests.events.generate import audit_line

FIXTURE = Path(__file__).parent / "pinned-transform.json"
GROUP = "/aws/rds/cluster/pin-aurora/audit"
STREAM = "pin-aurora-instance-1.audit.log.0.2024-10-09-18-20.0.2"
FALLBACK_MS = 1_600_000_000_000  # the time of a failure line that has no time and follows no parsed line

# Lines a raw audit file can hold (no line break, not blank), in file order. The first one parses, so no line
# depends on the file's modification time.
_ODD = [
    "garbage",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x\\'y' IDENTIFIED BY \\'pw\\'',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'CREATE USER u IDENTIFIED BY \\'s3cr3t,pass\\'',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'SET PASSWORD = PASSWORD(\\'a\\\\\\'b\\')',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'unknown \\x41 \\\" \\a \\v \\0 \\1 \\q \\N \\u00e9 escapes',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'ends in a cut escape \\',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'\\\\\\\\server\\\\share \\\\\\'',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'sentinel \ue000 and \\\\ \\n',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'control \x01\x1d\x7f chars and \"quotes\"',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',0,extra,more",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',-2147483648",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x',2147483648",
    "1603439251354761,i1,admin,h,-30,-1,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,+30,1,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,\u0661\u0662,1,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,30,9223372036854775807,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,30,9223372036854775808,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,30,0000000000000000000001,QUERY,db,'x',0",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'unterminated",
    "1603439251354761,i1,admin,h,30,1,QUERY,db,'x'",
    "1603439251354761,,,,30,1,,,,",
    "9999999999999999,i1,admin,h,30,1,QUERY,db,'x',0",
    "0000000000000001,i1,admin,h,30,1,QUERY,db,'x',0",
    "20231301 10:00:00,h,u,c,1,1,QUERY,db,'x',0",
    "20240229 23:59:59,h,u,c,1,1,QUERY,db,'leap',0,,",
    "20240229 23:59:59,h,u,c,1,1,CONNECT,db,,0,TCP/IP,extra",
    "20200720 16:38:02,ip-172-27-1-97,admin,10.0.0.1,305231,1201,WRITE,rdslogstest,orders,",
    "1603439251354761,i1,admin,h,30,1,RENAME,db,t_old|db.t_new,",
    "1603439251354761,Zoë,日本,naïve,30,1,QUERY,db,'Zoë 日本 \U0001f600',0",
    "not,enough,fields",
    "still garbage after garbage",
    "\x1d",
    "  leading spaces,i1,admin,h,30,1,QUERY,db,'x',0",
]

# Events as a CloudWatch payload delivers them (line breaks, surrogates, the event's own time).
_EVENTS: list[tuple[str, int | None]] = [
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'multi\nline\r\nsql',0", 1_700_000_000_123),
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'lone \ud800 surrogate',0", 1_700_000_000_123),
    ("lone \udfff surrogate in garbage", 1_700_000_000_456),
    ("garbage with its own time", 1_700_000_000_789),
    ("garbage without a time", None),
    ("", 1_700_000_000_000),
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x',0", None),
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x',0", None),
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'x',0", 5),
    ("1603439251354761,i1,admin,h,30,1,QUERY,db,'backslash newline \\\n',0", None),
]


def file_lines() -> list[str]:
    """Generated lines of every kind (short SQL only, to keep the fixture small), repeats of earlier lines at
    several distances (ids of byte-identical lines), odd lines and runs of unparseable lines in between."""
    rng = random.Random(17)
    generated = [line for line in (audit_line(rng, n) for n in range(1500)) if len(line) <= 260][:240]
    # a few lines of the benchmark's kind: long SQL, escape after escape
    generated[10:200:30] = [line for line in (audit_line(rng, n) for n in range(1500, 1600)) if len(line) > 1500][:7]
    out: list[str] = []
    odd = iter(_ODD)
    for i, line in enumerate(generated):
        out.append(line)
        if i % 7 == 3:
            out.append(next(odd, "garbage"))
        if i % 11 == 5:
            out.append(generated[max(0, i - rng.choice([0, 1, 5, 40, 150]))])
        if i % 50 == 49:
            out += ["garbage", "garbage", "more garbage"]
    return out + list(odd)


def transform(events: list[tuple[str, int | None]], ctx: Context, options: TransformOptions) -> list[list[Any]]:
    t = BatchTransformer(ctx, options, fallback_ms=FALLBACK_MS)
    return [[a.index_name, a.doc_id, a.body.split(b"\n")[1].decode()] for a in t.actions(RawEvent(*e) for e in events)]


def runs(
    lines: list[str], events: list[tuple[str, int | None]]
) -> dict[str, tuple[list[tuple[str, int | None]], Context, TransformOptions]]:
    """The inputs of each pinned run: the lines, the context they came from, the options."""
    file_events: list[tuple[str, int | None]] = [(line, None) for line in lines]
    cw = cloudwatch_context(GROUP, STREAM, "123456789012")
    return {
        "file": (file_events, Context(instance="pin-instance"), TransformOptions()),
        "cloudwatch": (file_events + events, cw, TransformOptions()),
        "unmasked": (events + file_events, Context(), TransformOptions(index_prefix="audit", mask_secrets=False)),
    }


def compute() -> dict[str, Any]:
    """Full records for the file run (readable diffs); the others are pinned by a digest of all their records."""
    lines = file_lines()
    out: dict[str, Any] = {"about": (__doc__ or "").split("\n\n")[0], "lines": lines, "events": _EVENTS}
    for name, (events, ctx, options) in runs(lines, _EVENTS).items():
        records = transform(events, ctx, options)
        out[name] = records if name == "file" else digest(records)
    return out


def digest(records: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(records).encode()).hexdigest()


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="ascii"))
    data["events"] = [(line, ms) for line, ms in data["events"]]
    return data


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(compute(), indent=0) + "\n", encoding="ascii")
    print(f"wrote {FIXTURE}", file=sys.stderr)
