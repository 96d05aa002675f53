"""DAG task benchmarks against moto server: header validation, archiving, DagBag parse time.

- Header check of one stream file (1 MB and 500 MB; 50 MB with ``quick``): the DAG's bounded ranged
  GET next to reading the whole object with pandas, as the seed did.
- Archiving 5,000 stream files (1,000 with ``quick``): the DAG's concurrent conditional copy + delete
  next to a one-at-a-time copy and delete loop.
- Parsing the DAG file with a DagBag: in a fresh interpreter (cold) and again in the same one (warm).

moto runs in its own process here (not the in-process `ThreadedMotoServer` of the tests), so the
client threads and the emulator do not share one interpreter lock; with real S3 the archive is bound
by request latency, which concurrency hides even better.
"""

from __future__ import annotations

import io
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config

from benchmarks.results import BenchResult, timed
from local_run.airflow_home import DAG_FILE
from music_contract import layout
from music_contract.manifest import StreamObject
from music_pipeline import archive, s3_objects, validation

REPO_ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-dag-tasks"
MB = 1024 * 1024
_ROW = b"user_0001234,track_0000056789,2024-06-25 10:00:00\n"


@contextmanager
def moto_server_process() -> Iterator[str]:
    """A moto server in a child process on a free loopback port; yields its endpoint URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"moto server did not start on port {port}")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_rss_during(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run `fn`; return (seconds, peak resident MB of this process above the start, result)."""
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = start_rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        seconds, result = timed(fn)
    finally:
        done.set()
        sampler.join()
    return seconds, (peak - start_rss) / MB, result


def _stream_file(size_bytes: int) -> bytes:
    header = b"user_id,track_id,listen_time\r\n"
    return header + _ROW * ((size_bytes - len(header)) // len(_ROW))


def _median_run(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(median seconds, largest peak MB) of `repeats` runs of `fn`: small timings are noisy."""
    runs = [peak_rss_during(fn)[:2] for _ in range(repeats)]
    return statistics.median(s for s, _ in runs), max(mb for _, mb in runs)


def bench_header_check(s3: Any, size_mb: int) -> BenchResult:
    key = f"raw_data/bench/streams_{size_mb}mb.csv"
    body = _stream_file(size_mb * MB)
    s3.upload_fileobj(io.BytesIO(body), BUCKET, key)
    rows = body.count(b"\n") - 1
    del body
    check = [validation.HeaderCheck(key, layout.REQUIRED_STREAMS_COLUMNS)]
    bytes_read: list[int] = []
    s3.meta.events.register(
        "after-call.s3.GetObject", lambda parsed, **_: bytes_read.append(int(parsed.get("ContentLength", 0)))
    )
    repeats = 5 if size_mb <= 50 else 1

    ours_s, ours_mb = _median_run(lambda: validation.validate_headers(s3, BUCKET, check, threads=1), repeats)
    ours_bytes = bytes_read[-1]

    import pandas as pd  # imported before the clock starts

    def pandas_whole_file() -> None:
        frame = pd.read_csv(s3.get_object(Bucket=BUCKET, Key=key)["Body"])
        missing = validation.missing_columns(list(frame.columns), layout.REQUIRED_STREAMS_COLUMNS)
        assert not missing, missing

    pandas_s, pandas_mb = _median_run(pandas_whole_file, repeats)
    s3.delete_object(Bucket=BUCKET, Key=key)
    return BenchResult(
        what=f"validate_columns: header of one stream file (ranged GET, {ours_bytes // 1024} KiB read)",
        size=f"{size_mb} MB, {rows:,} rows",
        seconds=ours_s,
        peak_memory_mb=ours_mb,
        baseline=f"pandas.read_csv of the whole object (peak +{pandas_mb:,.0f} MB)",
        baseline_seconds=pandas_s,
    )


def _upload_streams(s3: Any, prefix: str, count: int) -> list[StreamObject]:
    body = b"user_id,track_id,listen_time\n" + _ROW * 20

    def put(i: int) -> StreamObject:
        key = f"{prefix}streams{i:05d}.csv"
        etag = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"]
        return StreamObject(key, len(body), etag)

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(put, range(count)))


def bench_archive(s3: Any, files: int) -> BenchResult:
    ours = _upload_streams(s3, "raw_data/archive_ours/", files)
    manifest = s3_objects.build_manifest(BUCKET, "bench__concurrent", ours, {}, datetime.now(UTC))
    ours_s, report = timed(lambda: archive.archive_manifest(s3, manifest))
    assert report.count(archive.Outcome.ARCHIVED) == files, report.summary()

    seed = _upload_streams(s3, "raw_data/archive_seed/", files)

    def one_at_a_time() -> None:
        for stream in seed:
            target = layout.archive_key(stream.key, "bench__sequential", datetime.now(UTC))
            s3.copy_object(Bucket=BUCKET, Key=target, CopySource={"Bucket": BUCKET, "Key": stream.key})
            s3.delete_object(Bucket=BUCKET, Key=stream.key)

    seed_s, _ = timed(one_at_a_time)
    return BenchResult(
        what=f"archive_raw_data: conditional copy+delete, {archive.ARCHIVE_THREADS} threads",
        size=f"{files:,} files",
        seconds=ours_s,
        rows=files,
        baseline="one-at-a-time copy+delete",
        baseline_seconds=seed_s,
    )


_PARSE_SCRIPT = """
import time
from airflow.dag_processing.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder={dag_file!r})
cold = time.perf_counter() - start
assert not bag.import_errors, bag.import_errors
start = time.perf_counter()
DagBag(dag_folder={dag_file!r})
warm = time.perf_counter() - start
print(cold, warm)
"""


def bench_dagbag_parse() -> list[BenchResult]:
    script = _PARSE_SCRIPT.format(dag_file=str(DAG_FILE))
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout
    cold, warm = (float(v) for v in output.split()[-2:])
    return [
        BenchResult("DagBag parse of the DAG file (fresh interpreter)", "1 DAG, 4 tasks", cold),
        BenchResult("DagBag parse of the DAG file (again, modules cached)", "1 DAG, 4 tasks", warm),
    ]


def run(quick: bool = False) -> list[BenchResult]:
    """All DAG task benchmarks; `quick` shrinks the large file to 50 MB and the archive to 1,000 files."""
    results: list[BenchResult] = []
    with moto_server_process() as endpoint:
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(max_pool_connections=archive.ARCHIVE_THREADS),
        )
        s3.create_bucket(Bucket=BUCKET)
        for size_mb in (1, 50 if quick else 500):
            results.append(bench_header_check(s3, size_mb))
        results.append(bench_archive(s3, 1000 if quick else 5000))
    results.extend(bench_dagbag_parse())
    return results


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result)
