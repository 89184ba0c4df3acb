"""A backfill run: list, decide what is left to do from a checkpoint that can't lie, process objects with N worker
processes, show progress, and stop cleanly on Ctrl-C (the checkpoint then says where a rerun resumes)."""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from handler.backfill.checkpoint import Checkpoint, LocalManifest, Progress
from handler.backfill.process import BackfillOptions, ObjectResult, process_object
from handler.backfill.progress import Display, Summary
from handler.backfill.verify import recheck
from handler.config import Settings
from handler.errors import InputError, Interrupted
from handler.sources.framing import is_skipped_object
from handler.sources.objects import ObjectRef, list_objects, open_object

if TYPE_CHECKING:
    from handler.runtime import Runtime

# Worker process state, built once per process by _init_worker.
_worker: dict[str, Any] = {}
_BYTES_EVERY = 0.5  # seconds between byte-progress messages from a worker


def _init_worker(settings: Settings, progress_queue: Any, options: BackfillOptions, runtime: Any = None) -> None:
    """In a worker process, its own runtime (clients cannot cross processes); in-process, the caller's."""
    from handler.runtime import build_runtime

    if runtime is None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle, once
        from handler.logs import configure_logging

        configure_logging(settings.log_level)
        runtime = build_runtime(settings)
    _worker["runtime"] = runtime
    _worker["pipeline"] = None if options.dry_run else runtime.pipeline()
    _worker["queue"] = progress_queue
    _worker["options"] = options


def _work(task: tuple[ObjectRef, int]) -> ObjectResult:
    from handler.errors import NotAuditLog

    ref, resume_from = task
    runtime = _worker["runtime"]
    q = _worker["queue"]
    result = ObjectResult(uri=ref.uri, size=ref.size, resumed_from=resume_from)
    sent = [0.0]

    def on_bytes(n: int) -> None:
        now = time.monotonic()
        if now - sent[0] >= _BYTES_EVERY:
            sent[0] = now
            q.put(("read", ref.uri, n, result.read))

    try:
        with open_object(ref, runtime.aws("s3") if ref.uri.startswith("s3://") else None) as raw:
            process_object(
                ref,
                raw,
                pipeline=_worker["pipeline"],
                transform=runtime.options,
                options=_worker["options"],
                resume_from=resume_from,
                on_progress=lambda position, present: q.put(("position", ref.uri, ref.version, position, present)),
                on_bytes=on_bytes,
                result=result,
            )
    except NotAuditLog:
        raise  # stops the whole run: the next objects are most likely the same mistake
    except Exception as e:  # one unreadable object must not stop the others; it is reported and counted
        from handler.explain import describe

        result.error = describe(e, runtime.settings)[0]
    return result


class _Run:
    """The parent's bookkeeping: checkpoint, display and summary, fed by progress messages and results."""

    def __init__(self, checkpoint: Checkpoint | None, display: Display, summary: Summary) -> None:
        self.checkpoint, self.display, self.summary = checkpoint, display, summary
        self.lock = threading.Lock()
        self.positions: dict[str, int] = {}
        self.base: dict[str, dict[str, int]] = {}  # documents per index an earlier run recorded, per object
        self.checkpointed = 0  # records of this run recorded in the checkpoint
        self.last_flush = time.monotonic()

    def message(self, item: tuple[Any, ...]) -> None:
        with self.lock:
            if item[0] == "read":
                self.display.read(item[1], item[2], item[3])
            else:
                _, uri, version, position, present = item
                self.checkpointed += position - self.positions.get(uri, position)
                self.positions[uri] = position
                if self.checkpoint is not None:
                    self.checkpoint.put(uri, Progress(version, position, False, self._indices(uri, present)))
                    if time.monotonic() - self.last_flush > 1.0:
                        self.flush()
            self.display.update()

    def finish(self, result: ObjectResult, version: str) -> None:
        with self.lock:
            self.summary.add(result)
            self.display.finished += 1
            self.display.failed += bool(result.error)
            self.display.read(result.uri, result.size if not result.error else result.bytes_read, result.read)
            if not result.error:
                self.checkpointed += result.position - self.positions.get(result.uri, result.position)
                self.positions[result.uri] = result.position
            if self.checkpoint is not None and not result.error:
                indices = self._indices(result.uri, result.counts.present)
                self.checkpoint.put(result.uri, Progress(version, result.position, True, indices))
                self.flush()
            self.display.update(force=True)

    def _indices(self, uri: str, present: dict[str, int]) -> dict[str, int]:
        merged = dict(self.base.get(uri, {}))
        for index, n in present.items():
            merged[index] = merged.get(index, 0) + n
        return merged

    def flush(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint.flush()
        self.last_flush = time.monotonic()

    def tick(self) -> None:
        """Redraw a terminal's bar while nothing arrives (a slow request); never waits for a busy lock, and a plain
        log keeps its own, slower, pace."""
        if self.lock.acquire(blocking=False):
            try:
                self.display.update(force=self.display.tty)
            finally:
                self.lock.release()


def run_backfill(
    sources: list[str],
    runtime: Runtime,
    *,
    options: BackfillOptions,
    workers: int = 1,
    checkpoint: Checkpoint | None,
    out: TextIO | None = None,
) -> Summary:
    started = time.monotonic()
    summary = Summary()
    s3 = runtime.aws("s3") if any(source.startswith("s3://") for source in sources) else None
    refs = []
    for source in sources:
        found = list(list_objects(source, s3))
        if not found:
            raise InputError(f"no objects under {source}: check the path (or the bucket and prefix)")
        refs += found
    if isinstance(checkpoint, LocalManifest) and not options.dry_run:
        summary.notes += recheck(checkpoint, refs, runtime)
    tasks: list[tuple[ObjectRef, int]] = []
    display = Display(0, 0, out or sys.stderr)
    run = _Run(checkpoint, display, summary)
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
            run.base[ref.uri] = seen.indices
            tasks.append((ref, seen.position))
            summary.resumed += 1
            summary.done_earlier += seen.position
        else:
            tasks.append((ref, 0))
    display.total_objects, display.total_bytes = len(tasks), sum(ref.size for ref, _ in tasks)
    run.positions = {ref.uri: resume_from for ref, resume_from in tasks}

    ticker = _Ticker(run.tick)
    ticker.start()
    try:
        if workers <= 1:
            _init_worker(runtime.settings, _DirectQueue(run.message), options, runtime)
            for task in tasks:
                run.finish(_work(task), task[0].version)
        else:
            _in_processes(tasks, workers, runtime.settings, options, run)
    except KeyboardInterrupt:
        run.flush()
        display.close()
        raise Interrupted(
            f"interrupted: {run.checkpointed:,} records of this run are in the checkpoint ({display.finished} of "
            f"{len(tasks)} objects done); rerun the same command to resume (documents written after the last "
            "checkpoint are then found already present)"
        ) from None
    finally:
        ticker.stop()
    run.flush()
    display.update(force=True)
    display.close()
    summary.elapsed = time.monotonic() - started
    return summary


def _in_processes(
    tasks: list[tuple[ObjectRef, int]], workers: int, settings: Settings, options: BackfillOptions, run: _Run
) -> None:
    ctx = multiprocessing.get_context("spawn")
    progress_q = ctx.Queue()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set() or not progress_q.empty():
            try:
                item = progress_q.get(timeout=0.2)
            except queue.Empty:
                continue
            run.message(item)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    versions = {ref.uri: ref.version for ref, _ in tasks}
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(settings, progress_q, options))
    try:
        for result in pool.imap_unordered(_work, tasks):
            run.finish(result, versions[result.uri])
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C or a run-stopping error: the workers go at once
        raise
    finally:
        pool.join()
        stop.set()
        reader.join()


class _Ticker:
    """Refreshes the progress line once a second while a request is slow and no message arrives."""

    def __init__(self, tick: Callable[[], Any]) -> None:
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._tick()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _DirectQueue:
    """In-process stand-in for the progress queue when there is one worker."""

    def __init__(self, handle: Callable[[tuple[Any, ...]], None]) -> None:
        self.handle = handle

    def put(self, item: tuple[Any, ...]) -> None:
        self.handle(item)
