"""Fixed report inputs, shaped as the pipeline publishes them (docs/DESIGN.md "DynamoDB items", reports/).

`small_*`: two days, three genres, two runs: small enough to compute every number by hand.
`wide_*`: twelve genres over six days (more than the trend chart's own lines), long and hostile
names: what the browser test lays out.
"""

from __future__ import annotations

from decimal import Decimal

from music_contract import items as contract_items
from music_contract import tables

HOSTILE_GENRE = '<script>alert("g")</script>&<b>'
HOSTILE_SONG = '"><img src=x onerror=alert(1)>'


def kpi(date: str, genre: str, listens: int, listeners: int, total_s: str, avg_s: str) -> dict:
    return {
        "pk": f"DATE#{date}",
        "sk": f"GENRE#{genre}",
        "record_type": contract_items.RECORD_DAILY_GENRE_KPI,
        "date": date,
        "genre": genre,
        "listen_count": Decimal(listens),
        "unique_listeners": Decimal(listeners),
        "total_listening_time_seconds": Decimal(total_s),
        "avg_listening_time_per_user_seconds": Decimal(avg_s),
        "gsi1pk": f"GENRE#{genre}",
        "gsi1sk": f"DATE#{date}",
        "run_id": "r1",
        "updated_at": "2026-11-21T00:00:00+00:00",
    }


def top_genres(date: str, ranked: list[tuple[str, int]]) -> dict:
    return {
        "pk": f"DATE#{date}",
        "sk": "TOP_GENRES",
        "record_type": contract_items.RECORD_TOP_GENRES,
        "date": date,
        "top_genres": [
            {"rank": Decimal(n), "genre": g, "listen_count": Decimal(c)} for n, (g, c) in enumerate(ranked, 1)
        ],
    }


def top_songs(date: str, genre: str, songs: list[tuple[str, str, str, int]]) -> dict:
    return {
        "pk": f"DATE#{date}",
        "sk": f"GENRE#{genre}#TOP_SONGS",
        "record_type": contract_items.RECORD_TOP_SONGS,
        "date": date,
        "genre": genre,
        "top_songs": [
            {
                "rank": Decimal(n),
                "track_id": t,
                "track_name": name,
                "artists": artists,
                "listen_count": Decimal(c),
            }
            for n, (t, name, artists, c) in enumerate(songs, 1)
        ],
    }


def quality(
    run_id: str, started_at: str, read: int, accepted: int, by_reason: dict, duplicates: int, **extra
):
    return {
        "run_id": run_id,
        "status": "succeeded",
        "started_at": started_at,
        "rows_read": read,
        "rows_accepted": accepted,
        "rows_rejected": sum(by_reason.values()),
        "rejected_by_reason": {**dict.fromkeys(tables.REJECT_REASONS, 0), **by_reason},
        "duplicates_dropped": duplicates,
        "unknown_user_rows": extra.pop("unknown", 0),
        "dates_affected": extra.pop("dates", []),
        **extra,
    }


# The two dates the report covers.
FIRST_DAY, SECOND_DAY = "2026-11-20", "2026-11-21"
SMALL_ITEMS = [
    kpi(FIRST_DAY, "pop", 5, 3, "1000.5", "333.5"),
    kpi(FIRST_DAY, "rock", 3, 2, "600", "300"),
    kpi(SECOND_DAY, "pop", 2, 2, "400", "200"),
    kpi(SECOND_DAY, "rock", 4, 1, "800", "800"),
    kpi(SECOND_DAY, HOSTILE_GENRE, 1, 1, "199.5", "199.5"),
    top_genres(FIRST_DAY, [("pop", 5), ("rock", 3)]),
    top_genres(SECOND_DAY, [("rock", 4), ("pop", 2), (HOSTILE_GENRE, 1)]),
    top_songs(FIRST_DAY, "pop", [("t1", "Song One", "Ann", 3), ("t2", "", "Bob", 2)]),
    top_songs(SECOND_DAY, HOSTILE_GENRE, [("t9", HOSTILE_SONG, "<i>Eve</i>", 1)]),
]
SMALL_REPORTS = [
    quality(
        "manual__b",
        "2026-11-21T10:00:00+00:00",
        6,
        5,
        {tables.REJECT_UNKNOWN_TRACK_ID: 1},
        0,
        dates=[SECOND_DAY],
    ),
    quality(
        "manual__a",
        "2026-11-20T10:00:00+00:00",
        10,
        8,
        {tables.REJECT_MISSING_USER_ID: 1, tables.REJECT_INVALID_LISTEN_TIME: 1},
        2,
        unknown=1,
        dates=[FIRST_DAY, SECOND_DAY],
    ),
]
SMALL_ARCHIVED = [
    "archived_data/2026/11/20/run_id=manual__a/streams1/streams1.csv",
    "archived_data/2026/11/20/run_id=manual__a/streams2.csv",
    "archived_data/2026/11/21/run_id=manual__b/late/streams3.csv",
]

WIDE_GENRES = [
    "pop", "rock", "hip-hop", "jazz", "classical", "electronic-dance-music-and-very-long-genre-names-too",
    "k-pop", "latin", "metal", HOSTILE_GENRE, "folk", "blues",
]  # fmt: skip
WIDE_DATES = [f"2026-11-{day:02d}" for day in range(15, 21)]


def wide_items() -> list[dict]:
    """Listens that rise, fall and cross, from a fixed formula (no randomness)."""
    items: list[dict] = []
    for d, date in enumerate(WIDE_DATES):
        day_counts = []
        for g, genre in enumerate(WIDE_GENRES):
            listens = 400 - 28 * g + (d * (g % 4) * 9) - (d * 11 if g % 3 == 0 else 0)
            listeners = max(1, listens // 3)
            items.append(
                kpi(
                    date, genre, listens, listeners, f"{listens * 201}.25", f"{listens * 201 / listeners:.3f}"
                )
            )
            day_counts.append((genre, listens))
        ranked = sorted(day_counts, key=lambda gc: (-gc[1], gc[0]))[:5]
        items.append(top_genres(date, ranked))
        for genre, _ in ranked:
            items.append(
                top_songs(
                    date,
                    genre,
                    [
                        (
                            f"{genre}-1",
                            f"The {genre} anthem with a rather long title, part one",
                            "Some Artist;Another",
                            40,
                        ),
                        (f"{genre}-2", HOSTILE_SONG, "Band", 31),
                        (f"{genre}-3", "", "Unknown", 12),
                    ],
                )
            )
    return items


WIDE_REPORTS = [
    quality(f"manual__2026-11-{15 + n:02d}T06.00.00.000000Z", f"2026-11-{15 + n:02d}T06:00:00+00:00", 5000 + n, 4900,
            {tables.REJECT_MISSING_USER_ID: 40, tables.REJECT_UNKNOWN_TRACK_ID: 60 + n}, 120 + n,
            unknown=7, dates=[WIDE_DATES[n]])
    for n in range(4)
] + [
    {**quality("manual__failed_run", "2026-11-20T07:00:00+00:00", 100, 60, {tables.REJECT_INVALID_LISTEN_TIME: 40}, 0),
     "status": "failed", "error": "40 of 100 stream rows rejected (40.00%), more than --max_reject_ratio 0.05"},
]  # fmt: skip
WIDE_ARCHIVED = [
    f"archived_data/2026/11/{15 + n:02d}/run_id=manual__2026-11-{15 + n:02d}T06.00.00.000000Z/streams{k}/part-{k}.csv"
    for n in range(4)
    for k in range(3)
] + ["archived_data/unexpected-key.csv"]
