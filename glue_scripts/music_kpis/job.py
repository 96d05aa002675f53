"""One run of the KPI job (docs/DESIGN.md, "Glue job contract"): the steps of `steps` in order,

    load_inputs -> validate_lines -> count_quality -> quarantine_and_check_ratio
    -> merge_into_curated -> compute_kpis -> publish

or, in recompute mode (``--recompute_dates`` instead of ``--manifest_key``; docs/DESIGN.md,
"Reprocess and backfill"): load_songs -> read_curated_events -> compute_kpis -> publish (the KPI
tables only: the curated events are the input, left as they are).

The order keeps a failed run unpublished: every check (manifest, reference files, stream headers,
reject ratio) passes before the first write to `curated/` or DynamoDB. A run only replaces what it
touched: the curated partitions and DynamoDB items of the dates its accepted rows fall on. Each
step returns what it counted (`RunRecord` keeps it); the data-quality report is built once from
that record when the run ends, however it ends. A cached frame is released as soon as its last
reader is done, so the run's peak memory is its largest step's, not the sum of all. The command line is `arguments`, the business rules
`rules`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from music_contract import layout
from music_contract.quality import STATUS_FAILED, STATUS_RUNNING, STATUS_SUCCEEDED, DataQualityReport
from music_kpis import dynamo, publication, rules, steps
from music_kpis.arguments import JobArguments
from music_kpis.cache import RunCache, run_cache
from music_kpis.datasets import DataRoot, csv_source, write_report
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


@dataclass
class RunRecord:
    """What the steps returned so far: the report's source, kept when a later step fails."""

    publications_finished: list[str] = field(default_factory=list)
    counts: steps.RowCounts | None = None
    dates: list[str] = field(default_factory=list)  # the dates the run touches
    new_events: int | None = None  # accepted rows that were no duplicate (once merged)
    items: list[dynamo.Item] = field(default_factory=list)
    written: dynamo.WriteResult | None = None


def quality_report(
    args: JobArguments,
    record: RunRecord,
    started_at: str,
    finished_at: str,
    status: str = STATUS_SUCCEEDED,
    error: str | None = None,
) -> DataQualityReport:
    """The run's data-quality report, from what its steps returned, ended in `status`."""
    counts = record.counts
    read, rejected = (counts.rows_read, counts.rows_rejected) if counts else (0, 0)
    report = DataQualityReport(
        args.safe_run_id,
        args.manifest_key,
        args.max_reject_ratio,
        started_at,
        status=status,
        rows_read=read,
        rows_accepted=read - rejected,
        rows_rejected=rejected,
        reject_ratio=rules.reject_ratio(read, rejected),
        duplicates_dropped=0 if record.new_events is None else read - rejected - record.new_events,
        unknown_user_rows=counts.unknown_user_rows if counts else 0,
        dates_affected=list(record.dates),
        files=counts.files if counts else [],
        kpi_items_written=record.written.written if record.written else 0,
        stale_items_deleted=record.written.deleted if record.written else 0,
        publications_finished=record.publications_finished,
        finished_at=finished_at,
        error=error,
    )
    if counts:
        report.rejected_by_reason = dict(counts.rejected_by_reason)
    return report


def configure(spark: SparkSession) -> None:
    """The session settings the job relies on, on Glue's session as on the local one."""
    for key, value in {**JOB_CONF, **RUN_CONF}.items():
        spark.conf.set(key, value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_job(spark: SparkSession, args: JobArguments) -> JobResult:
    """Run the job on `spark`; raise `DataError` (with a clear message) when the run must fail.

    The report is written in every case the data root is reachable, with `status` and `error`.
    """
    configure(spark)
    root = DataRoot(spark, args.root)
    started_at, record, status, error = _now(), RunRecord(), STATUS_RUNNING, None
    try:
        with run_cache() as cache:
            _run(spark, root, args, record, cache)
        status = STATUS_SUCCEEDED
    except Exception as err:
        status, error = STATUS_FAILED, f"{type(err).__name__}: {err}"
        try:  # what a failed run staged is removed now; a sealed copy stays for the next run
            publication.Staging(root, args.safe_run_id).discard()
        except Exception:
            log.exception("could not remove the run's staged data (the lifecycle rule expires it)")
        raise
    finally:
        report = quality_report(args, record, started_at, _now(), status, error)
        try:
            write_report(root, args.safe_run_id, report)
        except Exception:  # the run's own error matters more than a report that could not be written
            log.exception("could not write the data quality report")
        uri = root.uri(layout.report_key(args.safe_run_id))
        result = JobResult(args.safe_run_id, report, uri, list(record.dates), record.items)
        log.info(result.summary)
    return result


def _run(spark: SparkSession, root: DataRoot, args: JobArguments, record: RunRecord, cache: RunCache) -> None:
    """The steps in order, each one a function of `steps`; `record` keeps what they return."""
    stamp = steps.Stamp(args.safe_run_id, _now())
    # A publication an earlier attempt (or run) left half-done is finished before curated/ is read,
    # and its dates' DynamoDB items rebuilt from what it published (it died before writing them).
    finished = publication.finish_pending(
        root, stamp.run_id, lambda pending: steps.rebuild_items(spark, root, [pending], args.kpi_table)
    )
    record.publications_finished = [p.run_id for p in finished]
    if args.recompute_dates:
        _recompute(spark, root, args, record, cache, stamp)
        return
    inputs = steps.load_inputs(spark, root, args.manifest_key, cache)
    if not inputs.streams:
        log.warning("the manifest lists no stream files: nothing to do")
        return
    size_shuffles(spark, inputs.stream_bytes)
    lines = steps.validate_lines(spark, root, inputs, cache)
    quality = steps.count_quality(lines, inputs.streams)
    record.counts, record.dates = quality.counts, quality.counts.dates
    rows = lines.where(~F.col("_blank") & ~F.col("_header"))
    steps.quarantine_and_check_ratio(rows, quality, inputs.streams, root, stamp.run_id, args.max_reject_ratio)
    if not record.dates:
        log.warning("no accepted stream rows: no date to update")
        return
    staging = publication.Staging(root, stamp.run_id)
    events, record.new_events = steps.merge_into_curated(
        spark, root, staging, rows, quality.source_ids, record.dates
    )
    cache.release_frame(lines)  # the staged events are the KPIs' input: the lines' memory is free again
    kpis = steps.compute_kpis(events, inputs.songs, inputs.genres, cache)
    record.items = dynamo.kpi_items(*kpis.rows, stamp.run_id, stamp.updated_at)
    record.written = steps.publish(root, staging, kpis, record.items, record.dates, args.kpi_table, stamp)


def _recompute(
    spark: SparkSession,
    root: DataRoot,
    args: JobArguments,
    record: RunRecord,
    cache: RunCache,
    stamp: steps.Stamp,
) -> None:
    """The KPIs of `--recompute_dates` from the curated events of those dates (no raw file, no
    quarantine), published like a normal run's: same staging, same DynamoDB replacement."""
    dates = list(args.recompute_dates)
    songs_source = csv_source(root, layout.SONGS_KEY, layout.REQUIRED_SONGS_COLUMNS, "songs")
    songs = steps.load_songs(spark, root, songs_source, cache)
    events = steps.read_curated_events(spark, root, dates)
    record.dates = dates
    staging = publication.Staging(root, args.safe_run_id)
    staging.reset()
    kpis = steps.compute_kpis(events, songs, steps.song_genres(songs), cache)
    record.items = dynamo.kpi_items(*kpis.rows, stamp.run_id, stamp.updated_at)
    record.written = steps.publish(
        root, staging, kpis, record.items, record.dates, args.kpi_table, stamp, recompute=True
    )
