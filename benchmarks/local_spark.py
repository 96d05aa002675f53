"""The local Spark session every Spark benchmark measures on, and what one measured run took."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchmarks.jvm_heap import gc_log_option
from benchmarks.spark_events import event_log_conf

CORES = 2
# A Glue G.1X worker has 16 GB; the local driver (which is also the executor) gets half of that.
DRIVER_MEMORY = os.environ.get("SPARK_DRIVER_MEMORY", "8g")


@dataclass(frozen=True)
class Timing:
    """One measured Spark run: wall seconds, CPU seconds (driver and JVM), start (epoch ms)."""

    seconds: float
    cpu_seconds: float
    started_ms: int


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
