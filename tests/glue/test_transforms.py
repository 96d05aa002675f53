"""The pure transforms on tiny hand-made frames: every KPI, rounding, tie-breaks, limits, rejects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from music_contract import layout, tables
from music_kpis import line_numbers, steps, transforms

SONG_COLUMNS = (
    "id string, track_id string, artists string, track_name string, duration_ms string, track_genre string"
)
STREAM_COLUMNS = "user_id string, track_id string, listen_time string"
ANSI = "spark.sql.ansi.enabled"


@pytest.fixture(autouse=True, params=[False, True], ids=["ansi-off", "ansi-on"])
def ansi_mode(request):
    """Every transform test under both SQL modes (ANSI is Spark 4's default), on the one session.

    Tests that take no `spark` run once: the mode means nothing to them.
    """
    if "spark" not in request.fixturenames:
        if request.param:
            pytest.skip("no Spark in this test: one run is enough")
        yield
        return
    spark = request.getfixturevalue("spark")
    before = spark.conf.get(ANSI)
    spark.conf.set(ANSI, str(request.param).lower())
    yield request.param
    spark.conf.set(ANSI, before)


def songs_frame(spark, rows):
    return transforms.dedupe_songs(spark.createDataFrame(rows, SONG_COLUMNS))


def rows_of(frame, *order):
    return [r.asDict() for r in frame.orderBy(*order).collect()]


def test_songs_keep_smallest_numeric_id_and_clean_names(spark):
    songs = songs_frame(
        spark,
        [
            ("10", "A", "late", "ten", "1000", "rock"),
            ("9", "A", "winner", "nine", "2000", "metal"),  # 9 < 10 numerically, though later in the file
            ("2", "B", None, None, "3000.0", None),  # empty names, no genre, a float-looking duration
            ("x", "C", "no id", "c", "4000", "pop"),  # an id that is not a number loses to any number
            ("3", "C", "numbered", "c", "5000", "pop"),
            ("4", None, "no track", "d", "6000", "pop"),  # no track_id: not a song
            ("1e999", "D", "huge id", "d", "abc", "pop"),  # neither parses: null id, duration 0
        ],
    )
    assert rows_of(songs, "track_id") == [
        {"track_id": "A", "track_name": "nine", "artists": "winner", "duration_ms": 2000, "genre": "metal"},
        {"track_id": "B", "track_name": "", "artists": "", "duration_ms": 3000, "genre": "unknown"},
        {"track_id": "C", "track_name": "c", "artists": "numbered", "duration_ms": 5000, "genre": "pop"},
        {"track_id": "D", "track_name": "d", "artists": "huge id", "duration_ms": 0, "genre": "pop"},
    ]


def test_validation_gives_each_reject_reason_and_accepts_unknown_users(spark):
    songs = songs_frame(spark, [("1", "T", "a", "t", "1000", "pop")])
    users = transforms.known_users(spark.createDataFrame([("u1",), ("",), (None,)], "user_id string"))
    rows = spark.createDataFrame(
        [
            ("u1", "T", "2026-11-20 10:00:00"),  # accepted
            ("u9", "T", "2026-11-20 23:59:59"),  # accepted, user not in users.csv
            (None, "T", "2026-11-20 10:00:00"),
            ("  ", None, "bad"),  # several faults: the first reason in contract order wins
            ("u1", "", "2026-11-20 10:00:00"),
            ("u1", "T", "2026-11-20T10:00:00"),
            ("u1", "T", "2026-02-30 10:00:00"),  # no such day
            ("u1", "T", "2024-13-45 99:00:00"),  # the generator's: right shape, impossible time
            ("u1", "T", "2026-11-20 10:00"),
            ("u1", "T", "2026-11-20 24:00:00"),
            ("u1", "T", "2026-11-20 10:00:0Z"),  # the right length, a zone letter for a digit
            ("u1", "T", "2026-11-20 10:00:00.5"),
            ("u1", "T", " 2026-11-20 10:00:00"),
            ("u1", "T", "20261-1-20 10:00:00"),
            ("u1", "T", None),
            ("u1", "NOPE", "2026-11-20 10:00:00"),
            ("u1", "NOPE", "not a time"),  # the timestamp is checked before the track
        ],
        STREAM_COLUMNS,
    ).withColumn("n", F.monotonically_increasing_id())
    out = transforms.validate_streams(rows, songs, users).orderBy("n").collect()
    assert [r.reject_reason for r in out] == [
        None,
        None,
        tables.REJECT_MISSING_USER_ID,
        tables.REJECT_MISSING_USER_ID,
        tables.REJECT_MISSING_TRACK_ID,
        *[tables.REJECT_INVALID_LISTEN_TIME] * 10,
        tables.REJECT_UNKNOWN_TRACK_ID,
        tables.REJECT_INVALID_LISTEN_TIME,
    ]
    assert [r.known_user for r in out[:2]] == [True, False]
    assert out[1].listen_ts == datetime(2026, 11, 20, 23, 59, 59)  # UTC, no shift
    assert out[1].listen_date == "2026-11-20"


def events_frame(spark, rows):
    return spark.createDataFrame(rows, f"user_id string, track_id string, {layout.PARTITION_COLUMN} string")


def kpis_of(spark, songs, events):
    songs = songs_frame(spark, songs)
    events = events_frame(spark, events)
    plays = transforms.track_plays(events, songs)
    return transforms.daily_genre_kpis(events, songs, plays, steps.song_genres(songs)), plays


def test_daily_genre_kpis_hand_computed(spark):
    kpis, _ = kpis_of(
        spark,
        [
            ("1", "A", "x", "a", "500", "g"),
            ("2", "B", "x", "b", "501", "g"),
            ("3", "C", "x", "c", "1000", "h"),
            ("4", "D", "x", "d", "0", "h"),
        ],
        [
            # g on day 1: u1 plays A, u2 plays B: 1001 ms by 2 listeners -> 500.5 ms -> half-up 0.501 s
            ("u1", "A", "d1"),
            ("u2", "B", "d1"),
            # h on day 1: 1000 ms by 3 listeners -> 333.33 ms -> 0.333 s; u1 twice (two events)
            ("u1", "C", "d1"),
            ("u2", "D", "d1"),
            ("u3", "D", "d1"),
            ("u1", "D", "d1"),
            # g on day 2: one listener, three plays of A: 1.5 s
            ("u1", "A", "d2"),
            ("u1", "A", "d2"),
            ("u1", "A", "d2"),
        ],
    )
    assert rows_of(kpis, layout.PARTITION_COLUMN, "genre") == [
        {
            "listen_date": "d1",
            "genre": "g",
            "listen_count": 2,
            "unique_listeners": 2,
            "total_listening_time_seconds": Decimal("1.001"),
            "avg_listening_time_per_user_seconds": Decimal("0.501"),
        },
        {
            "listen_date": "d1",
            "genre": "h",
            "listen_count": 4,
            "unique_listeners": 3,
            "total_listening_time_seconds": Decimal("1.000"),
            "avg_listening_time_per_user_seconds": Decimal("0.333"),
        },
        {
            "listen_date": "d2",
            "genre": "g",
            "listen_count": 3,
            "unique_listeners": 1,
            "total_listening_time_seconds": Decimal("1.500"),
            "avg_listening_time_per_user_seconds": Decimal("1.500"),
        },
    ]
    schema = dict(kpis.dtypes)
    assert (
        schema["total_listening_time_seconds"]
        == schema["avg_listening_time_per_user_seconds"]
        == "decimal(18,3)"
    )


def test_unique_listeners_exact_past_64_genres(spark):
    # 130 genres span three 64-bit words; the users pick genres on word edges (0, 63, 64, 127,
    # 128, 129), the sign bit included, and repeat plays, so each count is checked against a
    # plain distinct count.
    genres = [f"g{i:03d}" for i in range(130)]
    songs = songs_frame(spark, [(str(i), f"T{i}", "a", "t", "1000", g) for i, g in enumerate(genres)])
    picks = {"u1": [0, 63, 64, 129], "u2": [63, 63, 127, 128], "u3": [129], "u4": [0, 64, 128]}
    events = [(user, f"T{i}", day) for day in ("d1", "d2") for user, ids in picks.items() for i in ids]
    events += [("u5", "T5", "d2")]
    got = {
        (r.listen_date, r.genre): r.unique_listeners
        for r in transforms.unique_listeners(events_frame(spark, events), songs, genres).collect()
    }
    expected: dict[tuple[str, str], set[str]] = {}
    for user, track, day in events:
        expected.setdefault((day, genres[int(track[1:])]), set()).add(user)
    assert got == {key: len(users) for key, users in expected.items()}
    assert got[("d1", "g063")] == 2  # the sign bit of the first word
    assert got[("d2", "g129")] == 2


def test_large_totals_stay_exact(spark):
    # 3 listeners, 2**40 + 2 ms in all: a double would lose the last millisecond.
    big = 2**40
    kpis, _ = kpis_of(
        spark,
        [("1", "A", "x", "a", str(big), "g"), ("2", "B", "x", "b", "1", "g")],
        [("u1", "A", "d"), ("u2", "B", "d"), ("u3", "B", "d")],
    )
    row = kpis.collect()[0]
    assert row.total_listening_time_seconds == Decimal(big + 2) / 1000
    avg_ms = (Decimal(big + 2) / 3).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert row.avg_listening_time_per_user_seconds == avg_ms / 1000


def test_top_songs_order_ties_and_limit(spark):
    songs = [(str(i), t, f"artist {t}", f"name {t}", "1000", "g") for i, t in enumerate("ABCDE")]
    songs.append(("9", "Z", "z", "z", "1000", "other"))
    plays = [("E", 3), ("D", 2), ("B", 2), ("C", 2), ("A", 1), ("Z", 1)]
    events = [(f"u{n}", track, "d") for track, count in plays for n in range(count)]
    _, track_plays = kpis_of(spark, songs, events)
    top = transforms.top_songs(track_plays)
    assert [
        (r["genre"], r["rank"], r["track_id"], r["listen_count"]) for r in rows_of(top, "genre", "rank")
    ] == [
        ("g", 1, "E", 3),
        ("g", 2, "B", 2),  # B, C and D tie on 2 plays: track_id ascending, and only 3 songs
        ("g", 3, "C", 2),
        ("other", 1, "Z", 1),
    ]
    assert rows_of(top, "genre", "rank")[0]["track_name"] == "name E"
    assert rows_of(top, "genre", "rank")[0]["artists"] == "artist E"


def test_top_genres_order_ties_and_limit(spark):
    counts = {"a": 1, "b": 5, "c": 3, "d": 3, "e": 2, "f": 3, "g": 1}
    kpis = spark.createDataFrame(
        [("d1", genre, count) for genre, count in counts.items()] + [("d2", "solo", 7)],
        f"{layout.PARTITION_COLUMN} string, genre string, listen_count long",
    )
    top = transforms.top_genres(kpis)
    assert [(r["listen_date"], r["rank"], r["genre"]) for r in rows_of(top, "listen_date", "rank")] == [
        ("d1", 1, "b"),
        ("d1", 2, "c"),  # c, d, f tie on 3: genre ascending
        ("d1", 3, "d"),
        ("d1", 4, "f"),
        ("d1", 5, "e"),  # a and g (1 each) fall beyond the top 5
        ("d2", 1, "solo"),
    ]


def test_merge_replaces_a_reprocessed_file_and_keeps_each_event_once(spark):
    when = datetime(2026, 11, 20, 10)
    existing = spark.createDataFrame(
        [
            ("u1", "A", when, "f1#1", "d"),  # stored from f1: replaced when f1 is re-processed
            ("u2", "A", when, "f1#1", "d"),  # f1 no longer carries it: gone
            ("u3", "A", when, "f2#1", "d"),
        ],
        f"user_id string, track_id string, listen_time timestamp, source_file string, {layout.PARTITION_COLUMN} string",
    )
    new = spark.createDataFrame(
        [
            ("u1", "A", when, "d", 1),
            ("u4", "A", when, "d", 1),
            ("u4", "A", when, "d", 1),  # a duplicate inside the file
            ("u3", "A", when, "d", 1),  # already stored from f2
            ("u5", "A", when, "d", 1),
            ("u5", "A", when, "d", 0),  # in two of this run's files: the first file listed wins
        ],
        f"user_id string, track_id string, listen_ts timestamp, {layout.PARTITION_COLUMN} string, source_index int",
    )
    merged = transforms.merge_events(new, existing, ["f0#1", "f1#1"])
    assert {(r.user_id, r.source_file, r._new) for r in merged.collect()} == {
        ("u1", "f1#1", True),
        ("u3", "f2#1", False),
        ("u4", "f1#1", True),
        ("u5", "f0#1", True),
    }
    assert transforms.curated_streams(merged).columns == [
        *tables.CURATED_TABLES["streams"].column_names,
        layout.PARTITION_COLUMN,
    ]
    first_run = transforms.merge_events(new, None, ["f0#1", "f1#1"])
    assert first_run.count() == 4


def test_split_bases_count_the_lines_before_each_split():
    # Two splits of f (listed out of order) and one of g: lines of the same file before each split.
    assert line_numbers.split_bases([("f", 100, 4), ("f", 0, 3), ("g", 0, 2), ("f", 250, 1)]) == {
        ("f", 0): 0,
        ("f", 100): 3,
        ("f", 250): 7,
        ("g", 0): 0,
    }


@pytest.mark.parametrize("table", ["daily_genre_kpis", "top_songs", "top_genres"])
def test_stamped_tables_have_the_contract_columns(spark, table):
    songs = [("1", "A", "x", "a", "1000", "g")]
    kpis, plays = kpis_of(spark, songs, [("u1", "A", "d")])
    frame = {"daily_genre_kpis": kpis, "top_songs": transforms.top_songs(plays)}.get(table)
    frame = transforms.top_genres(kpis) if frame is None else frame
    out = transforms.stamped(frame, table, "run", "2026-11-25T00:00:00+00:00")
    expected = tables.CURATED_TABLES[table].columns
    assert [(name, kind) for name, kind in out.dtypes[:-1]] == list(expected)
    assert out.columns[-1] == layout.PARTITION_COLUMN
