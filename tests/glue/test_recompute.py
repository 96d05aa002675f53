"""Recompute mode (``--recompute_dates``): the KPIs of chosen dates again from the curated events,
through the same publication and DynamoDB path, with no manifest and no raw file."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from music_contract import layout
from music_contract import tables as contract_tables
from music_kpis import entry
from music_kpis.arguments import parse_arguments
from music_kpis.datasets import DataError
from music_kpis.job import run_job
from tests.glue.bucket import (
    FIRST_DAY,
    SECOND_DAY,
    STREAM_FILES,
    comparable,
    expected_comparable,
    job_arguments,
    table_items,
    write_bucket,
    write_manifest,
)
from tests.glue.conftest import create_kpi_table
from tests.glue.test_arguments import ARGS, PARSERS, glue_resolved_options
from tests.glue.test_job import LENIENT

KPI_TABLES = [name for name in contract_tables.CURATED_TABLES if name != "streams"]


def _files(root, prefix: str) -> dict[str, str]:
    """Relative path -> content hash of every file under `prefix`."""
    base = root / prefix
    return {
        str(p.relative_to(base)): hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _rows(spark, root, table: str) -> list[tuple]:
    frame = spark.read.parquet((root / contract_tables.CURATED_TABLES[table].prefix).as_uri())
    return sorted(tuple(r) for r in frame.drop("run_id", "updated_at").collect())


@pytest.fixture(scope="module")
def original(moto_server, spark, tmp_path_factory):
    """One normal run over every stream file, then the raw files removed (archived, as on AWS)."""
    root = write_bucket(tmp_path_factory.mktemp("recompute"))
    table = create_kpi_table()
    run_id, manifest_key = write_manifest(root, list(STREAM_FILES))
    run_job(spark, job_arguments(root, table, manifest_key, run_id, max_reject_ratio=LENIENT))
    shutil.rmtree(root / layout.RAW_PREFIX)
    items = comparable(table_items(table))
    assert items == expected_comparable()
    return root, table, items, {name: _rows(spark, root, name) for name in KPI_TABLES}


def test_a_recompute_gives_the_same_items_and_tables_as_the_original_run(original, spark):
    root, table, items, tables = original
    # Every KPI item deleted (a restored, empty table): the recompute must write them all back.
    import boto3

    resource = boto3.resource("dynamodb").Table(table)
    for item in table_items(table):
        resource.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    streams_before = _files(root, layout.CURATED_STREAMS_PREFIX)
    run_id = "manual__2026-11-26T10:00:00+00:00"
    argv = [
        "compute_kpis.py", "--data_bucket", "bucket", "--data_root", root.as_uri(), "--recompute_dates",
        f"{SECOND_DAY},{FIRST_DAY}", "--run_id", run_id, "--database_name", "music_streams", "--kpi_table", table,
    ]  # fmt: skip
    assert entry.main(argv) == 0

    got = table_items(table)
    assert comparable(got) == items
    assert {i["run_id"] for i in got} == {layout.sanitize_run_id(run_id)}
    assert {name: _rows(spark, root, name) for name in KPI_TABLES} == tables
    assert _files(root, layout.CURATED_STREAMS_PREFIX) == streams_before, "the input is left as it is"
    report = json.loads((root / layout.report_key(run_id)).read_text())
    assert (report["status"], report["dates_affected"], report["rows_read"]) == (
        "succeeded",
        [FIRST_DAY, SECOND_DAY],
        0,
    )
    assert not (root / layout.quarantine_prefix(run_id)).exists()
    assert not any((root / layout.STAGING_PREFIX).iterdir())


def test_a_date_without_curated_events_fails_and_publishes_nothing(original, spark):
    root, table, items, tables = original
    run_id = "manual__2026-11-26T11:00:00+00:00"
    args = job_arguments(root, table, "", run_id, recompute_dates=(FIRST_DAY, "2026-02-01"))
    with pytest.raises(DataError, match=r"--recompute_dates: no curated events .* for \['2026-02-01'\]"):
        run_job(spark, args)
    assert comparable(table_items(table)) == items
    assert {name: _rows(spark, root, name) for name in KPI_TABLES} == tables


RECOMPUTE_ARGS = [a for a in ARGS if a not in ("--manifest_key", "manifests/m.json")]


@PARSERS
def test_both_parsers_take_recompute_dates_instead_of_a_manifest(resolve):
    args = parse_arguments(
        [*RECOMPUTE_ARGS, "--run_id", "r", "--recompute_dates", "2026-03-02,2026-03-01"], resolve
    )
    assert (args.recompute_dates, args.manifest_key) == (("2026-03-01", "2026-03-02"), "")


@pytest.mark.parametrize("resolve", [None, glue_resolved_options], ids=["local", "glue"])
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*ARGS, "--run_id", "r", "--recompute_dates", "2026-03-01"], r"--manifest_key or --recompute_dates"),
        (
            [*RECOMPUTE_ARGS, "--run_id", "r", "--recompute_dates", "2026-3-1"],
            r"--recompute_dates: '2026-3-1'",
        ),
        (
            [*RECOMPUTE_ARGS, "--run_id", "r", "--recompute_dates", "2026-02-30"],
            r"--recompute_dates: '2026-02-30'",
        ),
        ([*RECOMPUTE_ARGS, "--run_id", "r", "--recompute_dates", ","], r"--recompute_dates: no date given"),
        (
            [
                *RECOMPUTE_ARGS,
                "--run_id",
                "r",
                "--recompute_dates",
                ",".join(f"2026-01-{d:02d}" for d in range(1, 32)) + ",2026-02-01",
            ],
            r"--recompute_dates: 32 dates, at most 31",
        ),
        ([*RECOMPUTE_ARGS, "--run_id", "r"], r"manifest_key"),
    ],
    ids=["both", "not-iso", "no-such-day", "empty", "too-many", "neither"],
)
def test_bad_recompute_arguments_fail_naming_the_argument(resolve, argv, message):
    with pytest.raises(DataError, match=message):
        parse_arguments(argv, resolve=resolve)
