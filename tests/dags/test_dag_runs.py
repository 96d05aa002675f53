"""Whole DAG runs with ``dag.test()`` against moto; a local job runner stands in for the Glue script."""

from __future__ import annotations

import json
import threading

import pytest

from local_run.glue_local import local_glue_jobs
from music_contract import layout, names
from music_contract.manifest import Manifest
from music_pipeline import archive
from tests.dags.conftest import glue_processes_its_manifest

pytestmark = pytest.mark.usefixtures("airflow_db")

ALL_TASKS = ["validate_data_files", "validate_columns", "run_etl_job", "archive_raw_data"]


# A Glue run that succeeds and reports every manifest file processed.
glue_succeeds = glue_processes_its_manifest


def archived_keys(emulated_stack, run_id: str) -> list[str]:
    """Archived keys of this run, relative to raw_data/ (the date part checked separately)."""
    marker = f"/run_id={layout.sanitize_run_id(run_id)}/"
    return sorted(k.split(marker, 1)[1] for k in emulated_stack.keys(layout.ARCHIVE_PREFIX) if marker in k)


def alert_bodies(emulated_stack) -> list[str]:
    return [message["Message"] for message in emulated_stack.alerts()]


def test_happy_path_starts_glue_with_the_run_arguments_and_archives_exactly_the_manifest(
    emulated_stack, run_dag
):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1/streams1.csv", emulated_stack.STREAMS_CSV)
    emulated_stack.put("raw_data/2024/06/streams2.CSV", emulated_stack.STREAMS_CSV)
    emulated_stack.put("raw_data/_SUCCESS", "")  # not a stream batch: ignored, left alone

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag()

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    manifest_key = layout.manifest_key(result.run_id)
    manifest = Manifest.from_json(emulated_stack.read(manifest_key))
    assert [s.key for s in manifest.streams] == [
        "raw_data/2024/06/streams2.CSV",
        "raw_data/streams1/streams1.csv",
    ]
    assert manifest.reference == {"users": layout.USERS_KEY, "songs": layout.SONGS_KEY}
    assert all(s.etag and s.size == len(emulated_stack.STREAMS_CSV) for s in manifest.streams)

    [run] = glue.runs
    assert run.job_name == emulated_stack.glue_job
    assert run.arguments == {
        names.ARG_MANIFEST_KEY: manifest_key,
        names.ARG_RUN_ID: layout.sanitize_run_id(result.run_id),
        names.ARG_DATABASE_NAME: "music_streams_test",
    }
    assert run.effective_arguments[names.ARG_DATA_BUCKET] == emulated_stack.bucket  # the job's default stays

    created = manifest.created_at[:10].replace("-", "/")
    assert archived_keys(emulated_stack, result.run_id) == ["2024/06/streams2.CSV", "streams1/streams1.csv"]
    assert all(k.startswith(f"archived_data/{created}/") for k in emulated_stack.keys(layout.ARCHIVE_PREFIX))
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/_SUCCESS"]
    assert (
        emulated_stack.read(emulated_stack.keys(layout.ARCHIVE_PREFIX)[0]).decode()
        == emulated_stack.STREAMS_CSV
    )
    assert alert_bodies(emulated_stack) == []


def test_no_stream_files_skips_the_run_without_starting_glue_or_failing(emulated_stack, run_dag):
    emulated_stack.put_reference_files()

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag()

    assert result.dag_state == "success"
    assert result.states == {
        "validate_data_files": "success",
        "validate_columns": "skipped",
        "run_etl_job": "skipped",
        "archive_raw_data": "skipped",
    }
    assert glue.runs == []
    assert emulated_stack.glue.get_job_runs(JobName=emulated_stack.glue_job)["JobRuns"] == []
    assert emulated_stack.keys(layout.MANIFESTS_PREFIX) == []


def test_missing_and_empty_reference_files_fail_naming_both(emulated_stack, run_dag):
    emulated_stack.put(layout.USERS_KEY, b"")
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag()

    assert result.dag_state == "failed"
    assert result.states["validate_data_files"] == "failed"
    assert {result.states[t] for t in ALL_TASKS[1:]} == {"upstream_failed"}
    assert glue.runs == []
    [alert] = alert_bodies(emulated_stack)
    assert f"s3://{emulated_stack.bucket}/{layout.USERS_KEY}: empty (0 bytes)" in alert
    assert f"s3://{emulated_stack.bucket}/{layout.SONGS_KEY}: missing" in alert
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/streams1.csv"]


def test_missing_columns_in_two_files_fail_in_one_error_naming_both(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/good.csv", emulated_stack.STREAMS_CSV)
    emulated_stack.put("raw_data/no_time.csv", "user_id,track_id\n1,t1\n")
    emulated_stack.put("raw_data/sub/no_ids.csv", "listen_time,comment\n2024-06-25 10:00:00,x\n")

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag()

    assert result.states["validate_columns"] == "failed"
    assert {result.states["run_etl_job"], result.states["archive_raw_data"]} == {"upstream_failed"}
    assert glue.runs == []
    [alert] = alert_bodies(emulated_stack)
    assert "2 file(s) failed the header check" in alert
    assert f"s3://{emulated_stack.bucket}/raw_data/no_time.csv: missing columns listen_time" in alert
    assert f"s3://{emulated_stack.bucket}/raw_data/sub/no_ids.csv: missing columns user_id, track_id" in alert
    assert len(emulated_stack.keys(layout.RAW_PREFIX)) == 3


def test_a_header_with_bom_crlf_quotes_and_reordered_columns_passes(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put(
        "raw_data/windows.csv",
        b'\xef\xbb\xbf"listen_time","track_id","user_id","device"\r\n'
        b'"2024-06-25 10:00:00","t1","1","phone"\r\n',
    )

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag()

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert len(glue.runs) == 1
    assert archived_keys(emulated_stack, result.run_id) == ["windows.csv"]


def test_glue_failing_archives_nothing_and_publishes_an_alert(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)

    def glue_fails(job_name, arguments):
        raise RuntimeError("too many rejected rows: 12% > 5%")

    with local_glue_jobs(glue_fails) as glue:
        result = run_dag()

    assert result.states["run_etl_job"] == "failed"
    assert result.states["archive_raw_data"] == "upstream_failed"
    assert [r.state for r in glue.runs] == ["FAILED"]
    assert emulated_stack.keys(layout.ARCHIVE_PREFIX) == []
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/streams1.csv"]
    [alert] = [json.loads(body) for body in alert_bodies(emulated_stack)]
    assert alert["content"]["title"].startswith(
        f"[{emulated_stack.env_name}] Glue job run FAILED: {emulated_stack.glue_job} run "
    )
    assert f"DAG `{names.DAG_ID}` task `run_etl_job` run `{result.run_id}`" in alert["content"]["description"]
    assert alert["content"]["nextSteps"][1].startswith("Task log: http")


def test_a_file_uploaded_while_glue_runs_stays_for_the_next_run(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)
    glue_running = threading.Event()

    def glue_while_a_producer_uploads(job_name, arguments):
        glue_running.set()
        emulated_stack.put(
            "raw_data/streams2.csv", emulated_stack.STREAMS_CSV
        )  # arrives mid-run: not in this run's manifest
        glue_processes_its_manifest(job_name, arguments)

    with local_glue_jobs(glue_while_a_producer_uploads):
        result = run_dag()

    assert glue_running.is_set()
    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert archived_keys(emulated_stack, result.run_id) == ["streams1.csv"]
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/streams2.csv"]


def test_2500_stream_files_are_all_listed_checked_and_archived(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    keys = [f"raw_data/batch{i // 500}/streams{i:05d}.csv" for i in range(2500)]
    emulated_stack.put_many(keys)

    with local_glue_jobs(glue_succeeds):
        result = run_dag()

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    manifest = Manifest.from_json(emulated_stack.read(layout.manifest_key(result.run_id)))
    assert len(manifest.streams) == 2500
    assert archived_keys(emulated_stack, result.run_id) == sorted(
        k.removeprefix(layout.RAW_PREFIX) for k in keys
    )
    assert emulated_stack.keys(layout.RAW_PREFIX) == []


def test_archive_retried_after_failing_half_way_loses_and_duplicates_nothing(
    emulated_stack, run_dag, monkeypatch
):
    emulated_stack.put_reference_files()
    keys = [f"raw_data/streams{i:03d}.csv" for i in range(40)]
    emulated_stack.put_many(keys)
    copies: list[str] = []
    deletes_refused = set()
    real_copy, real_delete = archive.copy_if_unchanged, archive.delete_if_unchanged

    def counting_copy(s3_client, bucket, stream, destination):
        copies.append(stream.key)
        real_copy(s3_client, bucket, stream, destination)

    def delete_failing_for_every_other_object_once(s3_client, bucket, stream):
        index = keys.index(stream.key)
        if index % 2 and stream.key not in deletes_refused:
            deletes_refused.add(stream.key)  # copied, then the worker dies before the delete
            raise ConnectionError(f"simulated network failure deleting {stream.key}")
        real_delete(s3_client, bucket, stream)

    monkeypatch.setattr(archive, "copy_if_unchanged", counting_copy)
    monkeypatch.setattr(archive, "delete_if_unchanged", delete_failing_for_every_other_object_once)

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag(retries=1)

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert len(deletes_refused) == 20  # the first try really failed half-way
    assert sorted(copies) == sorted(keys)  # every object copied exactly once over both tries
    assert archived_keys(emulated_stack, result.run_id) == sorted(
        k.removeprefix(layout.RAW_PREFIX) for k in keys
    )
    assert emulated_stack.keys(layout.RAW_PREFIX) == []
    assert len(glue.runs) == 1  # the retry was the archive's, Glue ran once
    assert json.loads(emulated_stack.read(layout.manifest_key(result.run_id)))[
        "run_id"
    ] == layout.sanitize_run_id(result.run_id)


@pytest.mark.parametrize("report", ["none", "failed", "other_manifest"])
def test_files_the_glue_run_did_not_process_are_never_archived(emulated_stack, run_dag, report):
    """`run_etl_job` marked success (its Glue run stopped), or an earlier attempt's report left behind:
    `archive_raw_data` moves nothing and says why; raw_data/ stays for the next run."""
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)

    def glue_processes_nothing(job_name, arguments):
        if report == "none":
            return
        glue_processes_its_manifest(job_name, arguments)  # then made not this run's
        key = layout.report_key(arguments[names.ARG_RUN_ID])
        body = json.loads(emulated_stack.read(key))
        if report == "failed":
            body["status"] = "failed"
        else:
            body["manifest_key"] = "manifests/run_id=another.json"
        emulated_stack.put(key, json.dumps(body))

    with local_glue_jobs(glue_processes_nothing):
        result = run_dag(retries=2)

    assert result.states["run_etl_job"] == "success"
    assert result.states["archive_raw_data"] == "failed"
    assert result.tries["archive_raw_data"] == 1  # final: a retry would not process the files
    assert emulated_stack.keys(layout.ARCHIVE_PREFIX) == []
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/streams1.csv"]
