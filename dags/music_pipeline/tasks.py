"""Bodies of the DAG's Python tasks: Variables and clients are resolved here, at run time; the logic
lives in `s3_objects`, `validation` and `archive`.

Errors that a retry cannot fix (a missing reference file, missing columns) fail the task at once
(`AirflowFailException`) instead of retrying three times; the message names every problem.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException

from music_contract import layout, names
from music_pipeline import archive, run_params, s3_objects, validation, variables
from music_pipeline.run_params import Mode

log = logging.getLogger(__name__)


def s3_client(max_pool_connections: int = 10) -> Any:
    """A boto3 S3 client from the `aws_conn` connection, with room for that many concurrent requests."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    hook = S3Hook(aws_conn_id=names.AWS_CONN_ID, config=Config(max_pool_connections=max_pool_connections))
    return hook.get_conn()


def current_request() -> run_params.RunRequest:
    """The run the DAG run's params ask for (`run_params`); a bad combination fails at once."""
    try:
        return run_params.run_request(get_current_context()["params"])
    except ValueError as err:
        raise AirflowFailException(f"DAG run params: {err}") from err


def validate_data_files() -> str | None:
    """Check both reference files, list the stream files, write the run's manifest.

    Returns the manifest key, or None when there is no stream file (a short-circuit: the rest of the
    run is skipped, and the run does not fail). A replay lists the files archived on its days instead
    of ``raw_data/``; a recompute lists nothing and returns its dates (comma-separated: what the
    Glue job's ``--recompute_dates`` gets).
    """
    run_id = get_current_context()["run_id"]
    request = current_request()
    bucket = variables.required(names.VAR_BUCKET_NAME)
    client = s3_client()
    try:
        reference = s3_objects.check_reference_files(client, bucket)
    except s3_objects.ReferenceFilesError as err:
        raise AirflowFailException(str(err)) from err
    if request.mode is Mode.RECOMPUTE:
        log.info("Recompute of %s from the curated events: no raw file to list", request.recompute_dates)
        return ",".join(request.recompute_dates)
    if request.mode is Mode.REPLAY:
        streams = list(s3_objects.list_archived_stream_objects(client, bucket, request.replay_days))
        where = f"{layout.archive_day_prefix(request.replay_days[0])}..{request.replay_days[-1]}"
    else:
        streams = list(s3_objects.list_stream_objects(client, bucket))
        where = layout.RAW_PREFIX
    if not streams:
        log.info("No stream files under s3://%s/%s: nothing to process, skipping the run", bucket, where)
        return None
    manifest = s3_objects.build_manifest(bucket, run_id, streams, reference)
    key = s3_objects.write_manifest(client, manifest)
    total = sum(s.size for s in streams)
    log.info("Manifest s3://%s/%s: %d stream files, %d bytes", bucket, key, len(streams), total)
    return key


def validate_columns(manifest_key: str) -> int:
    """Check the header of both reference files and every manifest stream; returns how many passed."""
    if current_request().mode is Mode.RECOMPUTE:
        log.info("Recompute: no stream file to check (the curated events were checked when ingested)")
        return 0
    bucket = variables.required(names.VAR_BUCKET_NAME)
    client = s3_client(max_pool_connections=validation.HEADER_READ_THREADS)
    manifest = s3_objects.read_manifest(client, bucket, manifest_key)
    try:
        checked = validation.validate_headers(client, bucket, validation.checks_for_manifest(manifest))
    except validation.ColumnsError as err:
        raise AirflowFailException(str(err)) from err
    log.info("All %d headers hold their required columns", checked)
    return checked


def archive_raw_data(manifest_key: str) -> dict[str, int]:
    """Move exactly the manifest's stream objects to ``archived_data/``; returns counts by outcome.

    Only once this run's data-quality report says the Glue run processed them (status succeeded,
    this manifest, every file listed); otherwise the task fails for good and raw_data/ stays as it is.

    A replayed file is already archived: it stays where it is (never in both places, never in
    neither). A recompute has no raw file: nothing to do.
    """
    if current_request().mode is Mode.RECOMPUTE:
        log.info("Recompute: no raw file to archive")
        return {}
    bucket = variables.required(names.VAR_BUCKET_NAME)
    client = s3_client(max_pool_connections=archive.ARCHIVE_THREADS)
    manifest = s3_objects.read_manifest(client, bucket, manifest_key)
    raw = [s for s in manifest.streams if layout.is_stream_key(s.key)]
    try:  # only what this run's Glue job processed (a task marked success processed nothing)
        raw = archive.processed_streams(s3_objects.read_quality_report(client, manifest), manifest, raw)
    except archive.NotProcessedError as err:
        raise AirflowFailException(str(err)) from err
    report = archive.archive_manifest(client, manifest, streams=raw)
    if report.count(archive.Outcome.CHANGED):
        changed = [k for k, o in report.outcomes.items() if o is archive.Outcome.CHANGED]
        log.warning("Changed since the manifest, left in raw_data/ for the next run: %s", changed)
    summary = report.summary()
    if len(raw) < len(manifest.streams):
        summary[archive.LEFT_IN_ARCHIVE] = len(manifest.streams) - len(raw)
    log.info("Archive: %s", summary)
    return summary
