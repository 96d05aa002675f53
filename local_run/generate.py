"""Seedable generator of realistic input: a Spotify-style song catalogue, users, and stream batches.

It writes files in the data bucket's layout (`reference_data/...`, `raw_data/...`) under a folder, so
the same output feeds the demo (uploaded to the emulated bucket), the tests and the benchmarks.

The data carries the quirks the pipeline must survive:
- songs.csv: quoted fields with commas, doubled quotes, a few empty names, track ids that repeat
  (the same track listed under several genres, as in the public Spotify catalogue), a UTF-8 BOM;
- streams: unknown tracks, unknown users, empty ids, unparseable timestamps, duplicate events
  (inside a file and across files), CRLF line ends and reordered/extra columns in some files.

Command line: `python -m local_run.generate OUT_DIR --days 3 --streams 100000 --seed 7`.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from music_contract import layout

GENRES = (
    "acoustic", "afrobeat", "alt-rock", "ambient", "blues", "classical", "country", "dance",
    "deep-house", "disco", "drum-and-bass", "edm", "folk", "funk", "gospel", "hip-hop", "indie",
    "j-pop", "jazz", "k-pop", "latin", "metal", "pop", "punk", "r-n-b", "reggae", "rock", "salsa",
    "soul", "techno",
)  # fmt: skip
_WORDS = (
    "love", "night", "summer", "heart", "fire", "dream", "blue", "road", "home", "light", "rain",
    "city", "wild", "gold", "river", "dance", "shadow", "moon", "echo", "paradise", "storm", "sky",
)  # fmt: skip
_COUNTRIES = ("US", "GB", "DE", "FR", "BR", "IN", "JP", "NG", "MX", "SE", "KE", "AU", "CA", "ES", "KR")
_BASE62 = string.ascii_letters + string.digits
BAD_TIMESTAMPS = ("2024-13-45 99:00:00", "yesterday", "", "2024/01/02 10:00", "not a time")


@dataclass(frozen=True)
class Catalogue:
    """What the stream generator draws from: the catalogue's track ids and the user ids."""

    track_ids: tuple[str, ...]
    user_ids: tuple[str, ...]


@dataclass
class GeneratedDataset:
    """Files written under `root`, keyed as in the bucket, with what was generated."""

    root: Path
    catalogue: Catalogue
    keys: list[str] = field(default_factory=list)
    stream_rows: int = 0

    @property
    def stream_keys(self) -> list[str]:
        return [k for k in self.keys if layout.is_stream_key(k)]


def _track_id(rng: random.Random) -> str:
    return "".join(rng.choices(_BASE62, k=22))


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).title()


def write_songs(path: Path, rng: random.Random, songs: int) -> tuple[str, ...]:
    """Write `songs` catalogue rows; about 5% repeat an earlier track under another genre."""
    track_ids: list[str] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(layout.SONGS_COLUMNS)
        for row_id in range(songs):
            if track_ids and rng.random() < 0.05:
                track_id = rng.choice(track_ids)  # the same track listed again, maybe another genre
            else:
                track_id = _track_id(rng)
                track_ids.append(track_id)
            artists = ";".join(_title(rng, 2) for _ in range(rng.choice((1, 1, 1, 2, 3))))
            if rng.random() < 0.03:
                artists = f"{artists}, The Band"  # a comma inside a quoted field
            track_name = _title(rng, rng.randint(1, 4))
            if rng.random() < 0.03:
                track_name = f'{track_name} (feat. "{_title(rng, 1)}")'  # doubled quotes when written
            album_name = _title(rng, rng.randint(1, 3))
            if rng.random() < 0.005:
                artists, album_name, track_name = "", "", ""  # the catalogue has a few empty names
            writer.writerow(
                (
                    row_id, track_id, artists, album_name, track_name, rng.randint(0, 100),
                    rng.randint(60_000, 420_000), rng.random() < 0.1, round(rng.random(), 3),
                    round(rng.random(), 3), rng.randint(0, 11), round(rng.uniform(-30, 0), 3),
                    rng.randint(0, 1), round(rng.random(), 4), round(rng.random(), 4),
                    round(rng.random(), 6), round(rng.random(), 4), round(rng.random(), 3),
                    round(rng.uniform(60, 200), 3), rng.choice((3, 4, 4, 4, 5)), rng.choice(GENRES),
                )
            )  # fmt: skip
    return tuple(track_ids)


def write_users(path: Path, rng: random.Random, users: int) -> tuple[str, ...]:
    user_ids = tuple(str(1000 + i) for i in range(users))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")  # CRLF, as exported from a spreadsheet
        writer.writerow(layout.USERS_COLUMNS)
        for user_id in user_ids:
            created = datetime(2020, 1, 1) + timedelta(seconds=rng.randint(0, 4 * 365 * 86400))
            writer.writerow(
                (
                    user_id,
                    f"user_{user_id}",
                    rng.randint(13, 80),
                    rng.choice(_COUNTRIES),
                    f"{created:%Y-%m-%d}",
                )
            )
    return user_ids


def write_stream_file(
    path: Path,
    rng: random.Random,
    catalogue: Catalogue,
    *,
    dates: Sequence[date],
    rows: int,
    bad_share: float = 0.01,
    duplicate_share: float = 0.01,
    quirky: bool = False,
) -> int:
    """Write one stream batch of `rows` data rows over `dates`; returns the number of data rows.

    Of the rows, about `bad_share` are each of: unknown track, unknown user, empty id, bad timestamp;
    about `duplicate_share` repeat an earlier row of the file. A `quirky` file has CRLF line ends,
    reordered columns and an extra column.
    """
    lines = _stream_rows(
        rng, catalogue, dates=dates, rows=rows, bad_share=bad_share, duplicate_share=duplicate_share
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_streams_csv(lines, rng, quirky=quirky), encoding="utf-8")
    return len(lines)


def _stream_rows(
    rng: random.Random,
    catalogue: Catalogue,
    *,
    dates: Sequence[date],
    rows: int,
    bad_share: float,
    duplicate_share: float,
) -> list[tuple[str, str, str]]:
    """`rows` (user_id, track_id, listen_time) rows, some spoiled (`_spoil`), some repeated."""
    tracks, users = catalogue.track_ids, catalogue.user_ids
    # Popularity is skewed, as in real listening: a few tracks get most plays.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(tracks))]
    picked_tracks = rng.choices(tracks, weights=weights, k=rows)
    picked_users = rng.choices(users, k=rows)
    day_starts = [datetime(d.year, d.month, d.day) for d in dates]
    offsets = [rng.randrange(86_400) for _ in range(rows)]
    days = rng.choices(day_starts, k=rows)
    lines: list[tuple[str, str, str]] = []
    for i in range(rows):
        if lines and rng.random() < duplicate_share:
            lines.append(rng.choice(lines))
            continue
        listen_time = f"{days[i] + timedelta(seconds=offsets[i]):%Y-%m-%d %H:%M:%S}"
        lines.append(_spoil(rng, (picked_users[i], picked_tracks[i], listen_time), bad_share))
    return lines


def _spoil(rng: random.Random, row: tuple[str, str, str], bad_share: float) -> tuple[str, str, str]:
    """The row, or about `bad_share` of the time each: an unknown track, an unknown user, an empty
    user id or track id (half a share each), a bad timestamp."""
    user_id, track_id, listen_time = row
    roll = rng.random()
    if roll < bad_share:
        track_id = _track_id(rng)  # not in the catalogue
    elif roll < 2 * bad_share:
        user_id = str(9_000_000 + rng.randrange(1000))  # not in users.csv (counted, reported)
    elif roll < 2.5 * bad_share:
        user_id = ""
    elif roll < 3 * bad_share:
        track_id = ""
    elif roll < 4 * bad_share:
        listen_time = rng.choice(BAD_TIMESTAMPS)
    return user_id, track_id, listen_time


def _streams_csv(lines: list[tuple[str, str, str]], rng: random.Random, *, quirky: bool) -> str:
    """The batch's CSV text: the contract's columns, or (`quirky`) CRLF, reordered and a device column."""
    buffer = io.StringIO()
    if quirky:
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(("listen_time", "device", "track_id", "user_id"))
        writer.writerows((t, rng.choice(("ios", "android", "web")), tr, u) for u, tr, t in lines)
    else:
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(layout.STREAMS_COLUMNS)
        writer.writerows(lines)
    return buffer.getvalue()


def stream_key(index: int) -> str:
    """The seed's naming: raw_data/streams<N>/streams<N>.csv."""
    return f"{layout.RAW_PREFIX}streams{index}/streams{index}.csv"


def add_stream_batches(
    dataset: GeneratedDataset,
    *,
    dates: Sequence[date],
    streams: int,
    files: int,
    first_index: int,
    seed: int,
    quirky_first: bool = False,
) -> list[str]:
    """Write `files` more stream batches (about `streams` rows in all) into an existing dataset."""
    rng = random.Random(seed)
    written: list[str] = []
    per_file = max(1, streams // files)
    for n in range(files):
        rows = per_file if n < files - 1 else max(1, streams - per_file * (files - 1))
        key = stream_key(first_index + n)
        count = write_stream_file(
            dataset.root / key, rng, dataset.catalogue, dates=dates, rows=rows, quirky=quirky_first and n == 0
        )
        dataset.stream_rows += count
        dataset.keys.append(key)
        written.append(key)
    return written


def generate_dataset(
    out_dir: Path,
    *,
    days: int = 3,
    streams: int = 20_000,
    songs: int = 3_000,
    users: int = 1_000,
    files: int | None = None,
    start: date = date(2026, 11, 20),
    seed: int = 7,
) -> GeneratedDataset:
    """Write users, songs and `files` stream batches (default: one per day) over `days` days."""
    out_dir = Path(out_dir)
    rng = random.Random(seed)
    track_ids = write_songs(out_dir / layout.SONGS_KEY, rng, songs)
    user_ids = write_users(out_dir / layout.USERS_KEY, rng, users)
    dataset = GeneratedDataset(out_dir, Catalogue(track_ids, user_ids), [layout.USERS_KEY, layout.SONGS_KEY])
    dates = [start + timedelta(days=d) for d in range(days)]
    add_stream_batches(
        dataset,
        dates=dates,
        streams=streams,
        files=files or days,
        first_index=1,
        seed=seed + 1,
        quirky_first=True,
    )
    return dataset


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the bucket layout into")
    parser.add_argument("--days", type=int, default=3, help="days the events spread over")
    parser.add_argument("--streams", type=int, default=20_000, help="stream rows in all")
    parser.add_argument("--songs", type=int, default=3_000, help="catalogue rows")
    parser.add_argument("--users", type=int, default=1_000, help="users")
    parser.add_argument("--files", type=int, default=None, help="stream files (default: one per day)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 20), help="first day")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    args = parser.parse_args(argv)
    dataset = generate_dataset(
        args.out_dir, days=args.days, streams=args.streams, songs=args.songs, users=args.users,
        files=args.files, start=args.start, seed=args.seed,
    )  # fmt: skip
    print(f"wrote {len(dataset.keys)} files, {dataset.stream_rows} stream rows, under {dataset.root}")


if __name__ == "__main__":
    main()
