"""A local folder that mirrors part of an S3 bucket, for running the Glue script on local Spark.

On Glue the script reads and writes `s3://<bucket>/...`; locally it reads and writes a `file://`
folder with the same layout (`--data_root`). Before a local job run the keys it reads are copied
down; after it, what it wrote is copied up, and objects it removed (replaced partitions) are
deleted from the bucket, so the emulated bucket ends as it would on AWS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import boto3

# Hadoop writes these next to data files; S3 never sees them on Glue.
_LOCAL_ONLY_SUFFIXES = (".crc",)
_LOCAL_ONLY_NAMES = ("_SUCCESS",)


def _s3():
    return boto3.client("s3")


def existing_keys(bucket: str, prefix: str) -> dict[str, str]:
    """Key -> ETag of every object under `prefix`."""
    found: dict[str, str] = {}
    for page in _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["ETag"].strip('"')
    return found


def _is_local_only(path: Path) -> bool:
    return path.name.startswith(".") or path.suffix in _LOCAL_ONLY_SUFFIXES or path.name in _LOCAL_ONLY_NAMES


def _local_files(root: Path, prefix: str) -> dict[str, Path]:
    base = root / prefix
    if not base.exists():
        return {}
    return {
        path.relative_to(root).as_posix(): path
        for path in base.rglob("*")
        if path.is_file() and not _is_local_only(path)
    }


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def download(bucket: str, root: Path, keys: Iterable[str] = (), prefixes: Iterable[str] = ()) -> int:
    """Copy the given keys and every object under `prefixes` into `root`; returns the count."""
    wanted = set(keys)
    for prefix in prefixes:
        wanted.update(existing_keys(bucket, prefix))
    for key in sorted(wanted):
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        _s3().download_file(bucket, key, str(target))
    return len(wanted)


def upload(root: Path, bucket: str, prefixes: Iterable[str]) -> tuple[int, int]:
    """Make the bucket's `prefixes` equal to the folder's: upload new or changed files, delete
    objects that no longer exist locally. Returns (uploaded, deleted)."""
    uploaded = deleted = 0
    for prefix in prefixes:
        remote = existing_keys(bucket, prefix)
        local = _local_files(root, prefix)
        for key, path in sorted(local.items()):
            if remote.get(key) != _md5(path):
                _s3().upload_file(str(path), bucket, key)
                uploaded += 1
        stale = sorted(set(remote) - set(local))
        for start in range(0, len(stale), 1000):
            batch = [{"Key": key} for key in stale[start : start + 1000]]
            _s3().delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        deleted += len(stale)
    return uploaded, deleted
