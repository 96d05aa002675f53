"""The DynamoDB KPI items: keys, record types, attribute names (docs/DESIGN.md, "DynamoDB items")."""

from __future__ import annotations

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
# Item attributes (docs/DESIGN.md, "DynamoDB items"); every item carries the record type and the stamp.
ITEM_RECORD_TYPE = "record_type"
ITEM_DATE = "date"
ITEM_GENRE = "genre"
ITEM_RUN_ID = "run_id"
ITEM_UPDATED_AT = "updated_at"
ITEM_TOP_SONGS = "top_songs"  # list of TOP_SONG_ATTRIBUTES maps
ITEM_TOP_GENRES = "top_genres"  # list of TOP_GENRE_ATTRIBUTES maps
# The daily genre KPIs (docs/DESIGN.md, "KPI definitions"), in order, with their Hive type: the one
# list the item's number attributes, the `daily_genre_kpis` columns (tables.py) and the QuickSight
# KPI table derive from. Adding one: docs/DESIGN.md, "How to change it" (tests/test_kpi_recipe.py).
KPI_MEASURE_TYPES = {
    "listen_count": "bigint",
    "unique_listeners": "bigint",
    "total_listening_time_seconds": "decimal(18,3)",
    "avg_listening_time_per_user_seconds": "decimal(18,3)",
}
KPI_MEASURES = tuple(KPI_MEASURE_TYPES)
TOP_SONG_ATTRIBUTES = ("rank", "track_id", "track_name", "artists", "listen_count")
TOP_GENRE_ATTRIBUTES = ("rank", "genre", "listen_count")
# Attributes stored as DynamoDB numbers (Decimal); every other attribute is a string.
ITEM_NUMBER_ATTRIBUTES = frozenset({*KPI_MEASURES, "rank"})


def date_pk(date: str) -> str:
    return f"DATE#{date}"


def genre_sk(genre: str) -> str:
    return f"GENRE#{genre}"


def top_songs_sk(genre: str) -> str:
    return f"GENRE#{genre}#TOP_SONGS"


TOP_GENRES_SK = "TOP_GENRES"
