"""The benchmark's two independent copies of docs/DESIGN.md's KPIs, from the same CSV files as the job.

- DuckDB (`duckdb_kpis`): single-node, 2 threads; the reference the job's speed is compared with.
- Plain Spark SQL (`spark_sql_kpis`): DuckDB's query translated to Spark SQL, on the job's local
  session settings: the floor for any Spark job on this machine, since it skips everything the job
  does beyond the KPIs (per-row reasons, line numbers, quarantine, the curated store, the KPI
  tables, DynamoDB).

Both compute the daily genre KPIs' measures (the KPI recipe in docs/DESIGN.md names this file):
`tests/test_kpi_recipe.py` checks each final SELECT has one column per measure of the contract.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.local_spark import CORES, RunClock, Timing, warm_local_session
from music_contract import items, layout

DUCKDB_CSV = "header = true, all_varchar = true, quote = '\"', escape = '\"'"

DUCKDB_TABLES = """
CREATE TEMP TABLE songs AS
SELECT track_id, coalesce(track_genre, '') AS genre, coalesce(track_name, '') AS track_name,
       coalesce(artists, '') AS artists, CAST(duration_ms AS BIGINT) AS duration_ms
FROM read_csv('{songs}', {csv})
WHERE coalesce(track_id, '') <> ''
QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY TRY_CAST(id AS BIGINT) NULLS LAST) = 1;

CREATE TEMP TABLE events AS
SELECT DISTINCT s.user_id, s.track_id, s.ts
FROM (
    SELECT user_id, track_id, try_strptime(listen_time, '%Y-%m-%d %H:%M:%S') AS ts
    FROM read_csv({streams}, {csv}, union_by_name = true)
    WHERE coalesce(trim(user_id), '') <> '' AND coalesce(trim(track_id), '') <> ''
) s
JOIN songs USING (track_id)
WHERE s.ts IS NOT NULL;

CREATE TEMP TABLE plays AS
SELECT CAST(CAST(ts AS DATE) AS VARCHAR) AS listen_date, track_id, count(*) AS plays
FROM events GROUP BY ALL;
"""

DUCKDB_KPIS = """
WITH listeners AS (
    SELECT CAST(CAST(e.ts AS DATE) AS VARCHAR) AS listen_date, s.genre, count(DISTINCT e.user_id) AS users
    FROM events e JOIN songs s USING (track_id) GROUP BY ALL
), totals AS (
    SELECT p.listen_date, s.genre, sum(p.plays) AS listen_count, sum(p.plays * s.duration_ms) AS total_ms
    FROM plays p JOIN songs s USING (track_id) GROUP BY ALL
)
SELECT t.listen_date, t.genre, CAST(t.listen_count AS BIGINT), l.users, CAST(t.total_ms AS BIGINT),
       CAST((2 * t.total_ms + l.users) // (2 * l.users) AS BIGINT)
FROM totals t JOIN listeners l USING (listen_date, genre)
ORDER BY 1, 2
"""

DUCKDB_TOP_SONGS = """
SELECT p.listen_date, s.genre, p.track_id, s.track_name, s.artists, p.plays
FROM plays p JOIN songs s USING (track_id)
QUALIFY row_number() OVER (PARTITION BY p.listen_date, s.genre ORDER BY p.plays DESC, p.track_id) <= 3
"""

DUCKDB_TOP_GENRES = f"""
SELECT listen_date, genre, n FROM (
    SELECT listen_date, genre, sum(plays) AS n FROM plays JOIN songs USING (track_id) GROUP BY ALL
) QUALIFY row_number() OVER (PARTITION BY listen_date ORDER BY n DESC, genre) <= {items.TOP_GENRES_PER_DAY}
"""


def duckdb_kpis(root: Path, stream_keys: list[str]) -> dict[str, list[tuple]]:
    """docs/DESIGN.md's KPIs computed by DuckDB straight from the CSV files."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {CORES}")
    streams = [str(root / key) for key in stream_keys]
    con.execute(DUCKDB_TABLES.format(songs=root / layout.SONGS_KEY, streams=repr(streams), csv=DUCKDB_CSV))
    queries = {"kpis": DUCKDB_KPIS, "top_songs": DUCKDB_TOP_SONGS, "top_genres": DUCKDB_TOP_GENRES}
    found = {name: con.execute(query).fetchall() for name, query in queries.items()}
    con.close()
    return found


SPARK_SQL_KPIS = """
WITH songs AS (
    SELECT track_id, coalesce(track_genre, '') AS genre, CAST(duration_ms AS BIGINT) AS duration_ms
    FROM (
        SELECT *, row_number() OVER (PARTITION BY track_id ORDER BY CAST(id AS BIGINT) NULLS LAST) AS rn
        FROM songs_csv WHERE coalesce(track_id, '') <> ''
    ) WHERE rn = 1
), events AS (
    SELECT DISTINCT s.user_id, s.track_id, s.ts
    FROM (
        SELECT user_id, track_id, to_timestamp(listen_time, 'yyyy-MM-dd HH:mm:ss') AS ts FROM streams_csv
        WHERE coalesce(trim(user_id), '') <> '' AND coalesce(trim(track_id), '') <> ''
    ) s
    JOIN songs USING (track_id)
    WHERE s.ts IS NOT NULL
), plays AS (
    SELECT CAST(to_date(ts) AS STRING) AS listen_date, track_id, count(*) AS plays FROM events GROUP BY 1, 2
), listeners AS (
    SELECT CAST(to_date(e.ts) AS STRING) AS listen_date, s.genre, count(DISTINCT e.user_id) AS users
    FROM events e JOIN songs s USING (track_id) GROUP BY 1, 2
), totals AS (
    SELECT p.listen_date, s.genre, sum(p.plays) AS listen_count, sum(p.plays * s.duration_ms) AS total_ms
    FROM plays p JOIN songs s USING (track_id) GROUP BY 1, 2
)
SELECT t.listen_date, t.genre, t.listen_count, l.users, t.total_ms,
       (2 * t.total_ms + l.users) div (2 * l.users) AS avg_ms
FROM totals t JOIN listeners l USING (listen_date, genre)
"""


def spark_sql_kpis(
    root: Path, stream_keys: list[str], event_log: Path | None = None, gc_log: Path | None = None
) -> tuple[Timing, list[tuple]]:
    """DuckDB's daily genre KPIs as plain Spark SQL on a local session: (its timing, KPI rows)."""
    from music_kpis.job import configure

    spark = warm_local_session(event_log, gc_log)
    configure(spark)
    with RunClock() as clock:
        csv = {"header": True, "quote": '"', "escape": '"'}  # columns by header name, all strings
        songs = spark.read.options(**csv, multiLine=True).csv(str(root / layout.SONGS_KEY))
        songs.createOrReplaceTempView("songs_csv")
        streams = [
            spark.read.options(**csv).csv(str(root / key)).select(*layout.STREAMS_COLUMNS)
            for key in stream_keys
        ]
        union = streams[0]
        for frame in streams[1:]:
            union = union.unionByName(frame)
        union.createOrReplaceTempView("streams_csv")
        rows = sorted(tuple(r) for r in spark.sql(SPARK_SQL_KPIS).collect())
    return clock.timing, rows
