"""One run of the KPI job: read, check, curate, compute, publish (docs/DESIGN.md, "Glue job contract").

The order keeps a failed run unpublished: every check (manifest, reference files, stream headers,
reject ratio) passes before the first write to `curated/` or DynamoDB. A run only replaces what it
touched: the curated partitions and DynamoDB items of the dates its accepted rows fall on.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F

import music_contract as contract
from music_kpis import dynamo, publication, transforms
from music_kpis.io import (
    DataError,
    Storage,
    csv_source,
    read_csv,
    read_csv_lines,
    read_manifest,
    read_partitions,
    write_partitions,
    write_quarantine,
    write_report,
)
from music_kpis.session import JOB_CONF

log = logging.getLogger("music_kpis")

SONGS_READ_COLUMNS = ("id", "track_id", "artists", "track_name", "duration_ms", "track_genre")
DATE = contract.PARTITION_COLUMN
# Set on every run: Parquet output must not depend on the platform's defaults, `listen_date` is a
# string partition (not inferred as a date), and odd timestamps give null rather than an error.
RUN_CONF = {
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # the standard type, not legacy INT96
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
    # Write each task's few listen_date partitions with one writer each instead of sorting the rows.
    "spark.sql.maxConcurrentOutputFileWriters": "64",
    # The run's cache lives for minutes: building it uncompressed halves the parse-and-validate pass.
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}


# The DataFrame default (`df.cache()`). PySpark's `StorageLevel.MEMORY_AND_DISK` is the serialized
# level: it would serialize the columnar cache batches once more.
CACHE = StorageLevel.MEMORY_AND_DISK_DESER


class RejectRatioExceeded(DataError):
    """More of the run's stream rows were rejected than `--max_reject_ratio` allows."""


# --- arguments ----------------------------------------------------------------------------
@dataclass(frozen=True)
class JobArguments:
    data_bucket: str
    manifest_key: str
    run_id: str
    kpi_table: str
    database_name: str = contract.DEFAULT_DATABASE_NAME
    data_root: str | None = None
    max_reject_ratio: float = contract.DEFAULT_MAX_REJECT_RATIO

    @property
    def root(self) -> str:
        return self.data_root or f"s3://{self.data_bucket}"

    @property
    def safe_run_id(self) -> str:
        return contract.sanitize_run_id(self.run_id)


REQUIRED_ARGUMENTS = ("data_bucket", "manifest_key", "run_id", "database_name", "kpi_table")
OPTIONAL_ARGUMENTS = ("data_root", "max_reject_ratio")


def arguments_from(values: dict[str, str]) -> JobArguments:
    """JobArguments from the argument names of the contract (Glue's resolved options or argparse)."""
    try:
        ratio = float(values.get("max_reject_ratio") or contract.DEFAULT_MAX_REJECT_RATIO)
    except ValueError as err:
        raise DataError(f"--max_reject_ratio must be a number, got {values['max_reject_ratio']!r}") from err
    if not 0 <= ratio <= 1:
        raise DataError(f"--max_reject_ratio must be within [0, 1], got {ratio}")
    return JobArguments(
        **{name: values[name] for name in REQUIRED_ARGUMENTS},
        data_root=values.get("data_root") or None,
        max_reject_ratio=ratio,
    )


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, as Glue's `GlueArgumentParser` does."""

    def error(self, message: str):
        raise DataError(f"job arguments: {message}")


def _paired(argv: Sequence[str]) -> list[str]:
    """The job's own `--name value` pairs as `--name=value`; every other token unchanged.

    argparse (Glue's parser is argparse too) reads a value that starts with `-` as an option
    and fails; the `=` form gives any value to its option, on both parsers. Glue passes each
    argument as a `--name value` pair, so the token after one of our names is its value.
    """
    names = {f"--{name}" for name in (*REQUIRED_ARGUMENTS, *OPTIONAL_ARGUMENTS)}
    tokens, paired = list(argv), []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in names and index + 1 < len(tokens):
            paired.append(f"{token}={tokens[index + 1]}")
            index += 2
        else:
            paired.append(token)
            index += 1
    return paired


def parse_arguments(argv: Sequence[str], resolve=None) -> JobArguments:
    """JobArguments from a command line (`argv[0]` is the script), the same on Glue and locally.

    On Glue `resolve` is `awsglue.utils.getResolvedOptions` (argparse: `parse_known_args`, one
    required option per name asked for; awslabs/aws-glue-libs, awsglue/utils.py); elsewhere an
    argparse parser with the same names. Both see the `--name=value` form, so a value may start
    with `-` and an optional argument given as `--name=value` is never missed. A missing,
    repeated-without-value or unparseable argument fails with `DataError("job arguments: ...")`.
    """
    script, tokens = argv[0], _paired(argv[1:])
    if resolve is None:
        try:
            from awsglue.utils import getResolvedOptions as resolve
        except ImportError:
            resolve = _resolve_locally
    present = [name for name in OPTIONAL_ARGUMENTS if any(t.startswith(f"--{name}=") for t in tokens)]
    try:
        values = resolve([script, *tokens], [*REQUIRED_ARGUMENTS, *present])
    except DataError:
        raise
    except Exception as err:  # Glue's GlueArgumentError: the message names the argument
        raise DataError(f"job arguments: {err}") from err
    return arguments_from({k: v for k, v in values.items() if v is not None})


def _resolve_locally(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    parser = _ArgumentParser(prog="compute_kpis.py", description="Compute the daily genre KPIs.")
    for name in names:
        parser.add_argument(f"--{name}", required=name in REQUIRED_ARGUMENTS)
    # Glue adds arguments of its own (--JOB_NAME, --TempDir, ...): ignore what we do not know.
    known, _ = parser.parse_known_args(list(argv[1:]))
    return vars(known)


# --- the run ------------------------------------------------------------------------------
@dataclass
class JobResult:
    run_id: str
    report: dict[str, Any]
    report_uri: str
    dates: list[str] = field(default_factory=list)
    items: list[dynamo.Item] = field(default_factory=list)

    @property
    def summary(self) -> str:
        r = self.report
        return (
            f"music_kpis run_id={self.run_id} status={r['status']} files={len(r['files'])} "
            f"read={r['rows_read']} accepted={r['rows_accepted']} rejected={r['rows_rejected']} "
            f"(ratio {r['reject_ratio']:.4f}) duplicates={r['duplicates_dropped']} "
            f"unknown_user_rows={r['unknown_user_rows']} dates={','.join(r['dates_affected']) or '-'} "
            f"items={r['kpi_items_written']} stale_deleted={r['stale_items_deleted']}"
        )


def configure(spark: SparkSession) -> None:
    """The session settings the job relies on, on Glue's session as on the local one."""
    for key, value in {**JOB_CONF, **RUN_CONF}.items():
        spark.conf.set(key, value)


def _source_id(stream: contract.StreamObject) -> str:
    """A stream file's identity in the curated store: its key and content version (ETag)."""
    etag = stream.etag.strip().strip('"')
    return f"{stream.key}#{etag}" if etag else stream.key


def _empty_report(args: JobArguments, started_at: str) -> dict[str, Any]:
    return {
        "run_id": args.safe_run_id,
        "status": "running",
        "started_at": started_at,
        "manifest_key": args.manifest_key,
        "max_reject_ratio": args.max_reject_ratio,
        "rows_read": 0,
        "rows_accepted": 0,
        "rows_rejected": 0,
        "reject_ratio": 0.0,
        "rejected_by_reason": dict.fromkeys(contract.REJECT_REASONS, 0),
        "duplicates_dropped": 0,
        "unknown_user_rows": 0,
        "dates_affected": [],
        "files": [],
        "kpi_items_written": 0,
        "stale_items_deleted": 0,
        "publications_finished": [],
    }


def run_job(spark: SparkSession, args: JobArguments) -> JobResult:
    """Run the job on `spark`; raise `DataError` (with a clear message) when the run must fail.

    The report is written in every case the data root is reachable, with `status` and `error`.
    """
    configure(spark)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    storage = Storage(spark, args.root)
    report = _empty_report(args, started_at)
    result = JobResult(args.safe_run_id, report, storage.uri(contract.report_key(args.safe_run_id)))
    cached: list[DataFrame] = []
    try:
        _run(spark, storage, args, result, cached)
        report["status"] = "succeeded"
    except Exception as err:
        report["status"] = "failed"
        report["error"] = f"{type(err).__name__}: {err}"
        try:  # what a failed run staged is removed now; a sealed copy stays for the next run
            publication.Staging(storage, args.safe_run_id).discard()
        except Exception:
            log.exception("could not remove the run's staged data (the lifecycle rule expires it)")
        raise
    finally:
        report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            write_report(storage, args.safe_run_id, report)
        except Exception:  # the run's own error matters more than a report that could not be written
            log.exception("could not write the data quality report")
        log.info(result.summary)
        for frame in cached:
            frame.unpersist()
    return result


def _run(spark: SparkSession, storage: Storage, args: JobArguments, result: JobResult, cached: list) -> None:
    report, run_id = result.report, args.safe_run_id
    updated_at = datetime.now(UTC).isoformat(timespec="seconds")

    # 0. A publication an earlier attempt (or run) left half-done is finished before curated/ is read.
    report["publications_finished"] = publication.finish_pending(storage, run_id)

    # 1. Inputs exist and have the columns we need: fail before reading any data otherwise.
    manifest = read_manifest(storage, args.manifest_key)
    streams = list({s.key: s for s in manifest.streams}.values())  # a key listed twice counts once
    missing = [s.key for s in streams if storage.size(s.key) is None]
    if missing:
        raise DataError(f"stream files of the manifest are gone: {[storage.uri(k) for k in missing]}")
    users_source = csv_source(
        storage, manifest.reference.get("users", contract.USERS_KEY), contract.REQUIRED_USERS_COLUMNS, "users"
    )
    songs_source = csv_source(
        storage, manifest.reference.get("songs", contract.SONGS_KEY), contract.REQUIRED_SONGS_COLUMNS, "songs"
    )
    stream_sources = [
        csv_source(storage, s.key, contract.REQUIRED_STREAMS_COLUMNS, "stream") for s in streams
    ]

    songs = transforms.dedupe_songs(read_csv(spark, storage, songs_source, SONGS_READ_COLUMNS))
    songs = songs.persist(CACHE)
    users = transforms.known_users(read_csv(spark, storage, users_source, ["user_id"]))
    users = users.persist(CACHE)
    cached += [songs, users]
    references = ((songs_source, songs), (users_source, users))
    empty = [storage.uri(source.key) for source, frame in references if frame.isEmpty()]
    if empty:
        raise DataError(f"reference files with no rows: {empty}")
    if not streams:
        log.warning("the manifest lists no stream files: nothing to do")
        return

    # 2. Parse and validate every stream line once; everything after reads the cached result.
    lines = read_csv_lines(spark, storage, stream_sources)
    validated = transforms.validate_streams(lines, songs, users)
    # Only a rejected row needs its raw listen_time (for the quarantine): keep the cache small.
    raw_time = F.when(F.col("reject_reason").isNotNull(), F.col("listen_time")).alias("listen_time")
    validated = validated.select(*[raw_time if c == "listen_time" else c for c in validated.columns])
    validated = validated.persist(CACHE)
    cached.append(validated)
    # One pass over the cache: line counts per split (for line numbers) and the report's counts.
    stats = (
        validated.groupBy("source_index", "_block", "_blank", "_header", "reject_reason", "known_user", DATE)
        .agg(F.count(F.lit(1)).alias("n"), F.min("_row").alias("first_row"))
        .collect()
    )
    bases = split_line_bases(stats)
    _count_rows([r for r in stats if not r["_blank"] and not r["_header"]], streams, report)
    rows = validated.where(~F.col("_blank") & ~F.col("_header"))
    rejected = report["rows_rejected"]
    # The quarantine is written either way: over the ratio it is what the failed run leaves to read.
    write_quarantine(_quarantine(rows, bases, streams), storage, run_id)
    if report["rows_read"] and rejected / report["rows_read"] > args.max_reject_ratio:
        raise RejectRatioExceeded(
            f"{rejected} of {report['rows_read']} stream rows rejected ({report['reject_ratio']:.2%}), "
            f"more than --max_reject_ratio {args.max_reject_ratio:.2%}: by reason "
            f"{ {k: v for k, v in report['rejected_by_reason'].items() if v} }; nothing was published"
        )
    dates = report["dates_affected"]
    if not dates:
        log.warning("no accepted stream rows: no date to update")
        return

    # 3. The curated events of the touched dates: this run's files replace their earlier rows.
    # Everything this run publishes is staged first (see `publication`): curated/ stays whole.
    source_ids = [_source_id(s) for s in streams]
    accepted = rows.where(F.col("reject_reason").isNull())
    existing = read_partitions(spark, storage, contract.CURATED_STREAMS_PREFIX, dates)
    merged = transforms.merge_events(accepted, existing, source_ids)
    merge_stats = Observation("merge")
    merged = merged.observe(merge_stats, F.count_if(F.col("_new")).alias("new_events"))
    staging = publication.Staging(storage, run_id)
    staging.reset()
    write_partitions(transforms.curated_streams(merged), storage, staging.prefix("streams"), dictionary=False)
    report["duplicates_dropped"] = report["rows_accepted"] - int(merge_stats.get.get("new_events") or 0)
    events = read_partitions(spark, storage, staging.prefix("streams"), dates)
    if events is None:
        raise RuntimeError(f"the curated events just staged under {storage.uri(staging.root)} are missing")

    # 4. KPIs of the touched dates from all their curated events.
    events = events.select("user_id", "track_id", contract.PARTITION_COLUMN)
    plays = transforms.track_plays(events, songs).persist(CACHE)
    cached.append(plays)
    kpis = transforms.daily_genre_kpis(events, songs, plays).persist(CACHE)
    cached.append(kpis)
    tops = transforms.top_songs(plays).persist(CACHE)
    cached.append(tops)
    genres = transforms.top_genres(kpis)
    kpi_rows = [r.asDict() for r in kpis.collect()]
    top_rows = [r.asDict() for r in tops.collect()]
    genre_rows = [r.asDict() for r in genres.collect()]
    result.items = dynamo.kpi_items(kpi_rows, top_rows, genre_rows, run_id, updated_at)
    result.dates = dates

    # 5. Publish (only now: every check has passed): the staged tables, then DynamoDB.
    for table, frame in (("daily_genre_kpis", kpis), ("top_songs", tops), ("top_genres", genres)):
        stamped = transforms.stamped(frame, table, run_id, updated_at)
        write_partitions(stamped, storage, staging.prefix(table))
    sealed = publication.seal(staging, contract.CURATED_TABLES, dates)
    publication.publish(storage, sealed)
    written = dynamo.replace_items(args.kpi_table, result.items, dates)
    report["kpi_items_written"], report["stale_items_deleted"] = written.written, written.deleted


def split_line_bases(stats: Sequence[Row]) -> dict[tuple[int, int], int]:
    """Lines before each split of each file, from the per-split counts of the stats pass.

    Line numbers rely on every split being read from its own partition (row index 0 = the
    split's first line); Spark packs splits of one file that way, and this checks it did.
    """
    lines: dict[tuple[int, int], int] = defaultdict(int)
    first: dict[tuple[int, int], int] = {}
    for r in stats:
        key = (r["source_index"], r["_block"])
        lines[key] += r["n"]
        first[key] = min(first.get(key, r["first_row"]), r["first_row"])
    shared = sorted(key for key, row in first.items() if row != 0)
    if shared:
        raise RuntimeError(
            f"Spark read several splits in one partition, line numbers would be wrong: {shared}"
        )
    return transforms.split_bases([(source, block, n) for (source, block), n in lines.items()])


def _quarantine(
    rows: DataFrame, bases: dict[tuple[int, int], int], streams: Sequence[contract.StreamObject]
) -> DataFrame:
    rejected = rows.where(F.col("reject_reason").isNotNull())
    keys = F.array(*[F.lit(s.key) for s in streams])
    return transforms.with_line_numbers(rejected, bases).select(
        F.element_at(keys, F.col("source_index") + 1).alias("source_file"),
        "line_number",
        "user_id",
        "track_id",
        "listen_time",
        "reject_reason",
    )


def _count_rows(
    counts: Sequence[Row], streams: Sequence[contract.StreamObject], report: dict[str, Any]
) -> None:
    """Fill the report's counts from the grouped counts of the data rows (no header, no blank line)."""
    per_file: dict[int, dict[str, Any]] = {
        index: {
            "key": s.key,
            "etag": s.etag,
            "rows_read": 0,
            "rows_accepted": 0,
            "rows_rejected": 0,
            "rejected_by_reason": dict.fromkeys(contract.REJECT_REASONS, 0),
        }
        for index, s in enumerate(streams)
    }
    dates: set[str] = set()
    unknown_rows = 0
    by_reason: dict[str, int] = defaultdict(int)
    for row in counts:
        entry = per_file[row["source_index"]]
        entry["rows_read"] += row["n"]
        if row["reject_reason"] is None:
            entry["rows_accepted"] += row["n"]
            dates.add(row[DATE])
            unknown_rows += 0 if row["known_user"] else row["n"]
        else:
            entry["rows_rejected"] += row["n"]
            entry["rejected_by_reason"][row["reject_reason"]] += row["n"]
            by_reason[row["reject_reason"]] += row["n"]
    read = sum(e["rows_read"] for e in per_file.values())
    rejected = sum(by_reason.values())
    report.update(
        rows_read=read,
        rows_accepted=read - rejected,
        rows_rejected=rejected,
        reject_ratio=rejected / read if read else 0.0,
        rejected_by_reason={reason: by_reason.get(reason, 0) for reason in contract.REJECT_REASONS},
        unknown_user_rows=unknown_rows,
        dates_affected=sorted(dates),
        files=list(per_file.values()),
    )
