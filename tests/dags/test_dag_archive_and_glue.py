"""Archive moves (conditional, idempotent), the Glue start that never defines the job, the alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from music_contract import names
from music_contract.manifest import StreamObject
from music_pipeline import archive, s3_objects
from music_pipeline.alerts import failure_message, publish_failure_alert, sns_subject


def _manifest(emulated_stack, keys):
    streams = [
        StreamObject(key, int(h["ContentLength"]), h["ETag"])
        for key in keys
        for h in [emulated_stack.s3.head_object(Bucket=emulated_stack.bucket, Key=key)]
    ]
    created = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)
    return s3_objects.build_manifest(
        emulated_stack.bucket, "manual__2026-11-25T23:59:00+00:00", streams, {}, created
    )


def test_archive_moves_each_object_under_the_manifest_date_and_run(emulated_stack):
    emulated_stack.put("raw_data/s1/a.csv", "user_id,track_id,listen_time\n")
    emulated_stack.put("raw_data/b.csv", "user_id,track_id,listen_time\n")
    manifest = _manifest(emulated_stack, ["raw_data/s1/a.csv", "raw_data/b.csv"])

    report = archive.archive_manifest(emulated_stack.s3, manifest)

    prefix = "archived_data/2026/11/25/run_id=manual__2026-11-25T23_59_00_00_00/"
    assert emulated_stack.keys() == [f"{prefix}b.csv", f"{prefix}s1/a.csv"]
    assert report.summary() == {"archived": 2}
    # A second run of the same archive (a retry after success) changes nothing and loses nothing.
    assert archive.archive_manifest(emulated_stack.s3, manifest).summary() == {"already_archived": 2}
    assert emulated_stack.keys() == [f"{prefix}b.csv", f"{prefix}s1/a.csv"]


def test_an_object_overwritten_after_the_manifest_stays_in_raw_data(emulated_stack):
    emulated_stack.put("raw_data/a.csv", "user_id,track_id,listen_time\n1,t1,2024-06-25 10:00:00\n")
    manifest = _manifest(emulated_stack, ["raw_data/a.csv"])
    newer = "user_id,track_id,listen_time\n2,t2,2024-06-26 10:00:00\n"
    emulated_stack.put("raw_data/a.csv", newer)
    copy_conditions = []
    emulated_stack.s3.meta.events.register(
        "provide-client-params.s3.CopyObject", lambda params, **_: copy_conditions.append(params)
    )

    report = archive.archive_manifest(emulated_stack.s3, manifest)

    assert report.outcomes == {"raw_data/a.csv": archive.Outcome.CHANGED}
    assert emulated_stack.read("raw_data/a.csv").decode() == newer
    # S3 refuses the copy itself (CopySourceIfMatch); moto ignores that header, the delete's IfMatch holds.
    assert copy_conditions[0]["CopySourceIfMatch"] == manifest.streams[0].etag


def test_an_object_gone_from_raw_data_and_the_archive_fails_the_task_naming_it(emulated_stack):
    emulated_stack.put("raw_data/a.csv", "user_id,track_id,listen_time\n")
    emulated_stack.put("raw_data/b.csv", "user_id,track_id,listen_time\n")
    manifest = _manifest(emulated_stack, ["raw_data/a.csv", "raw_data/b.csv"])
    emulated_stack.s3.delete_object(Bucket=emulated_stack.bucket, Key="raw_data/a.csv")

    with pytest.raises(
        archive.ArchiveError, match=r"(?s)1 of 2 .*raw_data/a\.csv: in the manifest but neither"
    ):
        archive.archive_manifest(emulated_stack.s3, manifest)
    assert "raw_data/b.csv" not in emulated_stack.keys("raw_data/")  # the others were still archived


def test_the_glue_job_is_started_but_never_created(emulated_stack):
    from music_pipeline.glue import ExistingGlueJobHook, GlueJobNotFoundError

    hook = ExistingGlueJobHook(job_name="job-that-the-stack-did-not-create", aws_conn_id=names.AWS_CONN_ID)
    with pytest.raises(GlueJobNotFoundError, match=r"job-that-the-stack-did-not-create.*deploy the stack"):
        hook.initialize_job({names.ARG_RUN_ID: "r1"})
    assert "job-that-the-stack-did-not-create" not in emulated_stack.glue.list_jobs()["JobNames"]

    existing = ExistingGlueJobHook(
        job_name=emulated_stack.glue_job, aws_conn_id=names.AWS_CONN_ID, update_config=True
    )
    before = emulated_stack.glue.get_job(JobName=emulated_stack.glue_job)["Job"]
    run_id = existing.initialize_job({names.ARG_RUN_ID: "r1"})["JobRunId"]
    run = emulated_stack.glue.get_job_run(JobName=emulated_stack.glue_job, RunId=run_id)["JobRun"]
    assert run["Arguments"][names.ARG_RUN_ID] == "r1"
    assert emulated_stack.glue.get_job(JobName=emulated_stack.glue_job)["Job"] == before


class _TaskInstance:
    dag_id, task_id, run_id, try_number = names.DAG_ID, "run_etl_job", "manual__2026-11-25", 4
    log_url = "http://airflow/dags/x/runs/y/tasks/run_etl_job?try_number=4"


def test_failure_message_is_a_chatbot_notification_naming_task_environment_run_and_log():
    subject, body = failure_message(
        {"ti": _TaskInstance(), "exception": RuntimeError("Glue said no " * 500)}, environment="prod"
    )
    title = f"[prod] Airflow task failed: {names.DAG_ID}.run_etl_job"
    assert subject == title
    notification = json.loads(body)
    # The shape of the stack's EventBridge Glue alerts (infra/monitoring/glue_failure_rule.py): Chatbot custom notification.
    assert (notification["version"], notification["source"]) == ("1.0", "custom")
    content = notification["content"]
    assert content["title"] == title
    assert content["description"].startswith(
        f"DAG `{names.DAG_ID}` task `run_etl_job` run `manual__2026-11-25` try 4: RuntimeError: Glue said no"
    )
    assert content["nextSteps"] == [f"Task log: {_TaskInstance.log_url}"]
    assert notification["metadata"]["relatedResources"] == [_TaskInstance.log_url]
    assert notification["metadata"]["additionalContext"]["environment"] == "prod"
    assert len(body) < 2500


@pytest.mark.parametrize(
    "text",
    ["[prod] Glue job run FAILED: caf\u00e9\nrun " + "x" * 200, "\u00e9\t\r\n", "short"],
)
def test_sns_subjects_are_printable_ascii_on_one_line_under_100_chars(text):
    subject = sns_subject(text)
    assert 0 < len(subject) < 100
    assert all(32 <= ord(c) < 127 for c in subject), subject


def test_a_broken_alert_path_is_logged_and_never_raises(emulated_stack, monkeypatch, caplog):
    monkeypatch.setenv(
        f"AIRFLOW_VAR_{names.VAR_ALERT_TOPIC_ARN.upper()}",
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
    )
    with caplog.at_level("ERROR", logger="music_pipeline.alerts"):
        publish_failure_alert({"ti": _TaskInstance(), "exception": RuntimeError("boom")})  # must not raise

    failures = [r for r in caplog.records if r.getMessage() == "Could not publish the failure alert"]
    assert len(failures) == 1
    assert "NotFound" in str(failures[0].exc_info[1])


def test_a_retry_finds_the_still_running_glue_run_of_its_dag_run(emulated_stack):
    import threading

    from local_run.glue_local import local_glue_jobs
    from music_pipeline.glue import ExistingGlueJobHook

    release = threading.Event()
    hook = ExistingGlueJobHook(job_name=emulated_stack.glue_job, aws_conn_id=names.AWS_CONN_ID)
    with local_glue_jobs(lambda name, args: release.wait(30)) as glue:
        job_run_id = hook.initialize_job({names.ARG_RUN_ID: "manual__run_a"})["JobRunId"]
        reader = ExistingGlueJobHook(aws_conn_id=names.AWS_CONN_ID)

        assert reader.find_active_run(emulated_stack.glue_job, "manual__run_a") == job_run_id
        assert reader.find_active_run(emulated_stack.glue_job, "manual__run_b") is None
        release.set()
        glue.wait(timeout=30)

    assert [r.state for r in glue.runs] == ["SUCCEEDED"]
    assert reader.find_active_run(emulated_stack.glue_job, "manual__run_a") is None
