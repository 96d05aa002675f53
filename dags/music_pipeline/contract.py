"""The dataset contract: the one place that says where data lives and what it looks like.

The DAG, the Glue job, the CDK stack, the local run and the tests all import these names
instead of repeating them. The module is plain Python (no Airflow, Spark or AWS imports) so
that MWAA loads it with the DAG and Glue loads it with the job (`--extra-py-files`).
See docs/DESIGN.md for the prose version of this contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime

DEFAULT_DATABASE_NAME = "music_streams"
DAG_ID = "music_streaming_pipeline_dynamo"
AWS_CONN_ID = "aws_conn"
DEFAULT_MAX_REJECT_RATIO = 0.05

# Airflow Variables the DAG reads (on MWAA: SSM parameters written by the stack).
VAR_BUCKET_NAME = "bucket_name"  # required
VAR_GLUE_JOB_NAME = "glue_job_name"  # required
VAR_GLUE_SCRIPT_LOCATION = "glue_script_location"  # informational
VAR_DATABASE_NAME = "database_name"  # default DEFAULT_DATABASE_NAME
VAR_ALERT_TOPIC_ARN = "alert_topic_arn"  # optional
PIPELINE_VARIABLES = (
    VAR_BUCKET_NAME,
    VAR_GLUE_JOB_NAME,
    VAR_GLUE_SCRIPT_LOCATION,
    VAR_DATABASE_NAME,
    VAR_ALERT_TOPIC_ARN,
)

# --- S3 layout (keys relative to the data bucket) -----------------------------------------
USERS_KEY = "reference_data/users/users.csv"
SONGS_KEY = "reference_data/songs/songs.csv"
REFERENCE_PREFIX = "reference_data/"
RAW_PREFIX = "raw_data/"
MANIFESTS_PREFIX = "manifests/"
CURATED_PREFIX = "curated/"
CURATED_STREAMS_PREFIX = "curated/streams/"
CURATED_DAILY_GENRE_KPIS_PREFIX = "curated/daily_genre_kpis/"
CURATED_TOP_SONGS_PREFIX = "curated/top_songs/"
CURATED_TOP_GENRES_PREFIX = "curated/top_genres/"
QUARANTINE_PREFIX = "quarantine/"
REPORTS_PREFIX = "reports/"
ARCHIVE_PREFIX = "archived_data/"
# The Glue job's staging area: `tmp/run_id=<run_id>/` holds a run's curated partitions until they
# are published (and its publication marker while they are); removed by the job, expired by a
# lifecycle rule as a backstop (STAGING_EXPIRATION_DAYS).
STAGING_PREFIX = "tmp/"
STAGING_EXPIRATION_DAYS = 30
PARTITION_COLUMN = "listen_date"

# --- Source files: every column each file carries, and the ones the pipeline reads ---------
USERS_COLUMNS = ("user_id", "user_name", "user_age", "user_country", "created_at")
SONGS_COLUMNS = (
    "id", "track_id", "artists", "album_name", "track_name", "popularity", "duration_ms",
    "explicit", "danceability", "energy", "key", "loudness", "mode", "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence", "tempo", "time_signature",
    "track_genre",
)  # fmt: skip
STREAMS_COLUMNS = ("user_id", "track_id", "listen_time")

# A file passes `validate_columns` when its header holds these (order free, extras allowed).
REQUIRED_USERS_COLUMNS = ("user_id",)
REQUIRED_SONGS_COLUMNS = ("id", "track_id", "artists", "track_name", "duration_ms", "track_genre")
REQUIRED_STREAMS_COLUMNS = STREAMS_COLUMNS
LISTEN_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"  # Spark datetime pattern; the times are UTC

# --- Glue job arguments (docs/DESIGN.md, "Glue job contract") ----------------------------------
ARG_DATA_BUCKET = "--data_bucket"
ARG_DATA_ROOT = "--data_root"
ARG_MANIFEST_KEY = "--manifest_key"
ARG_RUN_ID = "--run_id"
ARG_DATABASE_NAME = "--database_name"
ARG_KPI_TABLE = "--kpi_table"
ARG_MAX_REJECT_RATIO = "--max_reject_ratio"

# --- DynamoDB items ------------------------------------------------------------------------
TABLE_PARTITION_KEY = "pk"
TABLE_SORT_KEY = "sk"
GSI1_NAME = "gsi1"
GSI1_PARTITION_KEY = "gsi1pk"
GSI1_SORT_KEY = "gsi1sk"
RECORD_DAILY_GENRE_KPI = "DAILY_GENRE_KPI"
RECORD_TOP_SONGS = "TOP_SONGS"
RECORD_TOP_GENRES = "TOP_GENRES"
TOP_SONGS_PER_GENRE = 3
TOP_GENRES_PER_DAY = 5


def date_pk(date: str) -> str:
    return f"DATE#{date}"


def genre_sk(genre: str) -> str:
    return f"GENRE#{genre}"


def top_songs_sk(genre: str) -> str:
    return f"GENRE#{genre}#TOP_SONGS"


TOP_GENRES_SK = "TOP_GENRES"

# --- Run ids and the keys derived from them ------------------------------------------------
_UNSAFE_RUN_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def sanitize_run_id(run_id: str) -> str:
    """The Airflow run id with every character outside ``A-Za-z0-9._-`` replaced by ``_``.

    Airflow's ``manual__2026-11-25T17:18:46+00:00`` holds ``:`` and ``+``, which Hadoop
    paths reject; every key and the Glue ``--run_id`` use the sanitized form.
    """
    if not run_id:
        raise ValueError("run_id must not be empty")
    return _UNSAFE_RUN_ID_CHARS.sub("_", run_id)


def manifest_key(run_id: str) -> str:
    return f"{MANIFESTS_PREFIX}run_id={sanitize_run_id(run_id)}.json"


def quarantine_prefix(run_id: str) -> str:
    return f"{QUARANTINE_PREFIX}run_id={sanitize_run_id(run_id)}/"


def report_key(run_id: str) -> str:
    return f"{REPORTS_PREFIX}run_id={sanitize_run_id(run_id)}/data_quality.json"


def staging_prefix(run_id: str) -> str:
    return f"{STAGING_PREFIX}run_id={sanitize_run_id(run_id)}/"


def is_stream_key(key: str) -> bool:
    """True for a stream batch: any ``.csv`` object under ``raw_data/``, at any depth."""
    return key.startswith(RAW_PREFIX) and key.lower().endswith(".csv")


def archive_key(raw_key: str, run_id: str, processed_at: datetime) -> str:
    """Where a processed raw file goes: ``archived_data/YYYY/MM/DD/run_id=<id>/<path under raw_data>``.

    The run id in the key makes every archive distinct, so no run overwrites an earlier one.
    """
    if not raw_key.startswith(RAW_PREFIX):
        raise ValueError(f"not a raw_data key: {raw_key!r}")
    day = processed_at.strftime("%Y/%m/%d")
    return f"{ARCHIVE_PREFIX}{day}/run_id={sanitize_run_id(run_id)}/{raw_key[len(RAW_PREFIX) :]}"


# --- The run manifest ----------------------------------------------------------------------
@dataclass(frozen=True)
class StreamObject:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class Manifest:
    """The exact list of stream objects one run processes (``manifests/run_id=<id>.json``)."""

    run_id: str
    created_at: str
    bucket: str
    streams: tuple[StreamObject, ...]
    reference: dict[str, str] = field(default_factory=lambda: {"users": USERS_KEY, "songs": SONGS_KEY})

    def to_json(self) -> str:
        body = asdict(self)
        body["streams"] = [asdict(s) for s in self.streams]
        return json.dumps(body, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        body = json.loads(text)
        try:
            return cls(
                run_id=body["run_id"],
                created_at=body["created_at"],
                bucket=body["bucket"],
                reference=dict(body["reference"]),
                streams=tuple(StreamObject(s["key"], int(s["size"]), s["etag"]) for s in body["streams"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"manifest is missing or has a malformed field: {err}") from err


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
        CuratedTable(
            "daily_genre_kpis",
            CURATED_DAILY_GENRE_KPIS_PREFIX,
            (
                ("genre", "string"),
                ("listen_count", "bigint"),
                ("unique_listeners", "bigint"),
                ("total_listening_time_seconds", "decimal(18,3)"),
                ("avg_listening_time_per_user_seconds", "decimal(18,3)"),
                ("run_id", "string"),
                ("updated_at", "string"),
            ),
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

# --- Athena query results and pipeline metrics (issue 12) --------------------------------
# The stack's Athena workgroup writes query results here (SSE-KMS, expired after
# ATHENA_RESULTS_EXPIRATION_DAYS days by a lifecycle rule): results are re-runnable, not data.
ATHENA_RESULTS_PREFIX = "athena_results/"
ATHENA_RESULTS_EXPIRATION_DAYS = 30
# CloudWatch metrics the DAG publishes once per run (docs/DESIGN.md "Pipeline metrics"); the MWAA
# execution role may call PutMetricData for this namespace only.
METRIC_NAMESPACE = "MusicStreams/Pipeline"
# Dimension every metric carries: the environment name (`env` of cdk.json).
METRIC_DIMENSION_ENVIRONMENT = "Environment"
# Per-run data-quality counts (unit Count) from the run's data-quality report.
METRIC_ROWS_READ = "RowsRead"
METRIC_ROWS_ACCEPTED = "RowsAccepted"
METRIC_ROWS_REJECTED = "RowsRejected"
METRIC_DUPLICATE_ROWS = "DuplicateRows"
# The run's Glue job: ExecutionTime (unit Seconds) and DPU-seconds (unit Count; Glue's
# JobRun.DPUSeconds, or ExecutionTime x MaxCapacity where Glue reports none).
METRIC_GLUE_EXECUTION_SECONDS = "GlueExecutionTime"
METRIC_GLUE_DPU_SECONDS = "GlueDPUSeconds"
# Age in hours (unit None; CloudWatch has no "Hours" unit) of the newest listen_date whose KPIs are
# complete in the table, measured from the end of that day (UTC) when the run ends.
METRIC_KPI_FRESHNESS_HOURS = "KpiFreshnessHours"
RUN_METRICS = (
    METRIC_ROWS_READ,
    METRIC_ROWS_ACCEPTED,
    METRIC_ROWS_REJECTED,
    METRIC_DUPLICATE_ROWS,
    METRIC_GLUE_EXECUTION_SECONDS,
    METRIC_GLUE_DPU_SECONDS,
)
# The Glue job's data-quality reports (`report_key`) as an Athena table over REPORTS_PREFIX: one
# row per run, the report's own field names (pretty-printed JSON, read with the Ion SerDe).
DATA_QUALITY_REPORTS_TABLE = "data_quality_reports"
DATA_QUALITY_REPORT_COLUMNS = (
    ("run_id", "string"),
    ("status", "string"),
    ("started_at", "string"),
    ("finished_at", "string"),
    ("rows_read", "bigint"),
    ("rows_accepted", "bigint"),
    ("rows_rejected", "bigint"),
    ("reject_ratio", "double"),
    ("rejected_by_reason", "map<string,bigint>"),
    ("duplicates_dropped", "bigint"),
    ("unknown_user_rows", "bigint"),
    ("kpi_items_written", "bigint"),
    ("error", "string"),
)
