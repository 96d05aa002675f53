"""The local Spark session every Spark benchmark measures on, and what one measured run took."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.jvm_cpu import cpu_by_kind, jvm_thread_cpu
from benchmarks.jvm_heap import gc_log_option
from benchmarks.results import cpu_seconds
from benchmarks.spark_events import event_log_conf

CORES = 2
# A Glue G.1X worker has 16 GB; the local driver (which is also the executor) gets half of that.
DRIVER_MEMORY = os.environ.get("SPARK_DRIVER_MEMORY", "8g")


@dataclass(frozen=True)
class Timing:
    """One measured Spark run: wall seconds, CPU seconds (driver and JVM), start (epoch ms), and
    the CPU seconds by JVM thread kind (`jvm_cpu`: JIT compiler, tasks, GC, driver and other)."""

    seconds: float
    cpu_seconds: float
    started_ms: int
    cpu_by_kind: dict[str, float] = field(default_factory=dict)


class RunClock:
    """Times the block it wraps (a measured run): `timing` once the block has ended."""

    def __enter__(self) -> RunClock:
        self.started_ms, self._threads = time.time_ns() // 1_000_000, jvm_thread_cpu()
        self._start, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        seconds, cpu = time.perf_counter() - self._start, cpu_seconds() - self._cpu
        by_kind = cpu_by_kind(self._threads, jvm_thread_cpu(), cpu)
        self.timing = Timing(seconds, cpu, self.started_ms, by_kind)


def warm_local_session(event_log: Path | None = None, gc_log: Path | None = None):
    """The local Spark session (`CORES`, `DRIVER_MEMORY`), its JVM started and warmed up: not timed.

    With `event_log`, Spark writes its event log there (`spark_events`); with `gc_log`, the JVM
    writes its GC log there (`jvm_heap`). Both only record: the run is the same without them."""
    from music_kpis.session import DRIVER_JAVA_OPTIONS, local_spark_session

    conf = event_log_conf(event_log) if event_log else {}
    if gc_log:
        conf["spark.driver.extraJavaOptions"] = f"{DRIVER_JAVA_OPTIONS} {gc_log_option(gc_log)}"
    os.environ["SPARK_DRIVER_MEMORY"] = DRIVER_MEMORY  # read when the session (and its JVM) starts
    spark = local_spark_session(cores=CORES, extra_conf=conf)
    spark.range(1000).selectExpr("sum(id)").collect()
    return spark
