"""The local Spark session: what Glue provides on AWS, for tests, the demo and the benchmark."""

from __future__ import annotations

import math
import os
import sys

from pyspark.sql import SparkSession

# Settings the job needs wherever it runs; `job.configure` applies them to Glue's session too.
JOB_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


# Input bytes per shuffle partition. Adaptive query execution (on by default since Spark 3.2; Glue
# 5.1 runs Spark 3.5) then merges partitions smaller than its advisory size after each map stage
# (AWS Prescriptive Guidance, "Using Adaptive Query Execution": docs.aws.amazon.com/prescriptive-
# guidance/latest/spark-tuning-glue-emr/using-adaptive-query-execution.html).
INPUT_BYTES_PER_SHUFFLE_PARTITION = 128 * 2**20
# The local driver JVM's options (only warnings in Spark's own log); `extra_conf` may extend them.
DRIVER_JAVA_OPTIONS = "-Dlog4j2.level=WARN"


def shuffle_settings(input_bytes: int, parallelism: int) -> dict[str, str]:
    """Shuffle settings for a run reading `input_bytes` on `parallelism` executor cores.

    Spark's default of 200 shuffle partitions means 200 tasks per shuffle
    and 200 blocks per map task even for a daily batch of 50 MB. One partition per core, more only
    when the input needs them, keeps every core busy and each task's share of a shuffle bounded.
    Both are runtime SQL settings: a Glue job honours them when the script sets them.
    """
    partitions = max(parallelism, math.ceil(input_bytes / INPUT_BYTES_PER_SHUFFLE_PARTITION))
    return {
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
    }


def size_shuffles(spark: SparkSession, input_bytes: int) -> None:
    """Apply `shuffle_settings` for this session's cores (on Glue: every executor's)."""
    for key, value in shuffle_settings(input_bytes, spark.sparkContext.defaultParallelism).items():
        spark.conf.set(key, value)


def local_spark_session(
    app_name: str = "music-kpis", cores: int = 2, extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """A small local Spark session, created once per process and reused (`getOrCreate`).

    local[2], a few shuffle partitions (the data is small next to a cluster's), no UI, UTC,
    dynamic partition overwrite, and only warnings in the log. `extra_conf` is set at start (the
    benchmark's event log).
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", f"local[{cores}]"))
        .appName(app_name)
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
        .config("spark.default.parallelism", str(max(2, 2 * cores)))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.locality.wait", "0")  # one machine: never hold a task back for locality
        .config("spark.driver.extraJavaOptions", DRIVER_JAVA_OPTIONS)
        .config("spark.sql.warehouse.dir", os.path.join(os.environ.get("TMPDIR", "/tmp"), "spark-warehouse"))
    )
    for key, value in {**JOB_CONF, **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
