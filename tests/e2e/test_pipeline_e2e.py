"""The whole product on one machine: the production DAG under real Airflow, the real Glue script on
local Spark, moto server as AWS. Few tests, each a story a user relies on; every DAG run costs
seconds of Spark, so each test makes the most of its runs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from datetime import date
from pathlib import Path

import boto3
import pytest

from local_run.generate import add_stream_batches, generate_dataset
from local_run.glue_script_runner import GlueScriptRunner
from local_run.pipeline import LocalPipeline
from local_run.resources import create_local_stack, load_config, read_kpi_items, received_alerts
from music_contract import layout, tables
from ops.kpi_oracle import expected_items

pytestmark = pytest.mark.e2e

FIRST_DAY = date(2026, 11, 20)
_environments = itertools.count(1)


@pytest.fixture
def pipeline(moto_server, spark, airflow_db, tmp_path) -> LocalPipeline:
    """A fresh set of emulated resources (own bucket, table, topic, job) and a pipeline over them."""
    config = dataclasses.replace(load_config(), env_name=f"e2e{next(_environments)}")
    stack = create_local_stack(moto_server, config)
    return LocalPipeline(stack, GlueScriptRunner(spark, work_dir=tmp_path / "glue-runs"))


def _comparable(items: list[dict]) -> dict[tuple[str, str], dict]:
    """Items keyed by (pk, sk), without the per-run bookkeeping attributes."""
    return {
        (item["pk"], item["sk"]): {
            k: v for k, v in item.items() if k not in ("pk", "sk", "run_id", "updated_at")
        }
        for item in items
    }


def _quarantined_rows(pipeline: LocalPipeline, safe_run_id: str) -> list[dict]:
    s3 = boto3.client("s3")
    rows: list[dict] = []
    listing = s3.list_objects_v2(Bucket=pipeline.bucket, Prefix=layout.quarantine_prefix(safe_run_id))
    for obj in listing.get("Contents", []):
        if obj["Key"].endswith(".csv"):
            body = s3.get_object(Bucket=pipeline.bucket, Key=obj["Key"])["Body"].read().decode()
            rows.extend(csv.DictReader(io.StringIO(body)))
    return rows


def _data_rows(root: Path, keys: list[str]) -> int:
    return sum(len((root / key).read_text().splitlines()) - 1 for key in keys)


def test_kpis_equal_an_independent_computation_across_late_batches_and_reuploads(pipeline, tmp_path):
    root = tmp_path / "input"
    data = generate_dataset(root, days=3, streams=3_000, songs=300, users=150, seed=11, start=FIRST_DAY)
    pipeline.upload(root, data.keys)

    first = pipeline.run()
    assert first.succeeded, first.task_states
    assert len(first.archived_keys) == 3

    # A late batch for an already processed day, and the first batch uploaded again.
    late = add_stream_batches(
        data, dates=[FIRST_DAY.replace(day=21)], streams=600, files=1, first_index=4, seed=5
    )
    pipeline.upload(root, [*late, data.stream_keys[0]])
    second = pipeline.run()
    assert second.succeeded, second.task_states

    # The table holds exactly the KPIs of every distinct accepted event seen so far: the late
    # batch updated its day, the re-uploaded file changed nothing, no stale or doubled items.
    assert _comparable(read_kpi_items(pipeline.stack)) == expected_items(root, data.stream_keys)

    # Nothing lost: every raw file was archived by the run that processed it, none waits in raw_data/.
    assert pipeline.raw_keys() == []
    assert sorted(k.rsplit("/", 2)[-2] for k in second.archived_keys) == ["streams1", "streams4"]
    # Every row read is either accepted or quarantined with a reason.
    for run, keys in ((first, data.stream_keys[:3]), (second, [data.stream_keys[0], *late])):
        report = run.quality_report
        assert report["rows_read"] == _data_rows(root, keys)
        assert report["rows_read"] == report["rows_accepted"] + report["rows_rejected"]
        quarantined = _quarantined_rows(pipeline, run.safe_run_id)
        assert len(quarantined) == report["rows_rejected"] > 0
        assert {row["reject_reason"] for row in quarantined} <= set(tables.REJECT_REASONS)


def test_a_failing_glue_job_archives_nothing_publishes_nothing_and_alerts(pipeline, tmp_path):
    root = tmp_path / "input"
    data = generate_dataset(root, days=1, streams=400, songs=100, users=50, seed=3, start=FIRST_DAY)
    # A batch whose tracks are all missing from the catalogue: far over the 5% reject limit.
    bad_key = "raw_data/partner_feed/2026-11-20.csv"
    (root / bad_key).parent.mkdir(parents=True)
    (root / bad_key).write_text(
        "user_id,track_id,listen_time\n"
        + "".join(f"1001,NOT_A_TRACK_{n},2026-11-20 10:00:00\n" for n in range(400))
    )
    pipeline.upload(root, [*data.keys, bad_key])

    run = pipeline.run()

    assert run.state == "failed"
    assert run.task_states["run_etl_job"] == "failed"
    assert run.task_states["archive_raw_data"] == "upstream_failed"
    assert run.archived_keys == []
    assert pipeline.raw_keys() == sorted([*data.stream_keys, bad_key])
    assert read_kpi_items(pipeline.stack) == []
    assert run.quality_report["status"] == "failed"
    assert "reject" in run.quality_report["error"].lower()
    alerts = received_alerts(pipeline.stack)
    assert any("run_etl_job" in alert and run.run_id in alert for alert in alerts), alerts


def test_a_file_missing_a_column_stops_the_run_before_glue_naming_file_and_column(pipeline, tmp_path):
    root = tmp_path / "input"
    data = generate_dataset(root, days=1, streams=200, songs=100, users=50, seed=5, start=FIRST_DAY)
    broken_key = "raw_data/streams9/streams9.csv"
    (root / broken_key).parent.mkdir(parents=True)
    (root / broken_key).write_text("user_id,listen_time\n1001,2026-11-20 10:00:00\n")
    pipeline.upload(root, [*data.keys, broken_key])

    run = pipeline.run()

    assert run.task_states["validate_columns"] == "failed"
    assert run.task_states["run_etl_job"] == "upstream_failed"
    assert run.quality_report is None  # Glue never started
    assert pipeline.raw_keys() == sorted([*data.stream_keys, broken_key])
    alerts = received_alerts(pipeline.stack)
    assert any(broken_key in alert and "track_id" in alert for alert in alerts), alerts
