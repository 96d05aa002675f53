"""Fault injection: the job killed (SIGKILL, whole process tree) right after each write step of a
run that follows an earlier run of the same day, then retried with the same arguments, as
Airflow would; and a publication interrupted between deleting and copying a day.

After the retry: the table's items equal a clean run's, every curated event of the earlier run
is still there, each curated table holds exactly its partitions' rows, and nothing is left
outside the contract's prefixes. `make test` runs a few kill points that hit every write step;
`pytest -m fault_sweep tests/glue/test_faults.py` runs every occurrence of every step and a
sweep of kill times.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from music_contract import layout, tables
from music_kpis import dynamo, publication
from music_kpis.job import run_job
from tests.glue.bucket import (
    FIRST_DAY,
    SECOND_DAY,
    STREAMS1,
    STREAMS1_KEY,
    STREAMS2_KEY,
    STREAMS3_KEY,
    comparable,
    expected_comparable,
    job_arguments,
    table_items,
    write_bucket,
    write_manifest,
)
from tests.glue.conftest import create_kpi_table
from tests.glue.fault_runner import NOT_REACHED
from tests.jvm_options import CLIENT_COMPILER_ONLY

REPO_ROOT = Path(__file__).resolve().parents[2]
LENIENT = 0.5  # streams1 rejects 4 of its 9 rows on purpose

# Every curated event after both runs, with the file it was first stored from.
EXPECTED_EVENTS = {
    ("u1", "T1", f"{FIRST_DAY} 10:00:00", STREAMS1_KEY),
    ("u2", "T1", f"{FIRST_DAY} 11:00:00", STREAMS1_KEY),
    ("u1", "T2", f"{FIRST_DAY} 12:00:00", STREAMS1_KEY),
    ("u9", "T3", f"{FIRST_DAY} 13:00:00", STREAMS1_KEY),
    ("u3", "T6", f"{SECOND_DAY} 09:00:00", STREAMS2_KEY),
    ("u3", "T4", f"{FIRST_DAY} 23:59:59", STREAMS2_KEY),
    ("u1", "T5", f"{SECOND_DAY} 00:00:00", STREAMS2_KEY),
    ("u3", "T1", f"{SECOND_DAY} 08:00:00", STREAMS3_KEY),
    ("u2", "T3", f"{SECOND_DAY} 08:30:00", STREAMS3_KEY),
}
# Rows of each KPI table: FIRST_DAY has pop, rock, jazz; SECOND_DAY pop, metal, rock; pop has 2 top songs a day.
EXPECTED_KPI_ROWS = {"daily_genre_kpis": 6, "top_songs": 8, "top_genres": 6}

# What may exist under the data root after a run: the contract's prefixes, data files only.
_DATA_FILE = r"(part-[^/]+|\.part-[^/]+\.crc)"
ALLOWED = [
    re.compile(pattern)
    for pattern in (
        r"reference_data/.+",
        r"raw_data/.+",
        r"manifests/run_id=[^/]+\.json",
        rf"curated/({'|'.join(tables.CURATED_TABLES)})/listen_date=\d{{4}}-\d{{2}}-\d{{2}}/{_DATA_FILE}",
        rf"quarantine/run_id=[^/]+/({_DATA_FILE}|_SUCCESS|\._SUCCESS\.crc)",
        r"reports/run_id=[^/]+/(data_quality\.json|\.data_quality\.json\.crc)",
    )
]


def _earlier_run_then_manifest(spark, root: Path, table: str) -> tuple[str, str]:
    """streams1 (FIRST_DAY) processed and archived by an earlier run; the next run's manifest (FIRST_DAY, SECOND_DAY)."""
    run_id, manifest_key = write_manifest(root, [STREAMS1_KEY])
    run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))
    shutil.rmtree(root / "raw_data" / "streams1")  # archived by the DAG: only curated/ has its events
    return write_manifest(root, [STREAMS2_KEY, STREAMS3_KEY])


def _job_argv(root: Path, table: str, manifest_key: str, run_id: str) -> list[str]:
    return [
        "--data_bucket", "bucket", "--data_root", root.resolve().as_uri(), "--manifest_key", manifest_key,
        "--run_id", run_id, "--database_name", "music_streams", "--kpi_table", table,
        "--max_reject_ratio", str(LENIENT),
    ]  # fmt: skip


def _kill_job(step: str, after: int, argv: list[str]) -> int:
    """The real job in a subprocess (its own session), killed right after `step` number `after`."""
    env = {
        **os.environ,
        "SPARK_DRIVER_MEMORY": "1g",
        # Each attempt starts two short-lived JVMs (spark-submit's launcher, then the driver): the
        # client compiler alone (tests/jvm_options.py). The job is unchanged.
        "JAVA_TOOL_OPTIONS": CLIENT_COMPILER_ONLY,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "tests.glue.fault_runner", step, str(after), *argv],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=True,
    )
    assert completed.returncode != NOT_REACHED, f"the job never reached {step} #{after}"
    assert completed.returncode in (-9, 0), completed.stderr[-3000:]
    return completed.returncode


def assert_recovered(spark, root: Path, table: str) -> None:
    """The state a clean run leaves: items, every event once, whole KPI partitions, no leftovers."""
    assert comparable(table_items(table)) == expected_comparable()
    streams = spark.read.parquet((root / layout.CURATED_STREAMS_PREFIX).as_uri())
    events = {
        (r.user_id, r.track_id, r.listen_time.strftime("%Y-%m-%d %H:%M:%S"), r.source_file.split("#")[0])
        for r in streams.collect()
    }
    assert streams.count() == len(EXPECTED_EVENTS)
    assert events == EXPECTED_EVENTS
    for name, rows in EXPECTED_KPI_ROWS.items():
        assert spark.read.parquet((root / tables.CURATED_TABLES[name].prefix).as_uri()).count() == rows
    files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    left = [f for f in files if not any(pattern.fullmatch(f) for pattern in ALLOWED)]
    assert left == [], "files outside the contract's prefixes"


# Every write step, in turn, each attempt killed at the next one: the quarantine, the staged
# events, a staged KPI table, the marker, the gap between deleting the day that holds the earlier
# run's events and copying it back, a partition while the next attempt finishes that publication
# (its recovery moves partitions 1-8 first), and DynamoDB. Each attempt costs a JVM start.
KILL_CHAIN = [
    ("write_quarantine", 1),
    ("write_partitions", 1),
    ("write_partitions", 3),
    ("seal", 1),
    ("clear_partition", 1),
    ("fill_partition", 5),
    ("BatchWriteItem", 1),
]
PARTITIONS = len(tables.CURATED_TABLES) * 2  # four tables, two days
SWEEP = [
    ("write_quarantine", 1),
    *[("write_partitions", n) for n in range(1, 5)],
    ("seal", 1),
    *[("clear_partition", n) for n in range(1, PARTITIONS + 1)],
    *[("fill_partition", n) for n in range(1, PARTITIONS + 1)],
    ("BatchWriteItem", 1),
    *[("seconds", n) for n in range(5, 50, 9)],
]


def _killed_then_retried(spark, tmp_path, kills) -> None:
    root = write_bucket(tmp_path)
    table = create_kpi_table()
    run_id, manifest_key = _earlier_run_then_manifest(spark, root, table)
    for step, after in kills:
        _kill_job(step, after, _job_argv(root, table, manifest_key, run_id))
    # Airflow's last retry: the same arguments (here in-process, on the shared session).
    run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))
    assert_recovered(spark, root, table)


def test_killed_at_every_write_step_in_turn_then_retried_equals_a_clean_run(spark, moto_server, tmp_path):
    _killed_then_retried(spark, tmp_path, KILL_CHAIN)


@pytest.mark.fault_sweep
@pytest.mark.parametrize(("step", "after"), SWEEP, ids=[f"{s}-{n}" for s, n in SWEEP])
def test_kill_sweep(spark, moto_server, tmp_path, step, after):
    """One kill at one point, then the retry (`pytest -m fault_sweep tests/glue/test_faults.py`)."""
    _killed_then_retried(spark, tmp_path, [(step, after)])


class Interrupted(BaseException):
    """Stands for the process dying: not an `Exception`, so no handler of the job runs."""


def _interrupt_first_copy(monkeypatch) -> None:
    def die(storage, partition):
        raise Interrupted

    monkeypatch.setattr(publication, "fill_partition", die)


def _finished_by(finisher: str, spark, root: Path, table: str, manifest_key: str, run_id: str) -> None:
    """The run's retry, or a later run of another file (the earlier file re-uploaded), finishes the
    run's publication first (its DynamoDB items rebuilt from the published tables), and the state
    is a clean run's."""
    if finisher == "retry":
        result = run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))
    else:
        (root / STREAMS1_KEY).parent.mkdir(parents=True)
        (root / STREAMS1_KEY).write_text(STREAMS1)
        later_id, later_key = write_manifest(root, [STREAMS1_KEY])
        result = run_job(spark, job_arguments(root, table, later_key, later_id, max_reject_ratio=LENIENT))
    assert result.report.publications_finished == [run_id]
    assert_recovered(spark, root, table)


@pytest.mark.parametrize("finisher", ["retry", "next-run"])
def test_a_publication_interrupted_between_delete_and_copy_is_finished_from_the_staged_copy(
    spark, moto_server, tmp_path, monkeypatch, finisher
):
    root = write_bucket(tmp_path)
    table = create_kpi_table()
    run_id, manifest_key = _earlier_run_then_manifest(spark, root, table)
    with monkeypatch.context() as patch:
        _interrupt_first_copy(patch)
        with pytest.raises(Interrupted):
            run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))

    # What S3 holds then: the first day of curated/streams/ deleted (the earlier run's events are
    # only in the staged copy), the staged copy and its marker complete, nothing moved yet.
    day = root / layout.CURATED_STREAMS_PREFIX / f"listen_date={FIRST_DAY}"
    assert not [p for p in day.glob("part-*")]
    staging = root / layout.staging_prefix(run_id)
    sealed = publication.Publication.from_json((staging / publication.MARKER_NAME).read_text())
    first = sealed.partitions[0]
    assert first.curated == f"{layout.CURATED_STREAMS_PREFIX}listen_date={FIRST_DAY}/"
    assert all((root / first.staged / name).exists() for name in first.files)

    _finished_by(finisher, spark, root, table, manifest_key, run_id)


def test_a_run_failing_after_publishing_but_before_its_items_leaves_dynamodb_to_the_next_run(
    spark, moto_server, tmp_path, monkeypatch
):
    """DynamoDB throttles past every backoff (or Glue stops the run) once curated/ is published:
    the marker stays, so the next run rebuilds those dates' items from the published tables before
    it does anything else. A later run of another file, which touches only one of the two dates:
    the retry is the kill chain's last point (killed at the first DynamoDB write)."""
    root = write_bucket(tmp_path)
    table = create_kpi_table()
    run_id, manifest_key = _earlier_run_then_manifest(spark, root, table)
    earlier_items = comparable(table_items(table))

    def throttled(*args, **kwargs):
        raise dynamo.PublishError("BatchWriteItem left items unprocessed after every retry")

    with monkeypatch.context() as patch:
        patch.setattr(dynamo, "replace_items", throttled)
        with pytest.raises(dynamo.PublishError):
            run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))

    # curated/ holds the run's tables, DynamoDB the earlier run's items, and the marker says so.
    assert comparable(table_items(table)) == earlier_items
    assert (root / layout.staging_prefix(run_id) / publication.MARKER_NAME).exists()
    day = root / tables.CURATED_TABLES["daily_genre_kpis"].prefix / f"listen_date={SECOND_DAY}"
    assert list(day.glob("part-*"))

    _finished_by("next-run", spark, root, table, manifest_key, run_id)
