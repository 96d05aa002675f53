"""`archive_raw_data`: move exactly the manifest's stream objects to ``archived_data/``.

Per object: copy to the archive key unless an earlier try already did (one LIST of the run's archive
prefix tells), on the condition that the source still has the manifest's ETag; then delete the source
on the same condition. Safe to rerun
after a failure half-way: an object already copied is not copied again, one already moved is skipped,
and an object that changed since the manifest stays in ``raw_data/`` for the next run.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from music_contract import layout
from music_contract.manifest import Manifest, StreamObject
from music_contract.quality import STATUS_SUCCEEDED, DataQualityReport
from music_pipeline.s3_objects import error_code, is_not_found, s3_uri

# Copy and delete are latency-bound single requests: run many at once (the S3 client's connection
# pool must be at least this large, see `tasks.s3_client`).
ARCHIVE_THREADS = 32
# CopyObject copies at most 5 GB in one request; larger objects go through a multipart copy.
MAX_SINGLE_COPY_BYTES = 5 * 1024**3


class Outcome(enum.StrEnum):
    ARCHIVED = "archived"  # copied (now or by an earlier attempt) and the source deleted
    ALREADY_ARCHIVED = "already_archived"  # an earlier attempt finished it
    CHANGED = "changed"  # the source no longer has the manifest's ETag: left in raw_data/
    MISSING = "missing"  # neither in raw_data/ nor in the archive: an error


# The summary's count of replayed manifest objects, already under archived_data/ and left there.
LEFT_IN_ARCHIVE = "left_in_archive"


class ArchiveError(RuntimeError):
    """Some manifest objects could not be archived; the message names each one and why."""


@dataclass(frozen=True)
class ArchiveReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # raw key -> outcome

    def count(self, outcome: Outcome) -> int:
        return sum(1 for o in self.outcomes.values() if o is outcome)

    def summary(self) -> dict[str, int]:
        return dict(Counter(o.value for o in self.outcomes.values()))


def _is_precondition_failed(err: ClientError) -> bool:
    return error_code(err) in ("412", "PreconditionFailed")


class NotProcessedError(RuntimeError):
    """The run's data-quality report does not say the Glue run processed the manifest's files."""


def processed_streams(
    report: DataQualityReport | None, manifest: Manifest, streams: Sequence[StreamObject]
) -> list[StreamObject]:
    """The `streams` this run's Glue job processed: all of them, or `NotProcessedError`.

    Only a succeeded report of this manifest that lists every one of them says so. Anything else (no
    report, a failed one, another manifest's) means the Glue run did not finish: `run_etl_job` was
    marked success, or an earlier attempt left its report. Then nothing is archived.
    """
    where = s3_uri(manifest.bucket, layout.report_key(manifest.run_id))
    then = (
        "nothing archived, raw_data/ unchanged: clear run_etl_job to run the Glue job on the manifest "
        "(a run_etl_job marked success does not process anything), then archive_raw_data runs again"
    )
    if report is None:
        raise NotProcessedError(f"no data-quality report at {where}: the Glue run did not finish; {then}")
    if report.status != STATUS_SUCCEEDED or report.manifest_key != layout.manifest_key(manifest.run_id):
        raise NotProcessedError(
            f"the data-quality report {where} is {report.status!r} for manifest {report.manifest_key!r}, "
            f"not a succeeded run of {layout.manifest_key(manifest.run_id)!r}; {then}"
        )
    processed = {entry.key for entry in report.files}
    missing = [s.key for s in streams if s.key not in processed]
    if missing:
        raise NotProcessedError(
            f"the data-quality report {where} does not list {len(missing)} manifest file(s) as "
            f"processed: {missing[:10]}; {then}"
        )
    return list(streams)


def existing_keys(s3_client: Any, bucket: str, prefix: str) -> set[str]:
    """Every key under `prefix` (one LIST per 1,000 keys instead of a HEAD per object)."""
    paginator = s3_client.get_paginator("list_objects_v2")
    return {
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    }


def copy_if_unchanged(s3_client: Any, bucket: str, stream: StreamObject, destination: str) -> None:
    """Copy `stream` to `destination` only if it still has the manifest's ETag (else 412 from S3)."""
    source = {"Bucket": bucket, "Key": stream.key}
    if stream.size > MAX_SINGLE_COPY_BYTES:
        s3_client.copy(source, bucket, destination, ExtraArgs={"CopySourceIfMatch": stream.etag})
    else:
        s3_client.copy_object(
            Bucket=bucket, Key=destination, CopySource=source, CopySourceIfMatch=stream.etag
        )


def delete_if_unchanged(s3_client: Any, bucket: str, stream: StreamObject) -> None:
    """Delete the source only if it still has the manifest's ETag: a newer upload is never deleted."""
    s3_client.delete_object(Bucket=bucket, Key=stream.key, IfMatch=stream.etag)


def archive_object(
    s3_client: Any, bucket: str, stream: StreamObject, destination: str, copied_before: bool
) -> Outcome:
    """Move one manifest object to its archive key; idempotent (see the module docstring).

    :param copied_before: whether `destination` already exists (an earlier try copied it).
    """
    if not copied_before:
        try:
            copy_if_unchanged(s3_client, bucket, stream, destination)
        except ClientError as err:
            if _is_precondition_failed(err):
                return Outcome.CHANGED
            if is_not_found(err):
                return Outcome.MISSING
            raise
    try:
        delete_if_unchanged(s3_client, bucket, stream)
    except ClientError as err:
        if _is_precondition_failed(err):
            return Outcome.CHANGED  # overwritten after the manifest: the new version waits for the next run
        if is_not_found(err):
            return Outcome.ALREADY_ARCHIVED if copied_before else Outcome.ARCHIVED
        raise
    return Outcome.ARCHIVED


def archive_manifest(
    s3_client: Any,
    manifest: Manifest,
    threads: int = ARCHIVE_THREADS,
    streams: Sequence[StreamObject] | None = None,
) -> ArchiveReport:
    """Archive every stream of `manifest` concurrently under its ``archived_data/`` key.

    The archive date is the manifest's ``created_at`` (not "now"), so a retry on a later day writes to
    the same keys. Raises `ArchiveError` after all objects were tried if any is missing or failed.
    `streams` restricts the work to a subset (benchmarks); by default every manifest stream.
    """
    processed_at = datetime.fromisoformat(manifest.created_at)
    todo = list(manifest.streams if streams is None else streams)
    # Only this task writes under the run's archive prefix: what is there, an earlier try copied.
    run_prefix = layout.archive_key(layout.RAW_PREFIX, manifest.run_id, processed_at)
    copied_before = existing_keys(s3_client, manifest.bucket, run_prefix)

    def move(stream: StreamObject) -> Outcome | BaseException:
        try:
            destination = layout.archive_key(stream.key, manifest.run_id, processed_at)
            return archive_object(
                s3_client, manifest.bucket, stream, destination, destination in copied_before
            )
        except Exception as err:  # collected and raised below, after every object was tried
            return err

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(todo) or 1))) as pool:
        results = list(pool.map(move, todo))

    report = ArchiveReport({s.key: r for s, r in zip(todo, results, strict=True) if isinstance(r, Outcome)})
    failures = [
        f"{s3_uri(manifest.bucket, s.key)}: {r}"
        for s, r in zip(todo, results, strict=True)
        if not isinstance(r, Outcome)
    ]
    failures += [
        f"{s3_uri(manifest.bucket, key)}: in the manifest but neither in raw_data/ nor in the archive"
        for key, outcome in report.outcomes.items()
        if outcome is Outcome.MISSING
    ]
    if failures:
        raise ArchiveError(
            f"{len(failures)} of {len(todo)} manifest object(s) not archived "
            f"(the others are; a retry resumes safely):\n  " + "\n  ".join(failures)
        )
    return report
