"""What a backfill run shows: a progress line (a bar on a terminal) refreshed at least once a second, and the
summary, which counts everything written — also before a failure or an interruption."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from handler.backfill.process import ObjectResult
from handler.model import Counts


@dataclass
class Summary:
    objects: int = 0
    finished_earlier: int = 0
    skipped: int = 0
    failed: int = 0
    read: int = 0
    outside_window: int = 0
    megabytes: float = 0.0
    elapsed: float = 0.0
    counts: Counts = field(default_factory=Counts)
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the run decided and why (checkpoint use, redone objects)

    def add(self, r: ObjectResult) -> None:
        self.read += r.read
        self.outside_window += r.outside_window
        self.counts.add(r.counts)
        self.megabytes += r.bytes_read / 1e6
        if r.error:
            self.failed += 1
            self.failures.append((r.uri, r.error))

    def lines(self) -> list[str]:
        rate = self.read / self.elapsed if self.elapsed > 0 else 0.0
        mb_rate = self.megabytes / self.elapsed if self.elapsed > 0 else 0.0
        out = [
            f"objects: {self.objects} ({self.finished_earlier} finished earlier, {self.skipped} skipped, "
            f"{self.failed} failed)",
            f"records: {self.read:,}  outside window: {self.outside_window:,}",
            self.counts.line(),
            f"elapsed: {self.elapsed:.1f} s  rate: {rate:,.0f} records/s  {mb_rate:.1f} MB/s",
        ]
        out += [f"FAILED {uri}: {error}" for uri, error in self.failures]
        return out


class Display:
    """A progress bar on a terminal; a plain line every `interval` seconds otherwise. Progress inside an object is
    counted in bytes read, so one large file moves the bar too."""

    def __init__(self, total_objects: int, total_bytes: int, out: TextIO, interval: float = 10.0) -> None:
        self.total_objects, self.total_bytes = total_objects, total_bytes
        self.out, self.tty = out, out.isatty()
        self.interval = interval
        self.started = self._last = time.monotonic()
        self.finished = 0
        self.failed = 0
        self.records = 0
        self._bytes: dict[str, int] = {}  # bytes read so far, per object
        self._shown = False

    def bytes_read(self, uri: str, n: int) -> None:
        self._bytes[uri] = n

    def update(self, force: bool = False) -> None:
        """`force` redraws a terminal's bar at once; a plain log (CI, a file) gets a line every `interval` only."""
        now = time.monotonic()
        if not (force and self.tty) and now - self._last < (0.2 if self.tty else self.interval):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        done = sum(self._bytes.values())
        rate = done / elapsed
        eta = f"ETA {(self.total_bytes - done) / rate:,.0f} s" if rate > 0 and done < self.total_bytes else "ETA -"
        failed = f" ({self.failed} failed)" if self.failed else ""
        text = (
            f"objects {self.finished}/{self.total_objects}{failed}  records {self.records:,}  "
            f"{done / 1e6:,.1f}/{self.total_bytes / 1e6:,.1f} MB  {self.records / elapsed:,.0f} rec/s  {eta}"
        )
        if self.tty:
            self.out.write("\r" + text + "\x1b[K")
        else:
            self.out.write("backfill: " + text + "\n")
        self._shown = True
        self.out.flush()

    def close(self) -> None:
        if self.tty and self._shown:
            self.out.write("\n")
            self.out.flush()
