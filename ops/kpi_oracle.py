"""An independent oracle: the KPI items docs/DESIGN.md defines, computed in plain Python from the CSV files.

It shares nothing with the Glue job but the contract's names, so a check that compares the table
with it checks the job's logic, not a copy of it: the e2e tests use it, and `make smoke` compares a
deployment's KPI items with it.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from music_contract import items as contract_items
from music_contract import layout


def _rows(path: Path):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def _songs(root: Path) -> dict[str, dict]:
    """track_id -> its row of the songs file (the lowest ``id`` of a repeated track)."""
    songs: dict[str, dict] = {}
    for row in _rows(root / layout.SONGS_KEY):
        kept = songs.get(row["track_id"])
        if kept is None or int(row["id"]) < int(kept["id"]):
            songs[row["track_id"]] = row
    return songs


def _events(root: Path, stream_keys: list[str], songs: dict[str, dict]) -> set[tuple[str, str, datetime]]:
    """The distinct valid (user, track, time) events of the stream files, of known tracks."""
    events: set[tuple[str, str, datetime]] = set()
    for key in stream_keys:
        for row in _rows(root / key):
            user_id, track_id = row["user_id"], row["track_id"]
            if not user_id or not track_id or track_id not in songs:
                continue
            try:
                when = datetime.strptime(row["listen_time"], "%Y-%m-%d %H:%M:%S")
            except ValueError:
                continue
            events.add((user_id, track_id, when))
    return events


def _top_songs(day: str, genre: str, day_plays: list[tuple[str, str]], songs: dict[str, dict]) -> dict:
    """The top-songs item of one genre and day."""
    per_track = Counter(track for _, track in day_plays)
    ranked = sorted(per_track.items(), key=lambda kv: (-kv[1], kv[0]))[: contract_items.TOP_SONGS_PER_GENRE]
    return {
        "record_type": contract_items.RECORD_TOP_SONGS,
        "date": day,
        "genre": genre,
        "top_songs": [
            {
                "rank": rank,
                "track_id": track,
                "track_name": songs[track]["track_name"],
                "artists": songs[track]["artists"],
                "listen_count": count,
            }
            for rank, (track, count) in enumerate(ranked, start=1)
        ],
    }


def expected_items(root: Path, stream_keys: list[str]) -> dict[tuple[str, str], dict]:
    """(pk, sk) -> the item's attributes (without run_id/updated_at) for the given stream files."""
    songs = _songs(root)
    events = _events(root, stream_keys, songs)
    plays: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for user_id, track_id, when in events:
        plays[(when.date().isoformat(), songs[track_id]["track_genre"])].append((user_id, track_id))

    items: dict[tuple[str, str], dict] = {}
    genre_counts: dict[str, Counter] = defaultdict(Counter)
    for (day, genre), day_plays in plays.items():
        listeners = {user for user, _ in day_plays}
        total = sum(Decimal(songs[track]["duration_ms"]) for _, track in day_plays) / 1000
        items[(contract_items.date_pk(day), contract_items.genre_sk(genre))] = {
            "record_type": contract_items.RECORD_DAILY_GENRE_KPI,
            "date": day,
            "genre": genre,
            "listen_count": len(day_plays),
            "unique_listeners": len(listeners),
            "total_listening_time_seconds": total,
            "avg_listening_time_per_user_seconds": (total / len(listeners)).quantize(
                Decimal("0.001"), rounding=ROUND_HALF_UP
            ),
            "gsi1pk": contract_items.genre_sk(genre),
            "gsi1sk": contract_items.date_pk(day),
        }
        genre_counts[day][genre] = len(day_plays)
        items[(contract_items.date_pk(day), contract_items.top_songs_sk(genre))] = _top_songs(
            day, genre, day_plays, songs
        )
    for day, counts in genre_counts.items():
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: contract_items.TOP_GENRES_PER_DAY]
        items[(contract_items.date_pk(day), contract_items.TOP_GENRES_SK)] = {
            "record_type": contract_items.RECORD_TOP_GENRES,
            "date": day,
            "top_genres": [
                {"rank": rank, "genre": genre, "listen_count": count}
                for rank, (genre, count) in enumerate(ranked, start=1)
            ],
        }
    return items
