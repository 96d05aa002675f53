"""Executes a Glue job run locally: the real Glue script on local Spark, against the emulated bucket.

`local_run.glue_local.local_glue_jobs(runner)` turns the DAG's StartJobRun into a moto job run and
hands its arguments (the run's, merged over the job's DefaultArguments) to a runner; this is that
runner. For one run it:

1. copies the keys the job reads (the manifest, the files it names that still exist, the curated
   store and the staging area `tmp/`) from the emulated bucket into a local mirror, which becomes the job's `--data_root`;
2. runs `music_kpis.job.run_job` in-process on the shared Spark session;
3. copies what the job wrote (curated/, tmp/, the run's quarantine/ and reports/) back to the bucket,
   deleting curated objects the job replaced, so the bucket ends as it would on AWS;
4. raises when the job failed, which marks the moto run FAILED with the job's message.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from local_run import bucket_mirror
from music_contract import layout, names
from music_contract.manifest import Manifest
from music_kpis.arguments import arguments_from
from music_kpis.job import run_job

log = logging.getLogger(__name__)

# The contract's job arguments; Glue's own options (--TempDir, --extra-py-files, ...) mean nothing locally.
_JOB_ARGUMENTS = {
    names.ARG_DATA_BUCKET, names.ARG_DATA_ROOT, names.ARG_MANIFEST_KEY, names.ARG_RUN_ID,
    names.ARG_DATABASE_NAME, names.ARG_KPI_TABLE, names.ARG_MAX_REJECT_RATIO,
    names.ARG_RECOMPUTE_DATES,
}  # fmt: skip


class GlueScriptRunner:
    """A `glue_local.JobRunner`: ``runner(job_name, arguments)`` returns on success, raises on failure.

    :param spark: the Spark session the job runs on, or a function that makes it on first use.
    :param work_dir: where each run's bucket mirror is made (removed after the run).
    """

    def __init__(self, spark: SparkSession | Callable[[], SparkSession], work_dir: Path | None = None):
        self._spark = spark
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="glue-runs-")).resolve()
        self._ids = itertools.count(1)

    @property
    def spark(self) -> SparkSession:
        if not isinstance(self._spark, SparkSession):
            self._spark = self._spark()
        return self._spark

    def __call__(self, job_name: str, arguments: Mapping[str, str]) -> None:
        bucket = arguments[names.ARG_DATA_BUCKET]
        mirror = self.work_dir / f"run-{next(self._ids):04d}"
        values = {
            name.removeprefix("--"): value for name, value in arguments.items() if name in _JOB_ARGUMENTS
        }
        values["data_root"] = mirror.as_uri()
        run_id = layout.sanitize_run_id(arguments[names.ARG_RUN_ID])
        try:
            self._download_inputs(bucket, arguments.get(names.ARG_MANIFEST_KEY), mirror)
            log.info("Glue job %s: running compute_kpis on local Spark (data root %s)", job_name, mirror)
            result = run_job(self.spark, arguments_from(values))
            log.info("Glue job %s succeeded: %s", job_name, result.summary)
        except Exception as err:
            # On Glue this would be in the job's CloudWatch log; locally, say it where the run is watched.
            print(f"Glue job {job_name} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            raise
        finally:
            report_prefix = layout.report_key(run_id).rsplit("/", 1)[0] + "/"
            # tmp/ too: a publication a failed run sealed is finished by the next run, as on AWS.
            prefixes = [
                layout.CURATED_PREFIX,
                layout.STAGING_PREFIX,
                layout.quarantine_prefix(run_id),
                report_prefix,
            ]
            bucket_mirror.upload(mirror, bucket, prefixes)
            shutil.rmtree(mirror, ignore_errors=True)

    @staticmethod
    def _download_inputs(bucket: str, manifest_key: str | None, mirror: Path) -> None:
        """The manifest, the files it names that still exist, and the curated store (a recompute
        run, with no manifest: the reference files and the curated store)."""
        mirror.mkdir(parents=True, exist_ok=True)
        present = set(bucket_mirror.existing_keys(bucket, layout.REFERENCE_PREFIX))
        wanted = [layout.USERS_KEY, layout.SONGS_KEY]
        if manifest_key:
            bucket_mirror.download(bucket, mirror, keys=[manifest_key])
            manifest = Manifest.from_json((mirror / manifest_key).read_text())
            present |= set(bucket_mirror.existing_keys(bucket, layout.RAW_PREFIX))
            present |= set(bucket_mirror.existing_keys(bucket, layout.ARCHIVE_PREFIX))
            wanted = [*manifest.reference.values(), *(s.key for s in manifest.streams)]
        # A file gone from the bucket stays absent locally, so the job reports it as it would on Glue.
        bucket_mirror.download(
            bucket,
            mirror,
            keys=[k for k in wanted if k in present],
            prefixes=[layout.CURATED_PREFIX, layout.STAGING_PREFIX],
        )
