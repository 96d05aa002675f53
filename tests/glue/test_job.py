"""Whole job runs on local Spark against moto: hand-computed items, report, quarantine, curated
tables, idempotency in any order, and the failure paths that must publish nothing."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from music_contract import items as contract_items
from music_contract import layout, tables
from music_contract.quality import DataQualityReport
from music_kpis import entry
from music_kpis.datasets import DataError
from music_kpis.job import run_job
from music_kpis.rules import RejectRatioExceeded
from tests.glue.bucket import (
    FIRST_DAY,
    SECOND_DAY,
    STREAM_FILES,
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

REPO_ROOT = Path(__file__).resolve().parents[2]
LENIENT = 0.5  # the fixture rejects 4 of 16 rows on purpose


@pytest.fixture(scope="module")
def full_run(moto_server, spark, tmp_path_factory):
    """One run over all three files through `main()` (the command line), on a table that already
    holds a stale item of a touched date and an item of an untouched date."""
    root = write_bucket(tmp_path_factory.mktemp("bucket"))
    table = create_kpi_table()
    resource = boto3.resource("dynamodb").Table(table)
    resource.put_item(Item={"pk": f"DATE#{FIRST_DAY}", "sk": "GENRE#polka", "record_type": "DAILY_GENRE_KPI"})
    resource.put_item(Item={"pk": "DATE#2026-01-01", "sk": "TOP_GENRES", "record_type": "TOP_GENRES"})
    run_id, manifest_key = write_manifest(root, list(STREAM_FILES))
    argv = [
        "compute_kpis.py", "--data_bucket", "bucket", "--data_root", root.as_uri(), "--manifest_key",
        manifest_key, "--run_id", run_id, "--database_name", "music_streams", "--kpi_table", table,
        "--max_reject_ratio", str(LENIENT), "--JOB_NAME", "ignored-glue-option",
    ]  # fmt: skip
    assert entry.main(argv) == 0
    return root, table, run_id


def test_items_are_the_hand_computed_ones_and_stale_items_are_gone(full_run):
    _, table, run_id = full_run
    items = table_items(table)
    untouched = [i for i in items if i["pk"] == "DATE#2026-01-01"]
    assert len(untouched) == 1, "an item of a date the run did not touch must stay"
    got = comparable([i for i in items if i["pk"] != "DATE#2026-01-01"])
    assert got == expected_comparable()  # GENRE#polka of FIRST_DAY is gone
    assert {i["run_id"] for i in items if i not in untouched} == {run_id}
    assert all(i["updated_at"].endswith("+00:00") for i in items if i not in untouched)


def _current_key(client, table: str, day: str, sk: str) -> dict:
    """The stored key of item `sk` of `day`, through the day's pointer (docs/DESIGN.md)."""
    pk = {"S": f"DATE#{day}"}
    pointer = client.get_item(TableName=table, Key={"pk": pk, "sk": {"S": contract_items.DAY_VERSION_SK}})[
        "Item"
    ]
    return {"pk": pk, "sk": {"S": contract_items.versioned_sk(pointer[contract_items.ITEM_VERSION]["S"], sk)}}


def test_dynamodb_types_read_back(full_run):
    _, table, _ = full_run
    client = boto3.client("dynamodb")
    kpi = client.get_item(TableName=table, Key=_current_key(client, table, FIRST_DAY, "GENRE#pop"))["Item"]
    assert kpi["listen_count"] == {"N": "3"}
    assert kpi["total_listening_time_seconds"] == {"N": "580.5"} or kpi["total_listening_time_seconds"] == {
        "N": "580.500"
    }
    assert kpi["avg_listening_time_per_user_seconds"]["N"] in ("290.25", "290.250")
    songs = client.get_item(
        TableName=table, Key=_current_key(client, table, FIRST_DAY, "GENRE#pop#TOP_SONGS")
    )
    first = songs["Item"]["top_songs"]["L"][0]["M"]
    assert first == {
        "rank": {"N": "1"},
        "track_id": {"S": "T1"},
        "track_name": {"S": 'Say "Hi"'},
        "artists": {"S": "Smith, John"},
        "listen_count": {"N": "2"},
    }
    [genres] = [i for i in table_items(table) if (i["pk"], i["sk"]) == (f"DATE#{SECOND_DAY}", "TOP_GENRES")]
    assert all(
        isinstance(g["listen_count"], Decimal) and isinstance(g["rank"], Decimal)
        for g in genres["top_genres"]
    )
    by_genre = (
        boto3.resource("dynamodb")
        .Table(table)
        .query(
            IndexName=contract_items.GSI1_NAME,
            KeyConditionExpression=Key(contract_items.GSI1_PARTITION_KEY).eq("GENRE#pop"),
        )["Items"]
    )
    assert sorted(i["date"] for i in by_genre) == [FIRST_DAY, SECOND_DAY]


def test_report_and_quarantine(full_run):
    root, _, run_id = full_run
    text = (root / layout.report_key(run_id)).read_text()
    # The JSON keeps its shape: these keys (no "error" in a succeeded run), sorted, 2-space indent.
    assert set(json.loads(text)) == {
        "run_id", "status", "started_at", "finished_at", "manifest_key", "max_reject_ratio", "rows_read",
        "rows_accepted", "rows_rejected", "reject_ratio", "rejected_by_reason", "duplicates_dropped",
        "unknown_user_rows", "dates_affected", "files", "kpi_items_written", "stale_items_deleted",
        "publications_finished",
    }  # fmt: skip
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    report = DataQualityReport.from_json(text)
    assert report.status == "succeeded"
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (16, 12, 4)
    assert report.rejected_by_reason == dict.fromkeys(tables.REJECT_REASONS, 1)
    assert report.duplicates_dropped == 3  # streams1 line 5, streams2's first row, streams3's second
    assert report.unknown_user_rows == 1
    assert report.dates_affected == [FIRST_DAY, SECOND_DAY]
    assert [(f.key, f.rows_read, f.rows_accepted, f.rows_rejected) for f in report.files] == [
        (STREAMS1_KEY, 9, 5, 4),
        (STREAMS2_KEY, 4, 4, 0),
        (STREAMS3_KEY, 3, 3, 0),
    ]
    assert (report.kpi_items_written, report.stale_items_deleted) == (14, 1)
    parts = list((root / layout.quarantine_prefix(run_id)).glob("part-*.csv"))
    with parts[0].open(newline="") as handle:
        rows = [(r["source_file"], r["line_number"], r["reject_reason"]) for r in csv.DictReader(handle)]
    assert sorted(rows, key=lambda r: int(r[1])) == [
        (STREAMS1_KEY, "8", tables.REJECT_MISSING_USER_ID),
        (STREAMS1_KEY, "9", tables.REJECT_MISSING_TRACK_ID),
        (STREAMS1_KEY, "10", tables.REJECT_INVALID_LISTEN_TIME),
        (STREAMS1_KEY, "11", tables.REJECT_UNKNOWN_TRACK_ID),
    ]


def test_curated_tables_follow_the_contract(full_run, spark):
    root, _, _ = full_run
    for table in tables.CURATED_TABLES.values():
        frame = spark.read.parquet((root / table.prefix).as_uri())
        assert [(n, t) for n, t in frame.dtypes if n != table.partition_column] == list(table.columns)
        assert sorted(p.name for p in (root / table.prefix).glob("listen_date=*")) == [
            f"listen_date={FIRST_DAY}",
            f"listen_date={SECOND_DAY}",
        ]
    streams = spark.read.parquet((root / layout.CURATED_STREAMS_PREFIX).as_uri())
    assert streams.count() == 9  # the distinct accepted events
    first = streams.where("user_id = 'u1' AND track_id = 'T1'").collect()
    assert [row.source_file.split("#")[0] for row in first] == [
        STREAMS1_KEY
    ]  # STREAMS2_KEY repeats it: stored once
    assert not (root / "tmp").exists() or not any((root / "tmp").iterdir())


def _run(spark, root: Path, table: str, keys: list[str], **extra):
    run_id, manifest_key = write_manifest(root, keys)
    return run_job(spark, job_arguments(root, table, manifest_key, run_id, **extra))


@pytest.mark.parametrize(
    "order",
    [
        [[STREAMS1_KEY], [STREAMS2_KEY], [STREAMS3_KEY], [STREAMS1_KEY]],
        [[STREAMS3_KEY], [STREAMS1_KEY], [STREAMS2_KEY]],
    ],
    ids=["1-2-3-then-1", "3-1-2"],
)
def test_runs_in_any_order_and_a_repeated_file_equal_one_run(spark, moto_server, tmp_path, order):
    root = write_bucket(tmp_path)
    table = create_kpi_table()
    for keys in order:
        _run(spark, root, table, keys, max_reject_ratio=LENIENT)
    assert comparable(table_items(table)) == expected_comparable()
    streams = spark.read.parquet((root / layout.CURATED_STREAMS_PREFIX).as_uri())
    assert streams.count() == 9


def _remove(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("break_bucket", "keys", "message"),
    [
        (
            lambda root: _remove(root / layout.USERS_KEY),
            [STREAMS3_KEY],
            r"users file .*users\.csv is missing",
        ),
        (
            lambda root: (root / layout.SONGS_KEY).write_text(
                "id,track_id,artists,track_name,duration_ms,track_genre\n"
            ),
            [STREAMS3_KEY],
            r"reference files with no rows: \[.*songs\.csv'\]",
        ),
        (
            lambda root: (root / STREAMS1_KEY).write_text(""),
            [STREAMS1_KEY, STREAMS3_KEY],
            r"stream file .*streams1\.csv is empty",
        ),
        (
            lambda root: None,
            [STREAMS3_KEY, "raw_data/gone.csv"],
            r"stream files of the manifest are gone: .*raw_data/gone\.csv",
        ),
    ],
    ids=["missing-users", "empty-songs", "empty-stream-file", "manifest-file-gone"],
)
def test_bad_input_fails_and_publishes_nothing(spark, kpi_table, tmp_path, break_bucket, keys, message):
    root = write_bucket(tmp_path)
    run_id, manifest_key = write_manifest(root, keys)
    break_bucket(root)
    with pytest.raises(DataError, match=message):
        run_job(spark, job_arguments(root, kpi_table, manifest_key, run_id))
    assert table_items(kpi_table) == []
    assert not (root / layout.CURATED_PREFIX).exists()
    report = json.loads((root / layout.report_key(run_id)).read_text())
    assert report["status"] == "failed"
    assert re.search(message, report["error"])


def test_reject_ratio_over_the_limit_fails_after_quarantining(spark, kpi_table, tmp_path):
    root = write_bucket(tmp_path)
    run_id, manifest_key = write_manifest(root, list(STREAM_FILES))
    with pytest.raises(RejectRatioExceeded, match=r"4 of 16 stream rows rejected \(25\.00%\), more than"):
        run_job(spark, job_arguments(root, kpi_table, manifest_key, run_id))  # default limit 5%
    assert table_items(kpi_table) == []
    assert not (root / layout.CURATED_PREFIX).exists()
    assert list((root / layout.quarantine_prefix(run_id)).glob("part-*.csv"))
    report = json.loads((root / layout.report_key(run_id)).read_text())
    assert (report["status"], report["rows_rejected"]) == ("failed", 4)


def test_a_stream_file_with_only_a_header_is_an_empty_batch(spark, kpi_table, tmp_path):
    root = write_bucket(tmp_path, {"raw_data/streams9/streams9.csv": "user_id,track_id,listen_time\r\n"})
    result = _run(spark, root, kpi_table, ["raw_data/streams9/streams9.csv"])
    assert result.report.status == "succeeded"
    assert (result.report.rows_read, result.report.dates_affected) == (0, [])
    assert table_items(kpi_table) == []


def _command_line(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """`python glue_scripts/compute_kpis.py ARGS` from a checkout (no PYTHONPATH), as Glue runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "glue_scripts" / "compute_kpis.py"), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_command_line_fails_with_the_jobs_own_error_as_the_uncaught_exception(tmp_path):
    """Glue's ErrorMessage is the uncaught exception's type and message: it must be the job's."""
    completed = _command_line(
        tmp_path, "--data_bucket", "bucket", "--data_root", tmp_path.as_uri(), "--manifest_key",
        "manifests/run_id=nope.json", "--run_id", "nope", "--database_name", "music_streams",
        "--kpi_table", "kpis",
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr[-2000:]
    last = completed.stderr.strip().splitlines()[-1]
    # The data error's mark tells run_etl_job not to retry (music_contract.names.DATA_ERROR_MARK).
    assert re.fullmatch(
        r"music_kpis\.datasets\.DataError: \[music_kpis data error\] manifest file:.*/manifests/"
        r"run_id=nope\.json does not exist",
        last,
    )
    # The reason is logged once, on stdout (Glue's output stream); no summary printed twice.
    assert (
        len(
            re.findall(
                r"ERROR music_kpis: compute_kpis failed: DataError: \[music_kpis data error\] manifest",
                completed.stdout,
            )
        )
        == 1
    )
    assert len(re.findall(r"INFO music_kpis: music_kpis run_id=nope status=failed", completed.stdout)) == 1
    assert "status=failed" not in completed.stderr


def test_main_raises_the_jobs_error_instead_of_exiting(tmp_path):
    argv = [
        "compute_kpis.py", "--data_bucket", "bucket", "--data_root", tmp_path.as_uri(), "--manifest_key",
        "manifests/run_id=nope.json", "--run_id", "nope", "--database_name", "music_streams", "--kpi_table", "k",
    ]  # fmt: skip
    with pytest.raises(DataError, match=r"manifest .*nope\.json does not exist"):
        entry.main(argv)
    with pytest.raises(DataError, match=r"job arguments: the following arguments are required: --kpi_table"):
        entry.main(argv[:-2])


def test_logging_is_configured_once():
    first = entry.configure_logging()
    handlers = list(first.handlers)
    assert entry.configure_logging() is first
    assert first.handlers == handlers
    assert len(handlers) == 1
    assert first.level == logging.INFO
    assert not first.propagate  # a handler on the root logger (Glue's, a caller's) does not repeat it


def test_the_whole_job_under_ansi_mode(spark, moto_server, tmp_path):
    """ANSI SQL mode (Spark 4's default) on: impossible times are rejected, not a failed run."""
    bad = "raw_data/streams4/streams4.csv"
    root = write_bucket(
        tmp_path,
        {
            **STREAM_FILES,
            bad: "user_id,track_id,listen_time\nu1,T1,2024-13-45 99:00:00\nu2,T2,2026-02-30 10:00:00\n",
        },
    )
    table = create_kpi_table()
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        result = _run(spark, root, table, [*STREAM_FILES, bad], max_reject_ratio=LENIENT)
    finally:
        spark.conf.set("spark.sql.ansi.enabled", before)
    assert result.report.rejected_by_reason[tables.REJECT_INVALID_LISTEN_TIME] == 3
    assert comparable(table_items(table)) == expected_comparable()


def test_an_identical_reupload_with_a_new_etag_replaces_its_own_rows(spark, kpi_table, tmp_path):
    """With SSE-KMS an identical re-upload gets a new ETag: the file is still the same source, its
    rows are replaced (not kept beside it as duplicates), and the report counts the same."""
    root = write_bucket(tmp_path)
    run_id, manifest_key = write_manifest(root, [STREAMS2_KEY])
    first = run_job(spark, job_arguments(root, kpi_table, manifest_key, run_id, max_reject_ratio=LENIENT))
    again_id, again_key = write_manifest(root, [STREAMS2_KEY])
    manifest = json.loads((root / again_key).read_text())
    for stream in manifest["streams"]:
        stream["etag"] = "0f3c2b1a9e8d7c6b5a4f3e2d1c0b9a8f-1"  # what SSE-KMS gives: no MD5 of the bytes
    (root / again_key).write_text(json.dumps(manifest))

    again = run_job(spark, job_arguments(root, kpi_table, again_key, again_id, max_reject_ratio=LENIENT))

    assert again.report.duplicates_dropped == first.report.duplicates_dropped
    events = spark.read.parquet((root / layout.CURATED_STREAMS_PREFIX).as_uri())
    assert events.count() == first.report.rows_accepted - first.report.duplicates_dropped
