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


# --- One consistent version per day (docs/DESIGN.md, "Reading a day's items") --------------------
# A run writes a day's items under new keys (`versioned_sk`), then the day's pointer item (one put:
# atomic), then deletes the day's earlier items. A reader follows the pointer: it never sees two
# runs mixed, some genres new and some old, or the top genres out of step with the genres.
DAY_VERSION_SK = "DAY_VERSION"
RECORD_DAY_VERSION = "DAY_VERSION"
ITEM_VERSION = "version"  # on the pointer (the current version) and on every versioned item
ITEM_COUNT = "item_count"  # on the pointer: how many items the version has


def versioned_sk(version: str, sk: str) -> str:
    """The stored sort key of the item `sk` (as in the table above) of `version`."""
    return f"{version}#{sk}"


class DayInFlux(RuntimeError):
    """A day's items read while a run replaced them: the pointer's version is not whole (re-read)."""


def current_items(day_items: list[dict]) -> list[dict]:
    """The items of one day (one `pk`) a reader uses, from everything stored under that `pk`.

    With a pointer: the items of its version, each with the sort key of the table above and without
    `version` (`DayInFlux` when fewer than its `item_count` were read: re-read the day). Without one
    (items written before versions existed, or a first versioned write not yet pointed to): the
    items that have no version.
    """
    pointers = [i for i in day_items if i[TABLE_SORT_KEY] == DAY_VERSION_SK]
    if not pointers:
        return [i for i in day_items if ITEM_VERSION not in i]
    version = pointers[0][ITEM_VERSION]
    prefix = f"{version}#"
    found = [
        {
            **{k: v for k, v in i.items() if k != ITEM_VERSION},
            TABLE_SORT_KEY: i[TABLE_SORT_KEY][len(prefix) :],
        }
        for i in day_items
        if i.get(ITEM_VERSION) == version and i[TABLE_SORT_KEY].startswith(prefix)
    ]
    if len(found) != int(pointers[0][ITEM_COUNT]):
        raise DayInFlux(
            f"{pointers[0][TABLE_PARTITION_KEY]}: {len(found)} of {pointers[0][ITEM_COUNT]} items of "
            f"version {version} read"
        )
    return found


def current_view(items: list[dict]) -> list[dict]:
    """`current_items` of every day in `items` (a scan of the table); raises `DayInFlux`."""
    days: dict[str, list[dict]] = {}
    for item in items:
        days.setdefault(item[TABLE_PARTITION_KEY], []).append(item)
    return [item for day_items in days.values() for item in current_items(day_items)]
