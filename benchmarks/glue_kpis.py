"""The Glue KPI job on local Spark (2 cores) against a single-node DuckDB reference, same files.

Data: the project's generator (`local_run.generate`): ~90,000 songs, 50,000 users, and 1 million
and 10 million stream rows over 7 days in 4 files, with the generator's quirks (bad rows,
duplicates, a reordered CRLF file). Generated once into `.bench/glue_kpis/<rows>/` and reused.

- Spark: `run_job` on a local session in a fresh process per size (a cold JVM, as on Glue; the
  session start is not timed), on a fresh copy of the inputs, writing the curated store and a
  DynamoDB table in moto; peak memory is the RSS of that process and its Spark JVM, sampled with
  psutil.
- DuckDB: the same daily genre KPIs, top songs and top genres from the same CSV files (2 threads);
  peak memory is this process's RSS while it runs. Its daily genre KPIs are compared with the
  job's, so the two numbers measure the same answer.
- Plain Spark SQL: DuckDB's query translated to Spark SQL, on the same local session settings in a
  fresh process: the floor for any Spark job on this machine, since it skips everything the job
  does beyond the KPIs (per-row reasons, line numbers, quarantine, the curated store, the KPI
  tables, DynamoDB). Its KPIs are compared too.

Each Spark process writes Spark's event log: the table gives the measured run's Spark jobs and
stages (`spark_events`), and its DPU-seconds equivalent per million rows (its CPU seconds over a
DPU's 4 vCPUs: `VCPUS_PER_DPU`), which docs/cost.md turns into a Glue price per run.

`python -m benchmarks.glue_kpis [--quick]`; `make bench` runs it with the other suites.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.results import BenchResult, PeakMemory, cpu_seconds
from benchmarks.spark_events import SparkWork, event_log_conf, heaviest_stages, read_event_log
from music_contract import items, layout
from music_contract.manifest import Manifest, StreamObject
from music_contract.quality import DataQualityReport

REPO_ROOT = Path(__file__).resolve().parents[1]

BENCH_DIR = REPO_ROOT / ".bench" / "glue_kpis"
SONGS, USERS, DAYS, FILES, SEED = 90_000, 50_000, 7, 4, 11
CORES = 2
RESULT_PREFIX = "GLUE_KPIS_RESULT "
# A Glue G.1X worker has 16 GB; the local driver (which is also the executor) gets half of that.
DRIVER_MEMORY = os.environ.get("SPARK_DRIVER_MEMORY", "8g")
# One Glue DPU is 4 vCPUs and 16 GB (Glue API, StartJobRun MaxCapacity). A run's DPU-seconds
# equivalent is its CPU seconds (driver and JVM, user + system) / VCPUS_PER_DPU: the DPU time the
# work needs with every vCPU busy. CPU time, unlike wall time, barely moves with the load of a
# shared machine. docs/cost.md projects the per-run price from it.
VCPUS_PER_DPU = 4


def dpu_seconds_per_million_rows(cpu: float, rows: int) -> float:
    """The run's DPU-seconds equivalent per million rows (see VCPUS_PER_DPU)."""
    return cpu / VCPUS_PER_DPU / (rows / 1e6)


@dataclass(frozen=True)
class Timing:
    """One measured Spark run: wall seconds, CPU seconds (driver and JVM), start (epoch ms)."""

    seconds: float
    cpu_seconds: float
    started_ms: int


def dataset(rows: int) -> tuple[Path, list[str], int]:
    """The generated bucket for `rows` stream rows (made once): (root, stream keys, data rows)."""
    from local_run.generate import generate_dataset

    root = BENCH_DIR / str(rows)
    marker = root / "GENERATED"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"   generating {rows:,} stream rows under {root} (once)", flush=True)
        generated = generate_dataset(
            root,
            days=DAYS,
            streams=rows,
            songs=SONGS,
            users=USERS,
            files=FILES,
            start=date(2026, 11, 1),
            seed=SEED,
        )
        marker.write_text(f"{generated.stream_rows}\n" + "\n".join(generated.stream_keys) + "\n")
    lines = marker.read_text().split()
    return root, lines[1:], int(lines[0])


# --- DuckDB reference ---------------------------------------------------------------------
def duckdb_kpis(root: Path, stream_keys: list[str]) -> dict[str, list[tuple]]:
    """docs/DESIGN.md's KPIs computed by DuckDB straight from the CSV files."""
    import duckdb

    files = [str(root / key) for key in stream_keys]
    con = duckdb.connect()
    con.execute(f"SET threads = {CORES}")
    csv = "header = true, all_varchar = true, quote = '\"', escape = '\"'"
    con.execute(
        f"""
        CREATE TEMP TABLE songs AS
        SELECT track_id, coalesce(track_genre, '') AS genre, coalesce(track_name, '') AS track_name,
               coalesce(artists, '') AS artists, CAST(duration_ms AS BIGINT) AS duration_ms
        FROM read_csv('{root / layout.SONGS_KEY}', {csv})
        WHERE coalesce(track_id, '') <> ''
        QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY TRY_CAST(id AS BIGINT) NULLS LAST) = 1
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE events AS
        SELECT DISTINCT s.user_id, s.track_id, s.ts
        FROM (
            SELECT user_id, track_id, try_strptime(listen_time, '%Y-%m-%d %H:%M:%S') AS ts
            FROM read_csv({files!r}, {csv}, union_by_name = true)
            WHERE coalesce(trim(user_id), '') <> '' AND coalesce(trim(track_id), '') <> ''
        ) s
        JOIN songs USING (track_id)
        WHERE s.ts IS NOT NULL
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE plays AS
        SELECT CAST(CAST(ts AS DATE) AS VARCHAR) AS listen_date, track_id, count(*) AS plays
        FROM events GROUP BY ALL
        """
    )
    kpis = con.execute(
        """
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
    ).fetchall()
    top_songs = con.execute(
        """
        SELECT p.listen_date, s.genre, p.track_id, s.track_name, s.artists, p.plays
        FROM plays p JOIN songs s USING (track_id)
        QUALIFY row_number() OVER (PARTITION BY p.listen_date, s.genre ORDER BY p.plays DESC, p.track_id) <= 3
        """
    ).fetchall()
    top_genres = con.execute(
        f"""
        SELECT listen_date, genre, n FROM (
            SELECT listen_date, genre, sum(plays) AS n FROM plays JOIN songs USING (track_id) GROUP BY ALL
        ) QUALIFY row_number() OVER (PARTITION BY listen_date ORDER BY n DESC, genre) <= {items.TOP_GENRES_PER_DAY}
        """
    ).fetchall()
    con.close()
    return {"kpis": kpis, "top_songs": top_songs, "top_genres": top_genres}


def _warm_local_session(event_log: Path | None = None):
    """The local Spark session (2 cores, DRIVER_MEMORY), its JVM started and warmed up: not timed.

    With `event_log`, Spark writes its event log there (`spark_events`)."""
    from music_kpis.session import local_spark_session

    os.environ["SPARK_DRIVER_MEMORY"] = DRIVER_MEMORY  # read when the session (and its JVM) starts
    spark = local_spark_session(cores=CORES, extra_conf=event_log_conf(event_log) if event_log else None)
    spark.range(1000).selectExpr("sum(id)").collect()
    return spark


# --- the same query on plain Spark SQL ------------------------------------------------------
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
    root: Path, stream_keys: list[str], event_log: Path | None = None
) -> tuple[Timing, list[tuple]]:
    """DuckDB's daily genre KPIs as plain Spark SQL on a local session: (its timing, KPI rows)."""
    from music_kpis.job import configure

    spark = _warm_local_session(event_log)
    configure(spark)
    started_ms, start, cpu = time.time_ns() // 1_000_000, time.perf_counter(), cpu_seconds()
    csv = {"header": True, "quote": '"', "escape": '"'}  # columns by header name, all strings
    songs = spark.read.options(**csv, multiLine=True).csv(str(root / layout.SONGS_KEY))
    songs.createOrReplaceTempView("songs_csv")
    streams = [
        spark.read.options(**csv).csv(str(root / key)).select(*layout.STREAMS_COLUMNS) for key in stream_keys
    ]
    union = streams[0]
    for frame in streams[1:]:
        union = union.unionByName(frame)
    union.createOrReplaceTempView("streams_csv")
    rows = sorted(tuple(r) for r in spark.sql(SPARK_SQL_KPIS).collect())
    return Timing(time.perf_counter() - start, cpu_seconds() - cpu, started_ms), rows


# --- the Glue job on local Spark ------------------------------------------------------------
def spark_job(
    root: Path, stream_keys: list[str], work: Path, event_log: Path | None = None
) -> tuple[Timing, DataQualityReport, list[tuple]]:
    """Run the job once on a fresh copy of the bucket's inputs; (its timing, report, daily genre KPIs)."""
    import boto3

    from local_run.emulator import running_emulator
    from music_kpis import arguments, job

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for key in (layout.USERS_KEY, layout.SONGS_KEY, *stream_keys):
        (work / key).parent.mkdir(parents=True, exist_ok=True)
        os.link(root / key, work / key)  # hard links: no copy of gigabytes
    run_id = "bench"
    streams = tuple(
        StreamObject(k, (root / k).stat().st_size, f"bench-{i}") for i, k in enumerate(stream_keys)
    )
    manifest = Manifest(
        run_id=run_id, created_at="2026-11-25T00:00:00+00:00", bucket="bench", streams=streams
    )
    (work / layout.manifest_key(run_id)).parent.mkdir(parents=True)
    (work / layout.manifest_key(run_id)).write_text(manifest.to_json())

    spark = _warm_local_session(event_log)
    with running_emulator():
        table = f"bench-kpis-{len(stream_keys)}-{time.time_ns()}"
        boto3.client("dynamodb").create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        args = arguments.JobArguments(
            data_bucket="bench", manifest_key=layout.manifest_key(run_id), run_id=run_id, kpi_table=table,
            data_root=work.resolve().as_uri(),
        )  # fmt: skip
        started_ms, start, cpu = time.time_ns() // 1_000_000, time.perf_counter(), cpu_seconds()
        result = job.run_job(spark, args)
        timing = Timing(time.perf_counter() - start, cpu_seconds() - cpu, started_ms)
    kpis = sorted(
        (
            item["date"], item["genre"], int(item["listen_count"]), int(item["unique_listeners"]),
            item["total_listening_time_seconds"], item["avg_listening_time_per_user_seconds"],
        )
        for item in result.items
        if item["record_type"] == items.RECORD_DAILY_GENRE_KPI
    )  # fmt: skip
    return timing, result.report, kpis


def in_fresh_process(mode: str, rows: int) -> dict[str, Any]:
    """Run `--<mode> ROWS` of this module in a child process (a cold JVM, as every Glue run has)."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.glue_kpis", f"--{mode}", str(rows)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode or not lines:
        raise RuntimeError(f"{mode} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def spark_job_in_fresh_process(rows: int) -> tuple[dict, DataQualityReport, list[tuple], SparkWork]:
    out = in_fresh_process("spark-job", rows)
    kpis = [(d, g, c, u, Decimal(t), Decimal(a)) for d, g, c, u, t, a in out["kpis"]]
    report = DataQualityReport.from_json(json.dumps(out["report"]))
    return out, report, kpis, SparkWork(**out["spark"])


def _fresh_event_log(mode: str, rows: int) -> Path:
    folder = BENCH_DIR / f"events-{mode}-{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def _spark_work(event_log: Path, since_ms: int) -> dict:
    """Stop the session (its event log is then complete) and sum the measured run's work."""
    from pyspark.sql import SparkSession

    SparkSession.getActiveSession().stop()
    work = read_event_log(event_log, since_ms)
    for seconds, stage, name in heaviest_stages(event_log, since_ms):  # read in the child's output
        print(f"   stage {stage}: {seconds:.1f} s of tasks, {name}", flush=True)
    shutil.rmtree(event_log, ignore_errors=True)
    return work.to_dict()


def _spark_job_main(rows: int) -> None:
    root, keys, _ = dataset(rows)
    event_log = _fresh_event_log("spark-job", rows)
    timing, report, kpis = spark_job(root, keys, BENCH_DIR / f"work-{rows}", event_log)
    shutil.rmtree(BENCH_DIR / f"work-{rows}", ignore_errors=True)
    body = {
        "seconds": timing.seconds,
        "cpu_seconds": timing.cpu_seconds,
        "report": report.to_dict(),
        "kpis": [[*k[:4], str(k[4]), str(k[5])] for k in kpis],
        "spark": _spark_work(event_log, timing.started_ms),
    }
    print(RESULT_PREFIX + json.dumps(body, default=str), flush=True)


def _spark_sql_main(rows: int) -> None:
    root, keys, _ = dataset(rows)
    event_log = _fresh_event_log("spark-sql", rows)
    timing, kpis = spark_sql_kpis(root, keys, event_log)
    body = {
        "seconds": timing.seconds,
        "cpu_seconds": timing.cpu_seconds,
        "kpis": kpis,
        "spark": _spark_work(event_log, timing.started_ms),
    }
    print(RESULT_PREFIX + json.dumps(body), flush=True)


def _measure(fn: Callable[[], Any], children: bool) -> tuple[float, float, Any]:
    with PeakMemory(scope="children" if children else "self", interval_seconds=0.05) as peak:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    return seconds, peak.peak_mb, out


def run(quick: bool = False) -> list[BenchResult]:
    results: list[BenchResult] = []
    for rows in (1_000_000,) if quick else (1_000_000, 10_000_000):
        root, keys, data_rows = dataset(rows)
        size = f"{rows / 1e6:g}M rows, {SONGS // 1000}k songs, {USERS // 1000}k users"
        duck_seconds, duck_mb, duck = _measure(
            lambda root=root, keys=keys: duckdb_kpis(root, keys), children=False
        )
        _, spark_mb, (job, report, spark_kpis, spark_work) = _measure(
            lambda rows=rows: spark_job_in_fresh_process(rows), children=True
        )
        spark_seconds = job["seconds"]
        _, sql_mb, sql = _measure(lambda rows=rows: in_fresh_process("spark-sql", rows), children=True)
        sql_work = SparkWork(**sql["spark"])
        # DuckDB gives milliseconds; seconds to the millisecond, as the job's Decimals.
        duck_kpis = [
            (d, g, c, u, Decimal(t).scaleb(-3), Decimal(a).scaleb(-3)) for d, g, c, u, t, a in duck["kpis"]
        ]
        same = duck_kpis == spark_kpis
        sql_same = sorted(map(tuple, sql["kpis"])) == sorted(duck["kpis"])
        print(
            f"   {size}: Spark job {spark_seconds:.1f}s, plain Spark SQL {sql['seconds']:.1f}s, "
            f"DuckDB {duck_seconds:.1f}s, {len(spark_kpis)} daily genre KPIs, identical: {same and sql_same}; "
            f"{report.rows_read:,} rows read, {report.rows_rejected:,} rejected, "
            f"{report.duplicates_dropped:,} duplicates; the job: {spark_work.summary}, "
            f"{spark_work.spilled_mb:,.0f} MB spilled, {job['cpu_seconds']:.1f} CPU s; plain Spark SQL: "
            f"{sql_work.summary}, {sql['cpu_seconds']:.1f} CPU s",
            flush=True,
        )
        if not same:
            raise AssertionError("the Glue job and the DuckDB reference disagree on the daily genre KPIs")
        if not sql_same:
            raise AssertionError("plain Spark SQL and the DuckDB reference disagree on the daily genre KPIs")
        results.append(
            BenchResult(
                what="Glue job, local Spark (2 cores)", size=size, seconds=spark_seconds, rows=data_rows,
                peak_memory_mb=spark_mb, baseline="DuckDB (2 threads)", baseline_seconds=duck_seconds,
                spark_work=f"{spark_work.jobs} / {spark_work.stages}",
                dpu_seconds_per_million_rows=dpu_seconds_per_million_rows(job["cpu_seconds"], data_rows),
            )
        )  # fmt: skip
        results.append(
            BenchResult(
                what="Plain Spark SQL, DuckDB's query (2 cores)", size=size, seconds=sql["seconds"],
                rows=data_rows, peak_memory_mb=sql_mb, baseline="DuckDB (2 threads)",
                baseline_seconds=duck_seconds, spark_work=f"{sql_work.jobs} / {sql_work.stages}",
                dpu_seconds_per_million_rows=dpu_seconds_per_million_rows(sql["cpu_seconds"], data_rows),
            )
        )  # fmt: skip
        results.append(
            BenchResult(
                what="DuckDB reference (2 threads)", size=size, seconds=duck_seconds, rows=data_rows,
                peak_memory_mb=duck_mb,
            )
        )  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 million rows only")
    parser.add_argument("--spark-job", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    parser.add_argument("--spark-sql", type=int, metavar="ROWS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.spark_job:
        _spark_job_main(args.spark_job)
        return
    if args.spark_sql:
        _spark_sql_main(args.spark_sql)
        return
    from benchmarks.__main__ import table

    print(table(run(quick=args.quick)))


if __name__ == "__main__":
    main()
