"""Glue job: daily genre KPIs from the run's stream files (docs/DESIGN.md, "Glue job contract").

Runs unchanged on Glue 5.1 (which ships `music_kpis` and `music_pipeline` in `--extra-py-files`)
and locally as `python glue_scripts/compute_kpis.py --data_bucket ... [--data_root file:///...]`,
on local Spark unless spark-submit or Glue set the master. The local demo calls `run_job` in-process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path

try:
    import music_pipeline  # noqa: F401  (on Glue: from --extra-py-files)
except ImportError:  # a local checkout: the contract lives in the repository's dags/ folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dags"))

from music_kpis.io import DataError
from music_kpis.job import JobArguments, JobResult, parse_arguments, run_job

__all__ = ["DataError", "JobArguments", "JobResult", "main", "run_job"]


def spark_session():
    """Glue's (or spark-submit's) session when one launched us, else a local one."""
    if os.environ.get("PYSPARK_GATEWAY_PORT") or importlib.util.find_spec("awsglue") is not None:
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    from music_kpis.session import local_spark_session

    return local_spark_session()


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_arguments(sys.argv if argv is None else argv)
        run_job(spark_session(), args)
    except DataError as err:  # bad input: the message says what and where
        print(f"compute_kpis failed: {err}", file=sys.stderr, flush=True)
        return 1
    except Exception as err:
        traceback.print_exc()
        print(f"compute_kpis failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
