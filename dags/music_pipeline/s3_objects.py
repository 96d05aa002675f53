"""S3 reads and writes of the DAG: reference-file checks, the stream listing, the run manifest and
the bounded read of an object's first bytes.

Functions take a boto3 S3 client (the task code passes ``S3Hook(aws_conn_id).get_conn()``), so tests
and benchmarks can hand in a client they instrument.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from music_contract import layout
from music_contract.manifest import Manifest, StreamObject
from music_contract.quality import DataQualityReport

# A header is read with ranged GETs: first this many bytes, doubling until the first record ends.
HEADER_FIRST_READ_BYTES = 64 * 1024
HEADER_MAX_BYTES = 1024 * 1024


class ReferenceFilesError(ValueError):
    """One or more reference files are missing or empty; the message names every one of them."""


class HeaderTooLongError(ValueError):
    """No end of the first record within `HEADER_MAX_BYTES`: not a CSV header we can check."""

    def __init__(self, uri: str, max_bytes: int):
        self.reason = f"no line end within the first {max_bytes} bytes"
        super().__init__(f"{uri}: {self.reason}")


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def error_code(err: ClientError) -> str:
    """The S3 error code of a failed call (``NoSuchKey``, ``412``, ...)."""
    return str(err.response.get("Error", {}).get("Code", ""))


def is_not_found(err: ClientError) -> bool:
    """The object (or bucket) is not there: HEAD says ``404``/``NotFound``, GET ``NoSuchKey``."""
    return error_code(err) in ("404", "NoSuchKey", "NotFound")


def object_size(s3_client: Any, bucket: str, key: str) -> int | None:
    """Size in bytes of `key`, or None when there is no such object."""
    try:
        return int(s3_client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as err:
        if is_not_found(err):
            return None
        raise


def check_reference_files(s3_client: Any, bucket: str) -> dict[str, str]:
    """Both reference files exist and are not empty; returns ``{"users": key, "songs": key}``.

    Raises `ReferenceFilesError` naming every missing or empty file (not just the first).
    """
    reference = {"users": layout.USERS_KEY, "songs": layout.SONGS_KEY}
    problems = []
    for key in reference.values():
        size = object_size(s3_client, bucket, key)
        if size is None:
            problems.append(f"{s3_uri(bucket, key)}: missing")
        elif size == 0:
            problems.append(f"{s3_uri(bucket, key)}: empty (0 bytes)")
    if problems:
        raise ReferenceFilesError("reference files not usable:\n  " + "\n  ".join(problems))
    return reference


def list_stream_objects(s3_client: Any, bucket: str) -> Iterator[StreamObject]:
    """Every stream batch under ``raw_data/`` (any depth, ``.csv``), page by page (1,000 keys a page)."""
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=layout.RAW_PREFIX):
        for item in page.get("Contents", []):
            if layout.is_stream_key(item["Key"]):
                yield StreamObject(key=item["Key"], size=int(item["Size"]), etag=item["ETag"])


def list_archived_stream_objects(s3_client: Any, bucket: str, days: Iterable[date]) -> Iterator[StreamObject]:
    """Every stream batch archived on `days` (``archived_data/YYYY/MM/DD/``, any run), for a replay."""
    paginator = s3_client.get_paginator("list_objects_v2")
    for day in days:
        for page in paginator.paginate(Bucket=bucket, Prefix=layout.archive_day_prefix(day)):
            for item in page.get("Contents", []):
                if layout.is_archived_stream_key(item["Key"]):
                    yield StreamObject(key=item["Key"], size=int(item["Size"]), etag=item["ETag"])


def build_manifest(
    bucket: str,
    run_id: str,
    streams: list[StreamObject],
    reference: dict[str, str],
    created_at: datetime | None = None,
) -> Manifest:
    """The run's manifest; streams sorted by key so the same listing always gives the same file."""
    created = (created_at or datetime.now(UTC)).astimezone(UTC)
    return Manifest(
        run_id=layout.sanitize_run_id(run_id),
        created_at=created.isoformat(timespec="seconds"),
        bucket=bucket,
        streams=tuple(sorted(streams, key=lambda s: s.key)),
        reference=dict(reference),
    )


def write_manifest(s3_client: Any, manifest: Manifest) -> str:
    """Store the manifest at ``manifests/run_id=<run_id>.json``; returns its key."""
    key = layout.manifest_key(manifest.run_id)
    s3_client.put_object(
        Bucket=manifest.bucket,
        Key=key,
        Body=manifest.to_json().encode("utf-8"),
        ContentType="application/json",
    )
    return key


def read_manifest(s3_client: Any, bucket: str, key: str) -> Manifest:
    try:
        body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if is_not_found(err):
            raise FileNotFoundError(f"run manifest {s3_uri(bucket, key)} does not exist") from err
        raise
    try:
        return Manifest.from_json(body)
    except ValueError as err:
        raise ValueError(f"run manifest {s3_uri(bucket, key)}: {err}") from err


def read_quality_report(s3_client: Any, manifest: Manifest) -> DataQualityReport | None:
    """The data-quality report of the manifest's run (the Glue job writes it), or None when there is none."""
    key = layout.report_key(manifest.run_id)
    try:
        body = s3_client.get_object(Bucket=manifest.bucket, Key=key)["Body"].read()
    except ClientError as err:
        if is_not_found(err):
            return None
        raise
    try:
        return DataQualityReport.from_json(body)
    except ValueError as err:
        raise ValueError(f"data-quality report {s3_uri(manifest.bucket, key)}: {err}") from err


def first_record_end(data: bytes) -> int | None:
    """Index just past the first CSV record's line end in `data` (quotes respected), or None.

    A newline inside a quoted field does not end the record; ``""`` inside quotes is an escaped quote,
    which toggling twice handles.
    """
    in_quotes = False
    for index, byte in enumerate(data):
        if byte == 0x22:  # '"'
            in_quotes = not in_quotes
        elif byte == 0x0A and not in_quotes:  # '\n'
            return index + 1
    return None


def read_first_record(
    s3_client: Any,
    bucket: str,
    key: str,
    first_read_bytes: int = HEADER_FIRST_READ_BYTES,
    max_bytes: int = HEADER_MAX_BYTES,
) -> bytes:
    """The first record (the header line) of an object, read with ranged GETs, never the whole object.

    Reads ``bytes=0-(n-1)`` with n = `first_read_bytes`, doubling n until the bytes hold a line end or
    the object ends, up to `max_bytes` (then `HeaderTooLongError`). Returns b"" for an empty object.
    """
    size = first_read_bytes
    while True:
        try:
            response = s3_client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")
        except ClientError as err:
            if is_not_found(err):
                raise FileNotFoundError(f"{s3_uri(bucket, key)} does not exist") from err
            # An empty object has no byte 0: S3 answers 416 to any range.
            if err.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise
        data = response["Body"].read()
        end = first_record_end(data)
        if end is not None:
            return data[:end]
        if len(data) < size:  # the whole object was read and it has a single line
            return data
        if size >= max_bytes:
            raise HeaderTooLongError(s3_uri(bucket, key), max_bytes)
        size = min(size * 2, max_bytes)
