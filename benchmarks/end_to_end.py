"""End to end at 1 million stream rows: one DAG run (real Airflow, moto server, the Glue script on
local Spark), next to the Glue job's own share of that run, so the ratio is the orchestration cost
(validation, manifest, local bucket sync, archive) on top of the Spark work."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.results import BenchResult, PeakMemory, timed
from local_run.airflow_home import reset_metadata_db
from local_run.emulator import running_emulator
from local_run.generate import generate_dataset
from local_run.glue_script_runner import GlueScriptRunner
from local_run.pipeline import LocalPipeline
from local_run.resources import create_local_stack


class _TimedRunner(GlueScriptRunner):
    """The local Glue runner, recording how long each job run took."""

    seconds: float = 0.0

    def __call__(self, job_name, arguments):
        start = time.perf_counter()
        try:
            super().__call__(job_name, arguments)
        finally:
            self.seconds += time.perf_counter() - start


def run(quick: bool = False) -> list[BenchResult]:
    rows = 200_000 if quick else 1_000_000
    from music_kpis.session import local_spark_session

    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        root = Path(tmp) / "input"
        data = generate_dataset(root, days=3, streams=rows, songs=90_000, users=50_000, files=4, seed=42)
        reset_metadata_db()
        spark = local_spark_session()
        with running_emulator() as emulator:
            stack = create_local_stack(emulator)
            runner = _TimedRunner(spark, work_dir=Path(tmp) / "glue-runs")
            pipeline = LocalPipeline(stack, runner)
            pipeline.upload(root, data.keys)
            with PeakMemory() as memory:
                seconds, outcome = timed(pipeline.run)
            if not outcome.succeeded:
                raise RuntimeError(f"benchmark run failed: {outcome.task_states}")
    return [
        BenchResult(
            what="end to end: one DAG run (Airflow + moto + local Spark)",
            size=f"{rows:,} stream rows",
            seconds=seconds,
            rows=rows,
            peak_memory_mb=memory.peak_mb,
            baseline="its Glue job run alone",
            baseline_seconds=runner.seconds,
        )
    ]
