"""The Glue job tests' data: a tiny bucket written by hand, and helpers to run the job and read the table.

The fixture bucket (`write_bucket`) is small enough that every expected KPI in the tests is
computed by hand from the rows below.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import boto3

from music_contract import items as contract_items
from music_contract import layout
from music_contract.manifest import Manifest, StreamObject

# The two listen dates of the sample streams below.
FIRST_DAY, SECOND_DAY = "2026-11-20", "2026-11-21"

# id,track_id,artists,album_name,track_name,duration_ms,track_genre (+ the catalogue's other columns).
# T1 is listed twice (id 0 wins over id 5); T6 too, and there the smaller id (9) comes later in the file.
SONGS_CSV = (
    "\ufeffid,track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,"
    "key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,"
    "track_genre\r\n"
    '0,T1,"Smith, John",Album,"Say ""Hi""",50,200000,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,pop\r\n'
    "1,T2,Band,Album,Song Two,50,180500,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,pop\r\n"
    "2,T3,Trio,Album,Song Three,50,240250,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,rock\r\n"
    "3,T4,,,,50,100001,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,jazz\r\n"
    "5,T1,Other,Album,Not This One,50,999999,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,rock\r\n"
    "4,T5,X,Album,Song Five,50,150000,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,pop\r\n"
    "10,T6,Y,Album,Song Six,50,300000,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,rock\r\n"
    "9,T6,Z,Album,Song Six (metal),50,120000,False,0.5,0.5,1,-5.0,1,0.1,0.1,0,0.1,0.5,120.0,4,metal\r\n"
)
USERS_CSV = "user_id,user_name,user_age,user_country,created_at\r\nu1,a,30,US,2024-01-01\r\nu2,b,31,DE,2024-01-01\r\nu3,c,32,FR,2024-01-01\r\n"

# streams1: plain. Lines 2-6 accepted (line 5 repeats line 2; u9 is not in users.csv), a blank
# line 7, then one row per reject reason on lines 8-11.
STREAMS1 = (
    "user_id,track_id,listen_time\n"
    f"u1,T1,{FIRST_DAY} 10:00:00\n"
    f"u2,T1,{FIRST_DAY} 11:00:00\n"
    f"u1,T2,{FIRST_DAY} 12:00:00\n"
    f"u1,T1,{FIRST_DAY} 10:00:00\n"
    f"u9,T3,{FIRST_DAY} 13:00:00\n"
    "\n"
    f",T2,{FIRST_DAY} 14:00:00\n"
    f"u2,,{FIRST_DAY} 14:00:00\n"
    f"u2,T2,{FIRST_DAY}T14:00:00\n"
    f"u2,TX,{FIRST_DAY} 14:00:00\n"
)
# streams2: BOM, CRLF, reordered columns and an extra one (with a quoted comma). Its first row
# repeats streams1's first event.
STREAMS2 = (
    "\ufefflisten_time,device,track_id,user_id\r\n"
    f"{FIRST_DAY} 10:00:00,ios,T1,u1\r\n"
    f"{SECOND_DAY} 09:00:00,web,T6,u3\r\n"
    f"{FIRST_DAY} 23:59:59,web,T4,u3\r\n"
    f'"{SECOND_DAY} 00:00:00","a, b",T5,u1\r\n'
)
STREAMS3 = f"user_id,track_id,listen_time\nu3,T1,{SECOND_DAY} 08:00:00\nu3,T1,{SECOND_DAY} 08:00:00\nu2,T3,{SECOND_DAY} 08:30:00\n"
STREAM_FILES = {
    "raw_data/streams1/streams1.csv": STREAMS1,
    "raw_data/streams2/streams2.csv": STREAMS2,
    "raw_data/streams3/streams3.csv": STREAMS3,
}
# Where each stream file lies in raw_data/ (the keys a manifest names).
STREAMS1_KEY, STREAMS2_KEY, STREAMS3_KEY = STREAM_FILES

# Hand-computed from the files above: (pk, sk) -> attributes (run_id and updated_at left out).
# FIRST_DAY: pop = (u1,T1) (u2,T1) (u1,T2): 200000+200000+180500 ms, listeners u1,u2; rock = (u9,T3);
#     jazz = (u3,T4). SECOND_DAY: pop = (u1,T5) (u3,T1): 150000+200000 ms; metal = (u3,T6); rock = (u2,T3).
T1_SONG = {"track_id": "T1", "track_name": 'Say "Hi"', "artists": "Smith, John"}


def _kpi(day, genre, count, listeners, total, avg):
    return {
        "record_type": "DAILY_GENRE_KPI", "date": day, "genre": genre, "listen_count": count,
        "unique_listeners": listeners, "total_listening_time_seconds": total,
        "avg_listening_time_per_user_seconds": avg, "gsi1pk": f"GENRE#{genre}", "gsi1sk": f"DATE#{day}",
    }  # fmt: skip


def _songs(day, genre, *songs):
    ranked = [
        {"rank": rank, **song, "listen_count": count} for rank, (song, count) in enumerate(songs, start=1)
    ]
    return {"record_type": "TOP_SONGS", "date": day, "genre": genre, "top_songs": ranked}


def _genres(day, *genres):
    ranked = [{"rank": rank, "genre": g, "listen_count": c} for rank, (g, c) in enumerate(genres, start=1)]
    return {"record_type": "TOP_GENRES", "date": day, "top_genres": ranked}


def _song(track_id, name, artists):
    return {"track_id": track_id, "track_name": name, "artists": artists}


EXPECTED_ITEMS = {
    (f"DATE#{FIRST_DAY}", "GENRE#pop"): _kpi(FIRST_DAY, "pop", 3, 2, "580.500", "290.250"),
    (f"DATE#{FIRST_DAY}", "GENRE#rock"): _kpi(FIRST_DAY, "rock", 1, 1, "240.250", "240.250"),
    (f"DATE#{FIRST_DAY}", "GENRE#jazz"): _kpi(FIRST_DAY, "jazz", 1, 1, "100.001", "100.001"),
    (f"DATE#{FIRST_DAY}", "GENRE#pop#TOP_SONGS"): _songs(
        FIRST_DAY, "pop", (T1_SONG, 2), (_song("T2", "Song Two", "Band"), 1)
    ),
    (f"DATE#{FIRST_DAY}", "GENRE#rock#TOP_SONGS"): _songs(
        FIRST_DAY, "rock", (_song("T3", "Song Three", "Trio"), 1)
    ),
    (f"DATE#{FIRST_DAY}", "GENRE#jazz#TOP_SONGS"): _songs(FIRST_DAY, "jazz", (_song("T4", "", ""), 1)),
    (f"DATE#{FIRST_DAY}", "TOP_GENRES"): _genres(FIRST_DAY, ("pop", 3), ("jazz", 1), ("rock", 1)),
    (f"DATE#{SECOND_DAY}", "GENRE#pop"): _kpi(SECOND_DAY, "pop", 2, 2, "350.000", "175.000"),
    (f"DATE#{SECOND_DAY}", "GENRE#metal"): _kpi(SECOND_DAY, "metal", 1, 1, "120.000", "120.000"),
    (f"DATE#{SECOND_DAY}", "GENRE#rock"): _kpi(SECOND_DAY, "rock", 1, 1, "240.250", "240.250"),
    (f"DATE#{SECOND_DAY}", "GENRE#pop#TOP_SONGS"): _songs(
        SECOND_DAY, "pop", (T1_SONG, 1), (_song("T5", "Song Five", "X"), 1)
    ),
    (f"DATE#{SECOND_DAY}", "GENRE#metal#TOP_SONGS"): _songs(
        SECOND_DAY, "metal", (_song("T6", "Song Six (metal)", "Z"), 1)
    ),
    (f"DATE#{SECOND_DAY}", "GENRE#rock#TOP_SONGS"): _songs(
        SECOND_DAY, "rock", (_song("T3", "Song Three", "Trio"), 1)
    ),
    (f"DATE#{SECOND_DAY}", "TOP_GENRES"): _genres(SECOND_DAY, ("pop", 2), ("metal", 1), ("rock", 1)),
}


def write_bucket(root: Path, streams: dict[str, str] | None = None) -> Path:
    """The reference files and the stream files (default: all three) under `root`."""
    files = {
        layout.SONGS_KEY: SONGS_CSV,
        layout.USERS_KEY: USERS_CSV,
        **(STREAM_FILES if streams is None else streams),
    }
    for key, text in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root


_run_ids = itertools.count(1)


def write_manifest(root: Path, keys: Sequence[str], run_id: str | None = None) -> tuple[str, str]:
    """A manifest naming `keys` (ETag: the file's content hash, as S3 would give); (run_id, key)."""
    import hashlib

    run_id = run_id or f"manual__2026-11-25T17:18:{next(_run_ids):02d}+00:00"
    streams = []
    for key in keys:
        path = root / key
        data = path.read_bytes() if path.exists() else b""
        streams.append(StreamObject(key, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest()))
    manifest = Manifest(
        run_id=run_id, created_at="2026-11-25T17:18:46+00:00", bucket="bucket", streams=tuple(streams)
    )
    key = layout.manifest_key(run_id)
    (root / key).parent.mkdir(parents=True, exist_ok=True)
    (root / key).write_text(manifest.to_json())
    return layout.sanitize_run_id(run_id), key


def job_arguments(root: Path, table: str, manifest_key: str, run_id: str, **extra):
    from music_kpis.arguments import JobArguments

    return JobArguments(
        data_bucket="bucket", manifest_key=manifest_key, run_id=run_id, kpi_table=table,
        data_root=root.resolve().as_uri(), **extra,
    )  # fmt: skip


def stored_items(table: str) -> list[dict]:
    """Every item stored in the table: every version, the day pointers."""
    found, query = [], {}
    resource = boto3.resource("dynamodb").Table(table)
    while True:
        page = resource.scan(**query)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def table_items(table: str) -> list[dict]:
    """The KPI items a reader sees: each day's current version (docs/DESIGN.md, "Reading a day's items")."""
    return contract_items.current_view(stored_items(table))


def comparable(items: list[dict]) -> dict[tuple[str, str], dict]:
    """(pk, sk) -> item without the per-run stamps, numbers as strings (Decimal('1.0') == 1 hides 1.0 vs 1)."""

    def plain(value):
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return str(value) if not isinstance(value, str) else value

    return {
        (item["pk"], item["sk"]): plain(
            {k: v for k, v in item.items() if k not in ("pk", "sk", "run_id", "updated_at")}
        )
        for item in items
    }


def expected_comparable() -> dict[tuple[str, str], dict]:
    return comparable([{"pk": pk, "sk": sk, **attrs} for (pk, sk), attrs in EXPECTED_ITEMS.items()])
