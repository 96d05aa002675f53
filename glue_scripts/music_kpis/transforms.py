"""Pure transforms: DataFrames in, DataFrames out, no I/O and no actions.

The KPI definitions of docs/DESIGN.md live here, each in one function, so that tests can check them
on tiny hand-made frames and the job only wires them together.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from music_contract import items, layout, tables

UNKNOWN_GENRE = "unknown"


def _blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


def parse_as(column: str, sql_type: str) -> Column:
    """The text column `column` as `sql_type`, null when it does not parse, whatever the ANSI mode.

    `cast` raises on bad input when `spark.sql.ansi.enabled` is on (Spark 4's default, and a
    setting a Glue 5.1 user may turn on); `try_cast` (Spark SQL since 3.2) gives null in both
    modes and costs what the plain cast does.
    """
    return F.expr(f"try_cast(`{column}` AS {sql_type})")


# --- reference data -----------------------------------------------------------------------
def dedupe_songs(songs: DataFrame) -> DataFrame:
    """One row per `track_id`: the row with the smallest numeric `id` wins (ties: first by name).

    Out: track_id, track_name, artists, duration_ms (long, 0 when unusable), genre. Empty names
    become "", an empty genre becomes "unknown"; rows without a track_id are dropped.
    """
    ranked = songs.where(~_blank("track_id")).select(
        "track_id",
        parse_as("id", "decimal(38,0)").alias("_id"),
        F.coalesce(F.col("track_name"), F.lit("")).alias("track_name"),
        F.coalesce(F.col("artists"), F.lit("")).alias("artists"),
        F.coalesce(F.round(parse_as("duration_ms", "decimal(20,3)")).cast("long"), F.lit(0)).alias(
            "duration_ms"
        ),
        F.when(_blank("track_genre"), F.lit(UNKNOWN_GENRE)).otherwise(F.col("track_genre")).alias("genre"),
    )
    # The least row by (id, nulls last; genre, track_name, artists, duration_ms): the minimum of a
    # struct compares field by field, so one aggregation replaces a window's sort of every row.
    first = F.min(
        F.struct(
            F.col("_id").isNull().alias("_no_id"),
            "_id",
            "genre",
            "track_name",
            "artists",
            "duration_ms",
        )
    ).alias("_first")
    return (
        ranked.groupBy("track_id")
        .agg(first)
        .select("track_id", "_first.track_name", "_first.artists", "_first.duration_ms", "_first.genre")
    )


def known_users(users: DataFrame) -> DataFrame:
    """Distinct non-empty user ids of users.csv."""
    return users.where(~_blank("user_id")).select("user_id").distinct()


# --- stream rows --------------------------------------------------------------------------
# The contract's only listen_time shape. Java regex: \d is ASCII digits only, and \z (unlike $)
# admits no trailing line break.
LISTEN_TIME_SHAPE = r"\A\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\z"


def strict_listen_time(column: str) -> Column:
    """Text `column` as a UTC timestamp when exactly `yyyy-MM-dd HH:mm:ss` and a real time, else null.

    Spark's cast parses digits by hand (several times faster than a pattern formatter) but also
    accepts other shapes (a date alone, a 'T', fractions, zones): one anchored regex admits only
    the contract's shape, then the cast rejects impossible dates and times. (A regex costs a
    fifth of what the same check built from substring and translate calls does.)
    """
    return F.when(F.col(column).rlike(LISTEN_TIME_SHAPE), parse_as(column, "timestamp"))


def validate_streams(rows: DataFrame, songs: DataFrame, users: DataFrame) -> DataFrame:
    """Add `listen_ts`, `listen_date`, `known_user` and `reject_reason` (null when accepted).

    Reasons, first match wins: missing user_id, missing track_id, unparseable listen_time,
    track_id not in songs. A user missing from users.csv is accepted (and reported).
    """
    track_ids = songs.select("track_id", F.lit(True).alias("_known_track"))
    user_ids = users.select("user_id", F.lit(True).alias("known_user"))
    listen_ts = strict_listen_time("listen_time")
    reason = (
        F.when(_blank("user_id"), F.lit(tables.REJECT_MISSING_USER_ID))
        .when(_blank("track_id"), F.lit(tables.REJECT_MISSING_TRACK_ID))
        .when(F.col("listen_ts").isNull(), F.lit(tables.REJECT_INVALID_LISTEN_TIME))
        .when(F.col("_known_track").isNull(), F.lit(tables.REJECT_UNKNOWN_TRACK_ID))
    )
    return (
        rows.withColumn("listen_ts", listen_ts)
        .join(F.broadcast(track_ids), "track_id", "left")
        .join(F.broadcast(user_ids), "user_id", "left")
        .select(
            *rows.columns,
            "listen_ts",
            # The UTC date is the text's first 10 characters once the whole text parsed.
            F.when(F.col("listen_ts").isNotNull(), F.substring("listen_time", 1, 10)).alias(
                layout.PARTITION_COLUMN
            ),
            F.coalesce(F.col("known_user"), F.lit(False)).alias("known_user"),
            reason.alias("reject_reason"),
        )
    )


EVENT_KEY = (layout.PARTITION_COLUMN, "user_id", "track_id", "listen_time")


def merge_events(new_events: DataFrame, existing: DataFrame | None, sources: Sequence[str]) -> DataFrame:
    """The curated event store of the touched dates after this run.

    `new_events`: accepted rows (user_id, track_id, listen_ts, listen_date, source_index), where
    `source_index` points into `sources`, this run's source ids. `existing`: the store's rows of
    those dates (or None); each (user_id, track_id, listen_time) triple is there once. Rows that
    came from one of `sources` are taken out first (re-processing a file replaces its rows), then
    the run's triples not already in the store are added, once each. Out: the store's columns,
    `listen_date`, and `_new` (added by this run) for the report.

    All aggregates are on fixed-width values (no collect_set or min of strings), so Spark keeps
    them in hash aggregation: the step that handles every event stays a single shuffle.
    """
    ids = F.array(*[F.lit(s) for s in sources])
    new = (
        new_events.select(
            layout.PARTITION_COLUMN,
            "user_id",
            "track_id",
            F.col("listen_ts").alias("listen_time"),
            "source_index",
        )
        .groupBy(*EVENT_KEY)
        .agg(F.min("source_index").alias("_source"))
        .select(
            *EVENT_KEY,
            F.element_at(ids, F.col("_source") + 1).alias("source_file"),
            F.lit(True).alias("_new"),
        )
    )
    if existing is None:
        return new
    kept = existing.where(~F.col("source_file").isin(*sources)).select(
        *EVENT_KEY, "source_file", F.lit(False).alias("_new")
    )
    return kept.unionByName(new.join(kept.select(*EVENT_KEY), list(EVENT_KEY), "left_anti"))


def curated_streams(merged: DataFrame) -> DataFrame:
    """The curated `streams` table's columns in contract order, plus the partition column."""
    return merged.select(*tables.CURATED_TABLES["streams"].column_names, layout.PARTITION_COLUMN)


# --- KPIs ---------------------------------------------------------------------------------
def track_plays(events: DataFrame, songs: DataFrame) -> DataFrame:
    """Plays per (listen_date, track): listen_date, track_id, genre, plays, duration_ms, names."""
    return (
        events.groupBy(layout.PARTITION_COLUMN, "track_id")
        .agg(F.count(F.lit(1)).alias("plays"))
        .join(F.broadcast(songs), "track_id")
    )


def daily_genre_kpis(
    events: DataFrame, songs: DataFrame, plays: DataFrame, genres: Sequence[str]
) -> DataFrame:
    """One row per (listen_date, genre): listen_count, unique_listeners, and the listening times.

    `genres`: every genre of `songs` (`unique_listeners`). Times are exact: milliseconds summed as
    integers; the average is total / listeners rounded half-up to the millisecond with integer
    arithmetic (no double rounding), then in seconds.
    """
    totals = plays.groupBy(layout.PARTITION_COLUMN, "genre").agg(
        F.sum("plays").alias("listen_count"),
        F.sum(F.col("plays") * F.col("duration_ms")).alias("_total_ms"),
    )
    # total / users rounded half-up, in whole milliseconds: (2 * total + users) div (2 * users).
    avg_ms = F.expr("(_total_ms * 2 + unique_listeners) div (unique_listeners * 2)")
    listeners = unique_listeners(events, songs, genres)
    return totals.join(listeners, [layout.PARTITION_COLUMN, "genre"]).select(
        layout.PARTITION_COLUMN,
        "genre",
        F.col("listen_count").cast("long").alias("listen_count"),
        F.col("unique_listeners").cast("long").alias("unique_listeners"),
        _millis_to_seconds(F.col("_total_ms")).alias("total_listening_time_seconds"),
        _millis_to_seconds(avg_ms).alias("avg_listening_time_per_user_seconds"),
    )


_WORD_BITS = 64


def unique_listeners(events: DataFrame, songs: DataFrame, genres: Sequence[str]) -> DataFrame:
    """Distinct users per (listen_date, genre): listen_date, genre, unique_listeners (exact).

    A distinct over (date, genre, user) keeps nearly one group per event (a user plays many
    genres a day). Instead, each (date, user) gets one bitmask of the genres it played, a 64-bit
    word per 64 genres, so the aggregation keeps about one group per user and day; the set bits
    are then counted per date. Exact for any number of genres. `genres` lists every genre of
    `songs` once (the job collects them: a few hundred names); genre i is bit i, so the genre of a
    bit is an array lookup, not a join.
    """
    names = F.array(*[F.lit(name) for name in genres]).cast("array<string>")
    index = F.create_map(*[F.lit(part) for i, name in enumerate(genres) for part in (name, i)])
    track_bits = songs.select("track_id", index[F.col("genre")].alias("_genre")).select(
        "track_id",
        F.expr(f"_genre div {_WORD_BITS}").alias("_word"),
        F.expr(f"shiftleft(1L, cast(_genre % {_WORD_BITS} as int))").alias("_bit"),
    )
    masks = (
        events.join(F.broadcast(track_bits), "track_id")
        .groupBy(layout.PARTITION_COLUMN, "user_id", "_word")
        .agg(F.bit_or("_bit").alias("_mask"))
    )
    # One row per set bit (a 64-row sequence per mask, filtered), then counted per bit: a few
    # cheap generated operators, where 64 sum aggregates cost seconds of code generation per run.
    per_genre = (
        masks.select(
            layout.PARTITION_COLUMN,
            "_word",
            "_mask",
            F.explode(F.sequence(F.lit(0), F.lit(_WORD_BITS - 1))).alias("_bit"),
        )
        .where(F.expr("shiftrightunsigned(_mask, _bit) & 1 = 1"))
        .groupBy(layout.PARTITION_COLUMN, "_word", "_bit")
        .agg(F.count(F.lit(1)).alias("unique_listeners"))
    )
    genre = F.element_at(names, (F.col("_word") * _WORD_BITS + F.col("_bit") + 1).cast("int"))
    return per_genre.select(layout.PARTITION_COLUMN, genre.alias("genre"), "unique_listeners")


def _millis_to_seconds(millis: Column) -> Column:
    """An integral number of milliseconds as exact seconds, decimal(18,3)."""
    return (millis.cast("decimal(18,0)") / F.lit(1000)).cast("decimal(18,3)")


def top_songs(plays: DataFrame, limit: int = items.TOP_SONGS_PER_GENRE) -> DataFrame:
    """At most `limit` tracks per (listen_date, genre): plays descending, then track_id ascending."""
    order = Window.partitionBy(layout.PARTITION_COLUMN, "genre").orderBy(F.desc("plays"), F.asc("track_id"))
    return (
        plays.withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= limit)
        .select(
            layout.PARTITION_COLUMN,
            "genre",
            F.col("rank").cast("int").alias("rank"),
            "track_id",
            "track_name",
            "artists",
            F.col("plays").cast("long").alias("listen_count"),
        )
    )


def top_genres(kpis: DataFrame, limit: int = items.TOP_GENRES_PER_DAY) -> DataFrame:
    """At most `limit` genres per listen_date: listen_count descending, then genre ascending."""
    order = Window.partitionBy(layout.PARTITION_COLUMN).orderBy(F.desc("listen_count"), F.asc("genre"))
    return (
        kpis.withColumn("rank", F.row_number().over(order))
        .where(F.col("rank") <= limit)
        .select(layout.PARTITION_COLUMN, F.col("rank").cast("int").alias("rank"), "genre", "listen_count")
    )


def stamped(frame: DataFrame, table: str, run_id: str, updated_at: str) -> DataFrame:
    """The KPI table's contract columns (with run_id and updated_at) and the partition column."""
    columns = tables.CURATED_TABLES[table].column_names
    frame = frame.withColumn("run_id", F.lit(run_id)).withColumn("updated_at", F.lit(updated_at))
    return frame.select(*columns, layout.PARTITION_COLUMN)
