"""The job's steps (`job` runs them in order): each reads what it needs, writes what it must, and
returns what it counted; none touches the data-quality report (`job` builds it once, at the end).

    load_inputs -> validate_lines -> count_quality -> quarantine_and_check_ratio
    -> merge_into_curated -> compute_kpis -> publish

What a step caches lives as long as the run's `cache.RunCache`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F

from music_contract import layout
from music_contract import tables as contract_tables
from music_contract.manifest import StreamObject
from music_contract.quality import FileQuality
from music_kpis import dynamo, line_numbers, publication, rules, transforms
from music_kpis.cache import RunCache
from music_kpis.datasets import (
    CsvSource,
    DataError,
    DataRoot,
    csv_source,
    read_csv,
    read_csv_lines,
    read_manifest,
    read_partitions,
    write_partitions,
    write_quarantine,
)

log = logging.getLogger("music_kpis")


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
        frame = read_partitions(spark, root, contract_tables.CURATED_TABLES[table], dates)
        tables[table] = [] if frame is None else [r.asDict() for r in frame.collect()]
    items: list[dynamo.Item] = []
    for day in dates:
        rows = {t: [r for r in found if r[layout.PARTITION_COLUMN] == day] for t, found in tables.items()}
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

    streams: list[StreamObject]
    stream_sources: list[CsvSource]
    songs: DataFrame
    users: DataFrame
    genres: list[str]  # every genre of the songs once, sorted (`song_genres`)
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
    users_key = manifest.reference.get("users", layout.USERS_KEY)
    songs_key = manifest.reference.get("songs", layout.SONGS_KEY)
    users_source = csv_source(root, users_key, layout.REQUIRED_USERS_COLUMNS, "users")
    songs_source = csv_source(root, songs_key, layout.REQUIRED_SONGS_COLUMNS, "songs")
    stream_sources = [csv_source(root, s.key, layout.REQUIRED_STREAMS_COLUMNS, "stream") for s in streams]
    songs = load_songs(spark, root, songs_source, cache)
    users = cache.persist(
        transforms.known_users(read_csv(spark, root, users_source, layout.USERS_READ_COLUMNS))
    )
    # Listing the genres builds the songs cache and finds an empty file too: every song has a genre.
    genres = song_genres(songs)
    references = ((songs_source, not genres), (users_source, users.isEmpty()))
    empty = [root.uri(source.key) for source, no_rows in references if no_rows]
    if empty:
        raise DataError(f"reference files with no rows: {empty}")
    stream_bytes = sum(size or 0 for size in sizes.values())
    return RunInputs(streams, stream_sources, songs, users, genres, stream_bytes)


def load_songs(spark: SparkSession, root: DataRoot, source: CsvSource, cache: RunCache) -> DataFrame:
    """The songs reference, one row per track (cached: the KPIs join it)."""
    return cache.persist(transforms.dedupe_songs(read_csv(spark, root, source, layout.SONGS_READ_COLUMNS)))


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
@dataclass(frozen=True)
class RowCounts:
    """What the run's stream data rows (no header, no blank line) came to, overall and per file."""

    files: list[FileQuality]
    rows_read: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]  # every reason of the contract, in its order
    unknown_user_rows: int
    dates: list[str]  # the dates of the accepted rows, sorted

    @property
    def rows_accepted(self) -> int:
        return self.rows_read - self.rows_rejected


@dataclass(frozen=True)
class Quality:
    """`count_quality`'s results: the row counts, the line bases of each split (`line_numbers`)
    the quarantine numbers its rows with, and each file's source id (`rules.content_ids`)."""

    counts: RowCounts
    line_bases: dict[tuple[int, int], int]
    source_ids: list[str]


def count_quality(lines: DataFrame, streams: Sequence[StreamObject]) -> Quality:
    """One pass over the validated lines for everything the later steps and the report count."""
    stats = (
        lines.groupBy(
            "source_index",
            "_block",
            "_blank",
            "_header",
            "reject_reason",
            "known_user",
            layout.PARTITION_COLUMN,
        )
        .agg(F.count(F.lit(1)).alias("n"), F.min("_row").alias("first_row"), *rules.line_hash_sums())
        .collect()
    )
    return Quality(
        count_rows([r for r in stats if not r["_blank"] and not r["_header"]], streams),
        line_numbers.split_line_bases(stats),
        rules.content_ids(stats, [s.key for s in streams]),
    )


def count_rows(counts: Sequence[Row], streams: Sequence[StreamObject]) -> RowCounts:
    """The row counts from the grouped counts of the data rows (no header, no blank line)."""
    per_file = [FileQuality(s.key, s.etag) for s in streams]
    dates: set[str] = set()
    unknown_rows = 0
    by_reason: dict[str, int] = defaultdict(int)
    for row in counts:
        entry = per_file[row["source_index"]]
        entry.rows_read += row["n"]
        if row["reject_reason"] is None:
            entry.rows_accepted += row["n"]
            dates.add(row[layout.PARTITION_COLUMN])
            unknown_rows += 0 if row["known_user"] else row["n"]
        else:
            entry.rows_rejected += row["n"]
            entry.rejected_by_reason[row["reject_reason"]] += row["n"]
            by_reason[row["reject_reason"]] += row["n"]
    return RowCounts(
        files=per_file,
        rows_read=sum(e.rows_read for e in per_file),
        rows_rejected=sum(by_reason.values()),
        rejected_by_reason={reason: by_reason.get(reason, 0) for reason in contract_tables.REJECT_REASONS},
        unknown_user_rows=unknown_rows,
        dates=sorted(dates),
    )


# --- 4. quarantine and check the reject ratio ---------------------------------------------------
def quarantine_and_check_ratio(
    rows: DataFrame,
    quality: Quality,
    streams: Sequence[StreamObject],
    root: DataRoot,
    run_id: str,
    max_reject_ratio: float,
) -> None:
    """Write the rejected rows (with file and line) to the run's quarantine, then fail when more
    were rejected than `max_reject_ratio` allows (`rules.check_reject_ratio`). Written either way:
    over the ratio, the quarantine is what the failed run leaves to read."""
    write_quarantine(quarantine_rows(rows, quality.line_bases, streams), root, run_id)
    counts = quality.counts
    rules.check_reject_ratio(
        counts.rows_read, counts.rows_rejected, counts.rejected_by_reason, max_reject_ratio
    )


def quarantine_rows(
    rows: DataFrame, bases: dict[tuple[int, int], int], streams: Sequence[StreamObject]
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
    dates: Sequence[str],
) -> tuple[DataFrame, int]:
    """The curated events of `dates`, with this run's files (by source id: `rules.content_ids`)
    replacing their earlier rows, staged (curated/ stays whole until `publish`); returns the staged
    events of those dates and how many of the accepted rows were new events (not duplicates)."""
    accepted = rows.where(F.col("reject_reason").isNull())
    streams = contract_tables.CURATED_TABLES["streams"]
    existing = read_partitions(spark, root, streams, list(dates))
    merged = transforms.merge_events(accepted, existing, list(source_ids))
    merge_stats = Observation("merge")
    merged = merged.observe(merge_stats, F.count_if(F.col("_new")).alias("new_events"))
    staging.reset()
    write_partitions(transforms.curated_streams(merged), root, staging.prefix("streams"), dictionary=False)
    new_events = int(merge_stats.get.get("new_events") or 0)
    events = read_partitions(spark, root, streams, list(dates), prefix=staging.prefix("streams"))
    if events is None:
        raise RuntimeError(f"the curated events just staged under {root.uri(staging.root)} are missing")
    return events.select("user_id", "track_id", layout.PARTITION_COLUMN), new_events


# --- 6. compute KPIs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpis:
    """The KPI tables of the touched dates (docs/DESIGN.md, "KPI definitions"), each computed once
    and cached (a few rows per genre and day): the DynamoDB items and the staged tables read the
    same rows, and collecting or writing a table again recomputes nothing."""

    daily_genre_kpis: DataFrame
    top_songs: DataFrame
    top_genres: DataFrame
    rows: tuple[list[dict], list[dict], list[dict]]  # each table's rows as dicts, for DynamoDB items

    def tables(self) -> tuple[tuple[str, DataFrame], ...]:
        """(curated table name, frame) in publication order."""
        return (
            ("daily_genre_kpis", self.daily_genre_kpis),
            ("top_songs", self.top_songs),
            ("top_genres", self.top_genres),
        )


def compute_kpis(events: DataFrame, songs: DataFrame, genres: Sequence[str], cache: RunCache) -> Kpis:
    """Daily genre KPIs, top songs per genre and top genres from all the touched dates' events;
    `genres` lists every genre of `songs` once (`song_genres`).

    The per-track plays feed both the daily KPIs and the top songs: cached until both are.
    The tables are cached in the JVM (not collected and rebuilt from Python rows, which would
    start a Python worker for every later read of them).
    """
    plays = cache.persist(transforms.track_plays(events, songs))
    daily = cache.persist(transforms.daily_genre_kpis(events, songs, plays, genres))
    top_songs = cache.persist(transforms.top_songs(plays))
    top_genres = cache.persist(transforms.top_genres(daily))
    # Collecting a cached frame computes it once: the plays are then read no more.
    rows = tuple([r.asDict() for r in frame.collect()] for frame in (daily, top_songs, top_genres))
    cache.release_frame(plays)  # free the memory before publishing
    return Kpis(daily, top_songs, top_genres, rows)


def song_genres(songs: DataFrame) -> list[str]:
    """Every genre of the songs reference once, sorted (a few hundred names at most)."""
    return sorted(row["genre"] for row in songs.select("genre").distinct().collect())


# --- 7. publish --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stamp:
    """What a run's rows are stamped with: its run id and when it computed them."""

    run_id: str
    updated_at: str


def publish(
    root: DataRoot,
    staging: publication.Staging,
    kpis: Kpis,
    items: Sequence[dynamo.Item],
    dates: Sequence[str],
    kpi_table: str,
    stamp: Stamp,
    recompute: bool = False,
) -> dynamo.WriteResult:
    """Only now (every check has passed): stage the KPI tables, publish the staged tables
    (`publication`: recoverable), replace the dates' DynamoDB items (what was written and deleted
    is returned), then close the publication: a run that dies before the items are written leaves
    the marker, and the next run rebuilds them from the published tables. A recompute publishes the
    KPI tables only: the curated events it read are not staged, and must not be cleared."""
    for table, frame in kpis.tables():
        write_partitions(
            # One task writes the few cached rows: one file per day, no per-partition overhead.
            transforms.stamped(frame.coalesce(1), table, stamp.run_id, stamp.updated_at),
            root,
            staging.prefix(table),
        )
    tables = [table for table, _ in kpis.tables()] if recompute else list(contract_tables.CURATED_TABLES)
    sealed = publication.seal(staging, tables, list(dates))
    publication.publish(root, sealed)
    written = dynamo.replace_items(kpi_table, items, dates)
    publication.close(root, sealed)
    return written


# --- recompute mode: the input ------------------------------------------------------------------
def read_curated_events(spark: SparkSession, root: DataRoot, dates: Sequence[str]) -> DataFrame:
    """The curated events of `dates`; DataError naming the dates that have none (recomputing such a
    date would delete its items: a restored table must hold its events first)."""
    present = {
        key.rstrip("/").rsplit("=", 1)[1] for key in root.partition_keys(layout.CURATED_STREAMS_PREFIX, dates)
    }
    missing = [day for day in dates if day not in present]
    if missing:
        raise DataError(
            f"--recompute_dates: no curated events under {root.uri(layout.CURATED_STREAMS_PREFIX)} "
            f"for {missing}; nothing was published"
        )
    events = read_partitions(spark, root, contract_tables.CURATED_TABLES["streams"], dates)
    return events.select("user_id", "track_id", layout.PARTITION_COLUMN)
