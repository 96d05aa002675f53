"""One run of the KPI job (docs/DESIGN.md, "Glue job contract"), as a pipeline of named steps:

    load_inputs -> validate_lines -> count_quality -> quarantine_and_check_ratio
    -> merge_into_curated -> compute_kpis -> publish

or, in recompute mode (``--recompute_dates`` instead of ``--manifest_key``; docs/DESIGN.md,
"Reprocess and backfill"): load_songs -> read_curated_events -> compute_kpis -> publish (the KPI
tables only: the curated events are the input, left as they are).

The order keeps a failed run unpublished: every check (manifest, reference files, stream headers,
reject ratio) passes before the first write to `curated/` or DynamoDB. A run only replaces what it
touched: the curated partitions and DynamoDB items of the dates its accepted rows fall on. What a
step caches lives as long as the run's `RunCache` (a context manager around the steps), or less:
a frame is released as soon as its last reader is done, so the run's peak memory is its largest
step's, not the sum of all.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F

import music_contract as contract
from music_contract.quality import STATUS_FAILED, STATUS_SUCCEEDED, DataQualityReport, FileQuality
from music_kpis import dynamo, line_numbers, publication, transforms
from music_kpis.datasets import (
    CsvSource,
    DataError,
    DataRoot,
    content_ids,
    csv_source,
    line_hash_sums,
    read_csv,
    read_csv_lines,
    read_manifest,
    read_partitions,
    write_partitions,
    write_quarantine,
    write_report,
)
from music_kpis.session import JOB_CONF, size_shuffles

log = logging.getLogger("music_kpis")

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
    manifest_key: str  # "" in recompute mode
    run_id: str
    kpi_table: str
    database_name: str = contract.DEFAULT_DATABASE_NAME
    data_root: str | None = None
    max_reject_ratio: float = contract.DEFAULT_MAX_REJECT_RATIO
    recompute_dates: tuple[str, ...] = ()  # recompute mode when set

    @property
    def root(self) -> str:
        return self.data_root or f"s3://{self.data_bucket}"

    @property
    def safe_run_id(self) -> str:
        return contract.sanitize_run_id(self.run_id)


REQUIRED_ARGUMENTS = ("data_bucket", "manifest_key", "run_id", "database_name", "kpi_table")
OPTIONAL_ARGUMENTS = ("data_root", "max_reject_ratio", "recompute_dates")
# In recompute mode there is no manifest: --recompute_dates replaces --manifest_key.
RECOMPUTE_REPLACES = "manifest_key"


def arguments_from(values: dict[str, str]) -> JobArguments:
    """JobArguments from the argument names of the contract (Glue's resolved options or argparse)."""
    try:
        ratio = float(values.get("max_reject_ratio") or contract.DEFAULT_MAX_REJECT_RATIO)
    except ValueError as err:
        raise DataError(f"--max_reject_ratio must be a number, got {values['max_reject_ratio']!r}") from err
    if not 0 <= ratio <= 1:
        raise DataError(f"--max_reject_ratio must be within [0, 1], got {ratio}")
    recompute_dates: tuple[str, ...] = ()
    if values.get("recompute_dates") is not None:
        if values.get(RECOMPUTE_REPLACES):
            raise DataError("job arguments: give --manifest_key or --recompute_dates, not both")
        try:
            recompute_dates = contract.parse_recompute_dates(values["recompute_dates"], "--recompute_dates")
        except ValueError as err:
            raise DataError(f"job arguments: {err}") from err
    missing = [
        f"--{n}" for n in REQUIRED_ARGUMENTS if not values.get(n) and not _replaced(n, recompute_dates)
    ]
    if missing:
        raise DataError(f"job arguments: missing {missing}")
    return JobArguments(
        **{name: values.get(name) or "" for name in REQUIRED_ARGUMENTS},
        data_root=values.get("data_root") or None,
        max_reject_ratio=ratio,
        recompute_dates=recompute_dates,
    )


def _replaced(name: str, recompute_dates: Sequence[str]) -> bool:
    return bool(recompute_dates) and name == RECOMPUTE_REPLACES


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
    required = list(REQUIRED_ARGUMENTS)
    if "recompute_dates" in present:  # getResolvedOptions requires every name it is asked for
        required.remove(RECOMPUTE_REPLACES)
        present += (
            [RECOMPUTE_REPLACES] if any(t.startswith(f"--{RECOMPUTE_REPLACES}=") for t in tokens) else []
        )
    try:
        values = resolve([script, *tokens], [*required, *present])
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
    report: DataQualityReport
    report_uri: str
    dates: list[str] = field(default_factory=list)
    items: list[dynamo.Item] = field(default_factory=list)

    @property
    def summary(self) -> str:
        r = self.report
        return (
            f"music_kpis run_id={self.run_id} status={r.status} files={len(r.files)} "
            f"read={r.rows_read} accepted={r.rows_accepted} rejected={r.rows_rejected} "
            f"(ratio {r.reject_ratio:.4f}) duplicates={r.duplicates_dropped} "
            f"unknown_user_rows={r.unknown_user_rows} dates={','.join(r.dates_affected) or '-'} "
            f"items={r.kpi_items_written} stale_deleted={r.stale_items_deleted}"
        )


def configure(spark: SparkSession) -> None:
    """The session settings the job relies on, on Glue's session as on the local one."""
    for key, value in {**JOB_CONF, **RUN_CONF}.items():
        spark.conf.set(key, value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunCache:
    """The DataFrames a run keeps in memory; `persist` them here, all are released on exit."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def persist(self, frame: DataFrame) -> DataFrame:
        frame = frame.persist(CACHE)
        self._frames.append(frame)
        return frame

    def release_frame(self, frame: DataFrame) -> None:
        """Unpersist one frame early (its last reader is done)."""
        frame.unpersist()
        self._frames = [kept for kept in self._frames if kept is not frame]

    def release(self) -> None:
        for frame in self._frames:
            frame.unpersist()
        self._frames.clear()


@contextmanager
def run_cache() -> Iterator[RunCache]:
    """A `RunCache` whose frames are unpersisted when the block ends, however it ends."""
    cache = RunCache()
    try:
        yield cache
    finally:
        cache.release()


def run_job(spark: SparkSession, args: JobArguments) -> JobResult:
    """Run the job on `spark`; raise `DataError` (with a clear message) when the run must fail.

    The report is written in every case the data root is reachable, with `status` and `error`.
    """
    configure(spark)
    root = DataRoot(spark, args.root)
    report = DataQualityReport(args.safe_run_id, args.manifest_key, args.max_reject_ratio, _now())
    result = JobResult(args.safe_run_id, report, root.uri(contract.report_key(args.safe_run_id)))
    try:
        with run_cache() as cache:
            _run(spark, root, args, result, cache)
        report.status = STATUS_SUCCEEDED
    except Exception as err:
        report.status = STATUS_FAILED
        report.error = f"{type(err).__name__}: {err}"
        try:  # what a failed run staged is removed now; a sealed copy stays for the next run
            publication.Staging(root, args.safe_run_id).discard()
        except Exception:
            log.exception("could not remove the run's staged data (the lifecycle rule expires it)")
        raise
    finally:
        report.finished_at = _now()
        try:
            write_report(root, args.safe_run_id, report)
        except Exception:  # the run's own error matters more than a report that could not be written
            log.exception("could not write the data quality report")
        log.info(result.summary)
    return result


def _run(spark: SparkSession, root: DataRoot, args: JobArguments, result: JobResult, cache: RunCache) -> None:
    """The steps in order; each one a function below."""
    report, run_id, updated_at = result.report, args.safe_run_id, _now()
    # A publication an earlier attempt (or run) left half-done is finished before curated/ is read,
    # and its dates' DynamoDB items rebuilt from what it published (it died before writing them).
    finished = publication.finish_pending(root, run_id)
    report.publications_finished = [p.run_id for p in finished]
    rebuild_items(spark, root, finished, args.kpi_table)
    if args.recompute_dates:
        _recompute(spark, root, args, result, cache, updated_at)
        return
    inputs = load_inputs(spark, root, args.manifest_key, cache)
    if not inputs.streams:
        log.warning("the manifest lists no stream files: nothing to do")
        return
    size_shuffles(spark, inputs.stream_bytes)
    lines = validate_lines(spark, root, inputs, cache)
    bases, source_ids = count_quality(lines, inputs.streams, report)
    rows = lines.where(~F.col("_blank") & ~F.col("_header"))
    quarantine_and_check_ratio(rows, bases, inputs.streams, root, report)
    if not report.dates_affected:
        log.warning("no accepted stream rows: no date to update")
        return
    staging = publication.Staging(root, run_id)
    events = merge_into_curated(spark, root, staging, rows, source_ids, report)
    cache.release_frame(lines)  # the staged events are the KPIs' input: the lines' memory is free again
    kpis = compute_kpis(events, inputs.songs, cache)
    result.dates = report.dates_affected
    result.items = dynamo.kpi_items(*kpis.collected(), run_id, updated_at)
    publish(root, staging, kpis, result, args.kpi_table, updated_at)


# --- 0. items of a finished publication ---------------------------------------------------------
def rebuild_items(
    spark: SparkSession, root: DataRoot, finished: Sequence[publication.Publication], kpi_table: str
) -> None:
    """Replace the DynamoDB items of every date a finished publication published, from the curated
    KPI tables (now whole): DynamoDB agrees with curated/ again, whatever this run goes on to do.

    Each day's items carry the stamp (`run_id`, `updated_at`) of the run whose rows curated/ holds.
    """
    dates = sorted({day for p in finished if p.kpi_tables for day in p.dates})
    if not dates:
        return
    tables = {}
    for table in ("daily_genre_kpis", "top_songs", "top_genres"):
        frame = read_partitions(spark, root, contract.CURATED_TABLES[table].prefix, dates)
        tables[table] = [] if frame is None else [r.asDict() for r in frame.collect()]
    items: list[dynamo.Item] = []
    for day in dates:
        rows = {t: [r for r in found if r[contract.PARTITION_COLUMN] == day] for t, found in tables.items()}
        if not rows["daily_genre_kpis"]:
            continue  # nothing published for the day: its items are left as they are
        stamp = rows["daily_genre_kpis"][0]
        items += dynamo.kpi_items(
            rows["daily_genre_kpis"],
            rows["top_songs"],
            rows["top_genres"],
            stamp["run_id"],
            stamp["updated_at"],
        )
    written = dynamo.replace_items(kpi_table, items, dates)
    log.warning(
        "rebuilt %d DynamoDB items (%d stale deleted) of %s from the finished publication(s) of %s",
        written.written,
        written.deleted,
        dates,
        [p.run_id for p in finished],
    )


# --- 1. load inputs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunInputs:
    """The run's checked inputs: its stream files (each key once), their CSV headers, and the
    reference data (cached: every later step joins them)."""

    streams: list[contract.StreamObject]
    stream_sources: list[CsvSource]
    songs: DataFrame
    users: DataFrame
    stream_bytes: int = 0  # the stream files' total size (sizes the run's shuffles)


def load_inputs(spark: SparkSession, root: DataRoot, manifest_key: str, cache: RunCache) -> RunInputs:
    """The manifest, its stream files and the reference files, each present and with the columns we
    need; fails (before reading any data) otherwise, and on a reference file with no rows."""
    manifest = read_manifest(root, manifest_key)
    streams = list({s.key: s for s in manifest.streams}.values())  # a key listed twice counts once
    sizes = {s.key: root.size(s.key) for s in streams}
    missing = [key for key, size in sizes.items() if size is None]
    if missing:
        raise DataError(f"stream files of the manifest are gone: {[root.uri(k) for k in missing]}")
    users_key = manifest.reference.get("users", contract.USERS_KEY)
    songs_key = manifest.reference.get("songs", contract.SONGS_KEY)
    users_source = csv_source(root, users_key, contract.REQUIRED_USERS_COLUMNS, "users")
    songs_source = csv_source(root, songs_key, contract.REQUIRED_SONGS_COLUMNS, "songs")
    stream_sources = [csv_source(root, s.key, contract.REQUIRED_STREAMS_COLUMNS, "stream") for s in streams]
    songs = load_songs(spark, root, songs_source, cache)
    users = cache.persist(
        transforms.known_users(read_csv(spark, root, users_source, contract.USERS_READ_COLUMNS))
    )
    references = ((songs_source, songs), (users_source, users))
    empty = [root.uri(source.key) for source, frame in references if frame.isEmpty()]
    if empty:
        raise DataError(f"reference files with no rows: {empty}")
    return RunInputs(streams, stream_sources, songs, users, sum(size or 0 for size in sizes.values()))


def load_songs(spark: SparkSession, root: DataRoot, source: CsvSource, cache: RunCache) -> DataFrame:
    """The songs reference, one row per track (cached: the KPIs join it)."""
    return cache.persist(transforms.dedupe_songs(read_csv(spark, root, source, contract.SONGS_READ_COLUMNS)))


# --- 2. validate lines ------------------------------------------------------------------------
def validate_lines(spark: SparkSession, root: DataRoot, inputs: RunInputs, cache: RunCache) -> DataFrame:
    """Every stream line parsed and validated once (cached: every later step reads this)."""
    lines = read_csv_lines(spark, root, inputs.stream_sources)
    validated = transforms.validate_streams(lines, inputs.songs, inputs.users)
    # Only a rejected row needs its raw listen_time (for the quarantine): keep the cache small.
    raw_time = F.when(F.col("reject_reason").isNotNull(), F.col("listen_time")).alias("listen_time")
    return cache.persist(
        validated.select(*[raw_time if c == "listen_time" else c for c in validated.columns])
    )


# --- 3. count quality -------------------------------------------------------------------------
def count_quality(
    lines: DataFrame, streams: Sequence[contract.StreamObject], report: DataQualityReport
) -> tuple[dict[tuple[int, int], int], list[str]]:
    """One pass over the validated lines: the report's counts, the line bases of each split
    (`line_numbers`) the quarantine numbers its rows with, and each file's content id
    (`datasets.content_ids`)."""
    stats = (
        lines.groupBy(
            "source_index",
            "_block",
            "_blank",
            "_header",
            "reject_reason",
            "known_user",
            contract.PARTITION_COLUMN,
        )
        .agg(F.count(F.lit(1)).alias("n"), F.min("_row").alias("first_row"), *line_hash_sums())
        .collect()
    )
    count_rows([r for r in stats if not r["_blank"] and not r["_header"]], streams, report)
    return line_numbers.split_line_bases(stats), content_ids(stats, [s.key for s in streams])


def count_rows(
    counts: Sequence[Row], streams: Sequence[contract.StreamObject], report: DataQualityReport
) -> None:
    """Fill the report's counts from the grouped counts of the data rows (no header, no blank line)."""
    per_file = [FileQuality(s.key, s.etag) for s in streams]
    dates: set[str] = set()
    unknown_rows = 0
    by_reason: dict[str, int] = defaultdict(int)
    for row in counts:
        entry = per_file[row["source_index"]]
        entry.rows_read += row["n"]
        if row["reject_reason"] is None:
            entry.rows_accepted += row["n"]
            dates.add(row[contract.PARTITION_COLUMN])
            unknown_rows += 0 if row["known_user"] else row["n"]
        else:
            entry.rows_rejected += row["n"]
            entry.rejected_by_reason[row["reject_reason"]] += row["n"]
            by_reason[row["reject_reason"]] += row["n"]
    read = sum(e.rows_read for e in per_file)
    rejected = sum(by_reason.values())
    report.rows_read, report.rows_accepted, report.rows_rejected = read, read - rejected, rejected
    report.reject_ratio = rejected / read if read else 0.0
    report.rejected_by_reason = {reason: by_reason.get(reason, 0) for reason in contract.REJECT_REASONS}
    report.unknown_user_rows = unknown_rows
    report.dates_affected = sorted(dates)
    report.files = per_file


# --- 4. quarantine and check the reject ratio ---------------------------------------------------
def quarantine_and_check_ratio(
    rows: DataFrame,
    bases: dict[tuple[int, int], int],
    streams: Sequence[contract.StreamObject],
    root: DataRoot,
    report: DataQualityReport,
) -> None:
    """Write the rejected rows (with file and line) to the run's quarantine, then fail when more
    were rejected than `max_reject_ratio` allows. Written either way: over the ratio, the quarantine
    is what the failed run leaves to read."""
    write_quarantine(quarantine_rows(rows, bases, streams), root, report.run_id)
    if report.rows_read and report.rows_rejected / report.rows_read > report.max_reject_ratio:
        raise RejectRatioExceeded(
            f"{report.rows_rejected} of {report.rows_read} stream rows rejected ({report.reject_ratio:.2%}), "
            f"more than --max_reject_ratio {report.max_reject_ratio:.2%}: by reason "
            f"{ {k: v for k, v in report.rejected_by_reason.items() if v} }; nothing was published"
        )


def quarantine_rows(
    rows: DataFrame, bases: dict[tuple[int, int], int], streams: Sequence[contract.StreamObject]
) -> DataFrame:
    """The rejected rows as the quarantine CSV's columns (source file, line number, fields, reason)."""
    rejected = rows.where(F.col("reject_reason").isNotNull())
    keys = F.array(*[F.lit(s.key) for s in streams])
    return line_numbers.with_line_numbers(rejected, bases).select(
        F.element_at(keys, F.col("source_index") + 1).alias("source_file"),
        "line_number",
        "user_id",
        "track_id",
        "listen_time",
        "reject_reason",
    )


# --- 5. merge into curated --------------------------------------------------------------------
def merge_into_curated(
    spark: SparkSession,
    root: DataRoot,
    staging: publication.Staging,
    rows: DataFrame,
    source_ids: Sequence[str],
    report: DataQualityReport,
) -> DataFrame:
    """The curated events of the touched dates, with this run's files (by content id:
    `datasets.content_ids`) replacing their earlier rows, staged (curated/ stays whole until
    `publish`); returns the staged events of those dates."""
    dates = report.dates_affected
    accepted = rows.where(F.col("reject_reason").isNull())
    existing = read_partitions(spark, root, contract.CURATED_STREAMS_PREFIX, dates)
    merged = transforms.merge_events(accepted, existing, list(source_ids))
    merge_stats = Observation("merge")
    merged = merged.observe(merge_stats, F.count_if(F.col("_new")).alias("new_events"))
    staging.reset()
    write_partitions(transforms.curated_streams(merged), root, staging.prefix("streams"), dictionary=False)
    report.duplicates_dropped = report.rows_accepted - int(merge_stats.get.get("new_events") or 0)
    events = read_partitions(spark, root, staging.prefix("streams"), dates)
    if events is None:
        raise RuntimeError(f"the curated events just staged under {root.uri(staging.root)} are missing")
    return events.select("user_id", "track_id", contract.PARTITION_COLUMN)


# --- 6. compute KPIs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpis:
    """The KPI tables of the touched dates (docs/DESIGN.md, "KPI definitions"), each computed once
    and held as a one-partition local frame (`local_copy`): collecting or writing it again is one
    task over the driver's copy, nothing is recomputed."""

    daily_genre_kpis: DataFrame
    top_songs: DataFrame
    top_genres: DataFrame

    def tables(self) -> tuple[tuple[str, DataFrame], ...]:
        """(curated table name, frame) in publication order."""
        return (
            ("daily_genre_kpis", self.daily_genre_kpis),
            ("top_songs", self.top_songs),
            ("top_genres", self.top_genres),
        )

    def collected(self) -> tuple[list[dict], list[dict], list[dict]]:
        """Each table's rows as dicts (a few per genre and day), for the DynamoDB items."""
        return tuple([r.asDict() for r in frame.collect()] for _, frame in self.tables())


def compute_kpis(events: DataFrame, songs: DataFrame, cache: RunCache) -> Kpis:
    """Daily genre KPIs, top songs per genre and top genres from all the touched dates' events.

    The tables are small (a few rows per genre and day): each is computed once and kept on the
    driver (`local_copy`), so the DynamoDB items and the staged tables read the same rows and no
    table is computed twice. Only the per-track plays, which both tables aggregate, are cached.
    """
    plays = cache.persist(transforms.track_plays(events, songs))
    daily = local_copy(transforms.daily_genre_kpis(events, songs, plays))
    top_songs = local_copy(transforms.top_songs(plays))
    cache.release_frame(plays)  # nothing reads the plays again: free the memory before publishing
    return Kpis(daily, top_songs, local_copy(transforms.top_genres(daily)))


def local_copy(frame: DataFrame) -> DataFrame:
    """`frame` computed once: its rows on the driver, as a frame of one partition (for a small table)."""
    rows = frame.collect()
    return frame.sparkSession.createDataFrame(rows, frame.schema).coalesce(1)


# --- 7. publish --------------------------------------------------------------------------------
def publish(
    root: DataRoot,
    staging: publication.Staging,
    kpis: Kpis,
    result: JobResult,
    kpi_table: str,
    updated_at: str,
    recompute: bool = False,
) -> None:
    """Only now (every check has passed): stage the KPI tables, publish the staged tables
    (`publication`: recoverable), then replace the dates' DynamoDB items. A recompute publishes the
    KPI tables only: the curated events it read are not staged, and must not be cleared."""
    for table, frame in kpis.tables():
        write_partitions(
            transforms.stamped(frame, table, result.run_id, updated_at), root, staging.prefix(table)
        )
    tables = [table for table, _ in kpis.tables()] if recompute else list(contract.CURATED_TABLES)
    sealed = publication.seal(staging, tables, result.dates)
    publication.publish(root, sealed)
    written = dynamo.replace_items(kpi_table, result.items, result.dates)
    result.report.kpi_items_written, result.report.stale_items_deleted = written.written, written.deleted


# --- recompute mode -----------------------------------------------------------------------------
def _recompute(
    spark: SparkSession,
    root: DataRoot,
    args: JobArguments,
    result: JobResult,
    cache: RunCache,
    updated_at: str,
) -> None:
    """The KPIs of `--recompute_dates` from the curated events of those dates (no raw file, no
    quarantine), published like a normal run's: same staging, same DynamoDB replacement."""
    dates = list(args.recompute_dates)
    songs_source = csv_source(root, contract.SONGS_KEY, contract.REQUIRED_SONGS_COLUMNS, "songs")
    songs = load_songs(spark, root, songs_source, cache)
    events = read_curated_events(spark, root, dates)
    result.report.dates_affected = result.dates = dates
    staging = publication.Staging(root, args.safe_run_id)
    staging.reset()
    kpis = compute_kpis(events, songs, cache)
    result.items = dynamo.kpi_items(*kpis.collected(), args.safe_run_id, updated_at)
    publish(root, staging, kpis, result, args.kpi_table, updated_at, recompute=True)


def read_curated_events(spark: SparkSession, root: DataRoot, dates: Sequence[str]) -> DataFrame:
    """The curated events of `dates`; DataError naming the dates that have none (recomputing such a
    date would delete its items: a restored table must hold its events first)."""
    present = {
        key.rstrip("/").rsplit("=", 1)[1]
        for key in root.partition_keys(contract.CURATED_STREAMS_PREFIX, dates)
    }
    missing = [day for day in dates if day not in present]
    if missing:
        raise DataError(
            f"--recompute_dates: no curated events under {root.uri(contract.CURATED_STREAMS_PREFIX)} "
            f"for {missing}; nothing was published"
        )
    events = read_partitions(spark, root, contract.CURATED_STREAMS_PREFIX, dates)
    return events.select("user_id", "track_id", contract.PARTITION_COLUMN)
