"""Where data lives in the data bucket, what the source files carry, and the run id rule with the
keys derived from it (docs/DESIGN.md, "S3 data bucket layout", "Source files")."""

from __future__ import annotations

import re
from datetime import date, datetime

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
# Glue's own scratch space (the job's --TempDir): expired after GLUE_TEMP_EXPIRATION_DAYS.
GLUE_TEMP_PREFIX = "glue-temp/"
GLUE_TEMP_EXPIRATION_DAYS = 7
# The local run only (local_run/resources.py): where the emulated Glue job's script, library zip
# and --TempDir point in the emulated data bucket (nothing is uploaded there; Spark runs in-process).
LOCAL_ASSETS_PREFIX = "_local_assets/"
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
# What the Glue job reads of each reference file: exactly the required columns.
SONGS_READ_COLUMNS = REQUIRED_SONGS_COLUMNS
USERS_READ_COLUMNS = REQUIRED_USERS_COLUMNS
REQUIRED_STREAMS_COLUMNS = STREAMS_COLUMNS


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
    day = archive_day_prefix(processed_at)
    return f"{day}run_id={sanitize_run_id(run_id)}/{raw_key[len(RAW_PREFIX) :]}"


def archive_day_prefix(day: date) -> str:
    """``archived_data/YYYY/MM/DD/``: every file archived on `day` (UTC), by any run (a replay lists it)."""
    return f"{ARCHIVE_PREFIX}{day.strftime('%Y/%m/%d')}/"


def is_archived_stream_key(key: str) -> bool:
    """True for an archived stream batch: a ``.csv`` object under ``archived_data/``."""
    return key.startswith(ARCHIVE_PREFIX) and key.lower().endswith(".csv")


# The stack's Athena workgroup writes query results here (SSE-KMS, expired after
# ATHENA_RESULTS_EXPIRATION_DAYS days by a lifecycle rule): results are re-runnable, not data.
ATHENA_RESULTS_PREFIX = "athena_results/"
ATHENA_RESULTS_EXPIRATION_DAYS = 30
