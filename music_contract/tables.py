"""The curated tables and the reject reasons (docs/DESIGN.md, "S3 data bucket layout", "KPI definitions")."""

from __future__ import annotations

from dataclasses import dataclass

from music_contract.items import KPI_MEASURE_TYPES
from music_contract.layout import (
    CURATED_DAILY_GENRE_KPIS_PREFIX,
    CURATED_STREAMS_PREFIX,
    CURATED_TOP_GENRES_PREFIX,
    CURATED_TOP_SONGS_PREFIX,
    PARTITION_COLUMN,
)


# --- Curated tables (Parquet written by the Glue job, registered in the Glue database) ------
# Every table is partitioned by PARTITION_COLUMN (`listen_date`, a 'YYYY-MM-DD' string) under
# `<prefix>listen_date=YYYY-MM-DD/`; `columns` are the data columns in file order (Hive types),
# without the partition column. The CDK stack creates the Glue tables (partition projection)
# from these, so a change here is a change of the stored data.
@dataclass(frozen=True)
class CuratedTable:
    name: str
    prefix: str
    columns: tuple[tuple[str, str], ...]
    partition_column: str = PARTITION_COLUMN
    partition_type: str = "string"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


CURATED_TABLES: dict[str, CuratedTable] = {
    table.name: table
    for table in (
        # One row per stream event (user_id, track_id, listen_time); `source_file` is the raw file
        # (`<key>#<etag>`) it was first stored from, so that re-processing a file replaces its rows.
        CuratedTable(
            "streams",
            CURATED_STREAMS_PREFIX,
            (
                ("user_id", "string"),
                ("track_id", "string"),
                ("listen_time", "timestamp"),
                ("source_file", "string"),
            ),
        ),
        # One row per (day, genre): the KPI measures (items.KPI_MEASURE_TYPES) between genre and the stamp.
        CuratedTable(
            "daily_genre_kpis",
            CURATED_DAILY_GENRE_KPIS_PREFIX,
            (("genre", "string"), *KPI_MEASURE_TYPES.items(), ("run_id", "string"), ("updated_at", "string")),
        ),
        # One row per (day, genre, rank), rank 1..TOP_SONGS_PER_GENRE.
        CuratedTable(
            "top_songs",
            CURATED_TOP_SONGS_PREFIX,
            (
                ("genre", "string"),
                ("rank", "int"),
                ("track_id", "string"),
                ("track_name", "string"),
                ("artists", "string"),
                ("listen_count", "bigint"),
                ("run_id", "string"),
                ("updated_at", "string"),
            ),
        ),
        # One row per (day, rank), rank 1..TOP_GENRES_PER_DAY.
        CuratedTable(
            "top_genres",
            CURATED_TOP_GENRES_PREFIX,
            (
                ("rank", "int"),
                ("genre", "string"),
                ("listen_count", "bigint"),
                ("run_id", "string"),
                ("updated_at", "string"),
            ),
        ),
    )
}

# Why a stream row is quarantined (the `reject_reason` column), in the order they are checked.
REJECT_MISSING_USER_ID = "missing_user_id"
REJECT_MISSING_TRACK_ID = "missing_track_id"
REJECT_INVALID_LISTEN_TIME = "invalid_listen_time"
REJECT_UNKNOWN_TRACK_ID = "unknown_track_id"
REJECT_REASONS = (
    REJECT_MISSING_USER_ID,
    REJECT_MISSING_TRACK_ID,
    REJECT_INVALID_LISTEN_TIME,
    REJECT_UNKNOWN_TRACK_ID,
)

# The Glue job's data-quality reports (`report_key`) as an Athena table over REPORTS_PREFIX: one
# row per run, the report's own field names (pretty-printed JSON, read with the Ion SerDe).
# Only fields whose JSON text has one Ion type: the Ion SerDe reads a DOUBLE column from Ion floats
# only, and `json.dumps` writes a ratio as `0.0123` (an Ion decimal) or `1e-05` (an Ion float)
# (github.com/amazon-ion/ion-hive-serde docs/type-mapping.md). So `reject_ratio` is no column: a
# query computes it from the row counts (infra/analytics.py, data-quality-over-runs).
DATA_QUALITY_REPORTS_TABLE = "data_quality_reports"
DATA_QUALITY_REPORT_COLUMNS = (
    ("run_id", "string"),
    ("status", "string"),
    ("started_at", "string"),
    ("finished_at", "string"),
    ("rows_read", "bigint"),
    ("rows_accepted", "bigint"),
    ("rows_rejected", "bigint"),
    ("rejected_by_reason", "map<string,bigint>"),
    ("duplicates_dropped", "bigint"),
    ("unknown_user_rows", "bigint"),
    ("kpi_items_written", "bigint"),
    ("error", "string"),
)
