"""The local Spark session: what Glue provides on AWS, for tests, the demo and the benchmark."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

# Settings the job needs wherever it runs; `job.configure` applies them to Glue's session too.
JOB_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}


def local_spark_session(app_name: str = "music-kpis", cores: int = 2) -> SparkSession:
    """A small local Spark session, created once per process and reused (`getOrCreate`).

    local[2], a few shuffle partitions (the data is small next to a cluster's), no UI, UTC,
    dynamic partition overwrite, and only warnings in the log.
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
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=WARN")
        .config("spark.sql.warehouse.dir", os.path.join(os.environ.get("TMPDIR", "/tmp"), "spark-warehouse"))
    )
    for key, value in JOB_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
