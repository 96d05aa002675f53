"""The Glue job's entry point, as a module: `main` is what `glue_scripts/compute_kpis.py` runs.

Kept in the package (not the script) so the script stays a two-line launcher and the tests import
the same code by name (docs/DESIGN.md, "Glue job contract").
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys

from music_kpis.arguments import parse_arguments
from music_kpis.job import run_job


def spark_session():
    """Glue's (or spark-submit's) session when one launched us, else a local one."""
    if os.environ.get("PYSPARK_GATEWAY_PORT") or importlib.util.find_spec("awsglue") is not None:
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    from music_kpis.session import local_spark_session

    return local_spark_session()


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    """The job's logs, once per process: `music_kpis` at INFO, one handler, on stdout.

    On Glue the driver's stdout is the run's output log stream in CloudWatch (stderr, the error
    stream, carries Spark's own log4j output and a failure's traceback). The handler is the
    package logger's own and does not propagate, so a handler Glue or a caller put on the root
    logger does not print each line twice; calling this again changes nothing.
    """
    logger = logging.getLogger("music_kpis")
    if not any(getattr(h, "music_kpis_handler", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.music_kpis_handler = True
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def main(argv: list[str] | None = None) -> int:
    """Run the job from a command line; 0 on success, the job's own exception on failure.

    Glue reports an uncaught exception's type and message as the run's `ErrorMessage` (what the
    Airflow task log, the console and the failure alert show); `sys.exit(1)` would leave only a
    generic exit-code error there. aws-glue-libs' `GlueArgumentParser` raises rather than exits
    for the same reason ("so that we can surface the errors", awsglue/utils.py).
    """
    log = configure_logging()
    try:
        args = parse_arguments(sys.argv if argv is None else argv)
        run_job(spark_session(), args)
    except Exception as err:
        log.error("compute_kpis failed: %s: %s", type(err).__name__, err)
        raise
    return 0
