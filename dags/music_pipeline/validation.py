"""Header checks of `validate_columns`: each file's first record against its required columns.

Headers are read with bounded ranged GETs (`s3_objects.read_first_record`), concurrently, and every
problem of every file is collected into one `ColumnsError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from music_contract import layout
from music_contract.manifest import Manifest

# Ranged GETs are small and latency-bound: many in flight at once.
from music_pipeline import s3_objects

HEADER_READ_THREADS = 16
_UTF8_BOM = b"\xef\xbb\xbf"


class ColumnsError(ValueError):
    """Files whose header lacks required columns (or cannot be read); the message lists all of them."""

    def __init__(self, problems: Sequence[FileProblem]):
        self.problems = tuple(problems)
        lines = "\n  ".join(p.describe() for p in self.problems)
        super().__init__(f"{len(self.problems)} file(s) failed the header check:\n  {lines}")


@dataclass(frozen=True)
class FileProblem:
    uri: str
    missing_columns: tuple[str, ...] = ()
    error: str = ""

    def describe(self) -> str:
        if self.error:
            return f"{self.uri}: {self.error}"
        return f"{self.uri}: missing columns {', '.join(self.missing_columns)}"


@dataclass(frozen=True)
class HeaderCheck:
    """One object to check: its key and the columns its header must hold (order free, extras allowed)."""

    key: str
    required_columns: tuple[str, ...]


def parse_header(first_record: bytes) -> list[str]:
    """Column names of a CSV header record: UTF-8 BOM dropped, CRLF or LF, RFC 4180 quoting."""
    if first_record.startswith(_UTF8_BOM):
        first_record = first_record[len(_UTF8_BOM) :]
    text = first_record.decode("utf-8")
    row = next(csv.reader(io.StringIO(text, newline="")), [])
    return [name.strip() for name in row]


def missing_columns(header: Iterable[str], required: Iterable[str]) -> tuple[str, ...]:
    present = set(header)
    return tuple(column for column in required if column not in present)


def checks_for_manifest(manifest: Manifest) -> list[HeaderCheck]:
    """Both reference files and every stream object of the manifest, with their required columns."""
    checks = [
        HeaderCheck(manifest.reference["users"], layout.REQUIRED_USERS_COLUMNS),
        HeaderCheck(manifest.reference["songs"], layout.REQUIRED_SONGS_COLUMNS),
    ]
    checks.extend(HeaderCheck(s.key, layout.REQUIRED_STREAMS_COLUMNS) for s in manifest.streams)
    return checks


def check_header(s3_client: Any, bucket: str, check: HeaderCheck) -> FileProblem | None:
    """The problem with one object's header, or None when it holds every required column."""
    uri = s3_objects.s3_uri(bucket, check.key)
    try:
        record = s3_objects.read_first_record(s3_client, bucket, check.key)
        if not record.strip():
            return FileProblem(uri, error="empty file (no header)")
        header = parse_header(record)
    except UnicodeDecodeError:
        return FileProblem(uri, error="header is not UTF-8 text")
    except FileNotFoundError:
        return FileProblem(uri, error="object does not exist")
    except s3_objects.HeaderTooLongError as err:
        return FileProblem(uri, error=err.reason)
    missing = missing_columns(header, check.required_columns)
    return FileProblem(uri, missing_columns=missing) if missing else None


def validate_headers(
    s3_client: Any, bucket: str, checks: Sequence[HeaderCheck], threads: int = HEADER_READ_THREADS
) -> int:
    """Check every header concurrently; returns how many passed, or raises one `ColumnsError` for all."""
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(checks)))) as pool:
        results = list(pool.map(lambda c: check_header(s3_client, bucket, c), checks))
    problems = [p for p in results if p is not None]
    if problems:
        raise ColumnsError(problems)
    return len(checks)
