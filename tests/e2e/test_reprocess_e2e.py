"""Reprocess and backfill through the production DAG, the real Glue script on local Spark and moto:
a replay of an archived day adds nothing twice and leaves the archive as it was; a recompute writes
back the items of the original runs from the curated events alone."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import boto3
import pytest

from local_run.generate import generate_dataset
from local_run.glue_script_runner import GlueScriptRunner
from local_run.pipeline import LocalPipeline
from local_run.resources import create_local_stack, load_config, read_kpi_items
from music_contract import layout, reprocess
from music_contract.manifest import Manifest
from tests.e2e.test_pipeline_e2e import _comparable

pytestmark = pytest.mark.e2e


def _keys(bucket: str, prefix: str) -> list[str]:
    paginator = boto3.client("s3").get_paginator("list_objects_v2")
    return sorted(
        o["Key"] for p in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in p.get("Contents", [])
    )


def test_a_replay_adds_nothing_twice_and_a_recompute_gives_the_same_items(
    moto_server, spark, airflow_db, tmp_path
):
    config = dataclasses.replace(load_config(), env_name="e2ereprocess")
    stack = create_local_stack(moto_server, config)
    pipeline = LocalPipeline(stack, GlueScriptRunner(spark, work_dir=tmp_path / "glue-runs"))
    root = tmp_path / "input"
    data = generate_dataset(root, days=2, streams=800, songs=80, users=40, seed=3, start=date(2026, 11, 20))
    pipeline.upload(root, data.keys)

    first = pipeline.run()
    assert first.succeeded, first.task_states
    items = _comparable(read_kpi_items(stack))
    assert items
    archived = _keys(pipeline.bucket, layout.ARCHIVE_PREFIX)
    [day] = {re.match(r"archived_data/(\d{4})/(\d{2})/(\d{2})/", k).groups() for k in archived}
    archive_day = "-".join(day)

    replay = pipeline.run({reprocess.PARAM_REPLAY_FROM: archive_day, reprocess.PARAM_REPLAY_TO: archive_day})
    assert replay.succeeded, replay.task_states
    report = replay.quality_report
    assert report["rows_read"] == first.quality_report["rows_read"] > 0
    assert report["duplicates_dropped"] == report["rows_accepted"], "every replayed event was already stored"
    assert _comparable(read_kpi_items(stack)) == items
    # The replayed files stay where they were: never in both places, never in neither.
    assert _keys(pipeline.bucket, layout.ARCHIVE_PREFIX) == archived
    assert pipeline.raw_keys() == []
    manifest = Manifest.from_json(
        boto3.client("s3")
        .get_object(Bucket=pipeline.bucket, Key=layout.manifest_key(replay.run_id))["Body"]
        .read()
    )
    assert sorted(s.key for s in manifest.streams) == [k for k in archived if k.endswith(".csv")]

    curated = _keys(pipeline.bucket, layout.CURATED_STREAMS_PREFIX)

    # A restored, empty table: a recompute of the dates writes back the same items.
    table = boto3.resource("dynamodb").Table(stack.names.kpi_table)
    for item in table.scan()["Items"]:  # every stored item: each version and the day pointers
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    assert read_kpi_items(stack) == []
    dates = sorted({pk.removeprefix("DATE#") for pk, _ in items})
    recompute = pipeline.run({reprocess.PARAM_RECOMPUTE_DATES: dates})
    assert recompute.succeeded, recompute.task_states
    assert _comparable(read_kpi_items(stack)) == items
    assert recompute.quality_report["dates_affected"] == dates
    assert _keys(pipeline.bucket, layout.ARCHIVE_PREFIX) == archived
    assert _keys(pipeline.bucket, layout.CURATED_STREAMS_PREFIX) == curated, "its input is left as it is"
