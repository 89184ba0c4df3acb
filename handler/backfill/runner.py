"""A backfill run: list, skip finished work, process objects with N worker processes, report progress and a summary."""

from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from handler.backfill.checkpoint import Checkpoint, Progress, open_checkpoint
from handler.backfill.process import BackfillOptions, ObjectResult, process_object
from handler.config import Settings
from handler.model import Counts
from handler.sources.framing import is_skipped_object
from handler.sources.objects import ObjectRef, list_objects, open_object

if TYPE_CHECKING:
    from handler.runtime import Runtime


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

    def add(self, r: ObjectResult) -> None:
        self.read += r.read
        self.outside_window += r.outside_window
        self.counts.add(r.counts)
        self.megabytes += r.size / 1e6
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
    """A progress bar on a terminal; a plain line every `interval` seconds otherwise."""

    def __init__(self, total_objects: int, total_bytes: int, out: TextIO, interval: float = 10.0) -> None:
        self.total_objects, self.total_bytes = total_objects, total_bytes
        self.out, self.tty = out, out.isatty()
        self.interval = interval
        self.started = self._last = time.monotonic()
        self.objects = 0
        self.bytes = 0
        self.records = 0

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.2 if self.tty else self.interval):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.records / elapsed
        eta = (self.total_bytes - self.bytes) / (self.bytes / elapsed) if self.bytes else 0.0
        text = (
            f"objects {self.objects}/{self.total_objects}  records {self.records:,}  "
            f"{self.bytes / 1e6:,.1f}/{self.total_bytes / 1e6:,.1f} MB  {rate:,.0f} rec/s  ETA {eta:,.0f} s"
        )
        if self.tty:
            self.out.write("\r" + text + "\x1b[K")
        else:
            self.out.write("backfill: " + text + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


# Worker process state, built once per process by _init_worker.
_worker: dict[str, Any] = {}


def _init_worker(settings: Settings, progress_queue: Any, options: BackfillOptions, runtime: Any = None) -> None:
    """In a worker process, its own runtime (clients cannot cross processes); in-process, the caller's."""
    from handler.runtime import build_runtime

    runtime = runtime or build_runtime(settings)
    _worker["runtime"] = runtime
    _worker["pipeline"] = None if options.dry_run else runtime.pipeline()
    _worker["queue"] = progress_queue
    _worker["options"] = options


def _work(task: tuple[ObjectRef, int]) -> ObjectResult:
    ref, resume_from = task
    runtime = _worker["runtime"]
    q = _worker["queue"]
    try:
        with open_object(ref, runtime.aws("s3") if ref.uri.startswith("s3://") else None) as raw:
            return process_object(
                ref,
                raw,
                pipeline=_worker["pipeline"],
                transform=runtime.options,
                options=_worker["options"],
                resume_from=resume_from,
                on_progress=lambda position: q.put((ref.uri, ref.version, position)),
            )
    except Exception as e:  # one unreadable object must not stop the others; it is reported and counted
        return ObjectResult(uri=ref.uri, size=ref.size, resumed_from=resume_from, error=f"{type(e).__name__}: {e}")


def run_backfill(
    sources: list[str],
    runtime: Runtime,
    *,
    options: BackfillOptions,
    workers: int = 1,
    checkpoint_location: str,
    out: TextIO | None = None,
) -> Summary:
    started = time.monotonic()
    summary = Summary()
    settings = runtime.settings
    s3 = runtime.aws("s3") if any(source.startswith("s3://") for source in sources) else None
    refs = [ref for source in sources for ref in list_objects(source, s3)]
    checkpoint: Checkpoint | None = None if options.dry_run else open_checkpoint(checkpoint_location)
    tasks: list[tuple[ObjectRef, int]] = []
    for ref in refs:
        summary.objects += 1
        if is_skipped_object(ref.key):
            summary.skipped += 1
            continue
        seen = checkpoint.get(ref.uri) if checkpoint else None
        if seen is not None and seen.version == ref.version:
            if seen.done:
                summary.finished_earlier += 1
                continue
            tasks.append((ref, seen.position))
        else:
            tasks.append((ref, 0))

    display = Display(len(tasks), sum(ref.size for ref, _ in tasks), out or sys.stderr)
    # where each object stands; starts at its resume point, so the display counts only this run's records
    positions = {ref.uri: resume_from for ref, resume_from in tasks}
    lock = threading.Lock()
    last_flush = [time.monotonic()]

    def record_progress(uri: str, version: str, position: int) -> None:
        with lock:
            display.records += position - positions[uri]
            positions[uri] = position
            if checkpoint is not None:
                checkpoint.put(uri, Progress(version, position, False))
                if time.monotonic() - last_flush[0] > 1.0:
                    checkpoint.flush()
                    last_flush[0] = time.monotonic()
            display.update()

    def finish(result: ObjectResult, version: str) -> None:
        with lock:
            summary.add(result)
            display.objects += 1
            display.bytes += result.size
            if checkpoint is not None and not result.error:
                checkpoint.put(result.uri, Progress(version, result.position, True))
                checkpoint.flush()
                last_flush[0] = time.monotonic()
            display.update()

    versions = {ref.uri: ref.version for ref, _ in tasks}
    if workers <= 1:
        progress_q: Any = _DirectQueue(record_progress)
        _init_worker(settings, progress_q, options, runtime)
        for task in tasks:
            finish(_work(task), task[0].version)
    else:
        ctx = multiprocessing.get_context("spawn")
        progress_q = ctx.Queue()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set() or not progress_q.empty():
                try:
                    uri, version, position = progress_q.get(timeout=0.2)
                except queue.Empty:
                    continue
                record_progress(uri, version, position)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        with ctx.Pool(workers, initializer=_init_worker, initargs=(settings, progress_q, options)) as pool:
            for result in pool.imap_unordered(_work, tasks):
                finish(result, versions[result.uri])
        stop.set()
        reader.join()
    if checkpoint is not None:
        checkpoint.flush()
    display.update(force=True)
    display.close()
    summary.elapsed = time.monotonic() - started
    return summary


class _DirectQueue:
    """In-process stand-in for the progress queue when there is one worker."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def put(self, item: tuple[str, str, int]) -> None:
        self.handle(*item)
