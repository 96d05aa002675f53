"""The row every benchmark reports, and the helpers that measure time and peak memory."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil


@dataclass(frozen=True)
class BenchResult:
    """One measured thing, next to the baseline it is compared with (if any).

    `ratio` is seconds / baseline_seconds: below 1 means faster than the baseline.
    """

    what: str
    size: str
    seconds: float
    rows: int | None = None
    peak_memory_mb: float | None = None  # resident memory of the process tree, sampled
    # JVM runs: the largest heap in use right after a garbage collection (`jvm_heap`): what the run
    # holds, where `peak_memory_mb` follows the heap size the collector chose.
    heap_after_gc_mb: float | None = None
    baseline: str = ""
    baseline_seconds: float | None = None
    # Spark runs: "<jobs> jobs / <stages> stages" from the event log (benchmarks.spark_events).
    spark_work: str = ""
    # Glue cost proxy: the run's machine time in Glue DPU-seconds per million rows (glue_kpis).
    dpu_seconds_per_million_rows: float | None = None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.seconds if self.rows and self.seconds > 0 else None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else None


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run `fn` once; return (wall-clock seconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its children (the Spark JVM) so far.

    On a shared machine a process's CPU time varies far less with the load than its wall time."""
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


class PeakMemory:
    """Samples resident memory in a background thread; `peak_mb` is the largest total seen.

    :param scope: what is summed: ``"tree"`` this process and all its children (the Spark JVM among
        them), ``"self"`` this process only, ``"children"`` its children only (a subprocess's cost).
    :param interval_seconds: time between two samples.
    Use as a context manager around the measured work.
    """

    def __init__(self, scope: str = "tree", interval_seconds: float = 0.1):
        if scope not in ("tree", "self", "children"):
            raise ValueError(f"scope must be tree, self or children, got {scope!r}")
        self.scope = scope
        self.interval_seconds = interval_seconds
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _total_mb(self) -> float:
        me = psutil.Process()
        processes = [] if self.scope == "children" else [me]
        if self.scope != "self":
            processes += me.children(recursive=True)
        total = 0
        for process in processes:
            with contextlib.suppress(psutil.Error):  # a child that just ended
                total += process.memory_info().rss
        return total / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._total_mb())
            self._stop.wait(self.interval_seconds)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._total_mb())
