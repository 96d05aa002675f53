"""`make trigger`: the InvokeRestApi requests it builds, checked against a stubbed MWAA client."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode

import boto3
import pytest
from botocore.stub import Stubber

from music_contract import layout, names
from ops import trigger

ENVIRONMENT = "music-streams-dev-airflow"
RUN_ID = "manual__2026-11-25T18.00.00.000000Z"
default_run_id = trigger.default_run_id  # the real one (the fixture below fixes it for the other tests)
DAG = names.DAG_ID


@pytest.fixture(autouse=True)
def fixed_default_run_id(monkeypatch):
    monkeypatch.setattr(trigger, "default_run_id", lambda now=None: RUN_ID)


@pytest.fixture
def mwaa():
    client = boto3.client(
        "mwaa", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect(stubber, method, path, response, body=None, query=None, status=200):
    params = {"Name": ENVIRONMENT, "Path": path, "Method": method}
    if body is not None:
        params["Body"] = body
    if query is not None:
        params["QueryParameters"] = query
    stubber.add_response(
        "invoke_rest_api", {"RestApiStatusCode": status, "RestApiResponse": response}, params
    )


def expect_trigger(stubber):
    """The unpaused check and the run's POST of a plain `make trigger`."""
    expect(stubber, "GET", f"/dags/{DAG}", {"dag_id": DAG, "is_paused": False})
    expect(
        stubber,
        "POST",
        f"/dags/{DAG}/dagRuns",
        {"dag_run_id": RUN_ID},
        body={"logical_date": None, "conf": {}, "dag_run_id": RUN_ID},
    )


def expect_task_list(stubber, task_states):
    expect(
        stubber,
        "POST",
        "/dags/~/dagRuns/~/taskInstances/list",
        {"task_instances": [{"task_id": t, "state": s} for t, s in task_states.items()]},
        body={"dag_ids": [DAG], "dag_run_ids": [RUN_ID]},
    )


def expect_poll(stubber, run_state, task_states):
    expect(
        stubber,
        "GET",
        f"/dags/{DAG}/dagRuns",
        {"dag_runs": [{"dag_run_id": RUN_ID, "state": run_state}], "total_entries": 1},
        query={"run_id_pattern": RUN_ID, "order_by": "-run_after", "limit": 10},
    )
    expect_task_list(stubber, task_states)


def test_environment_name_comes_from_the_cdk_config():
    assert trigger.mwaa_environment_name("dev") == ENVIRONMENT
    assert trigger.mwaa_environment_name("prod") == "music-streams-prod-airflow"


def test_trigger_posts_the_conf_and_follows_the_run_to_success(mwaa, capsys, monkeypatch):
    client, stubber = mwaa
    monkeypatch.setattr(trigger.time, "sleep", lambda seconds: None)
    expect(stubber, "GET", f"/dags/{DAG}", {"dag_id": DAG, "is_paused": False})
    expect(
        stubber,
        "POST",
        f"/dags/{DAG}/dagRuns",
        {"dag_run_id": RUN_ID, "state": "queued"},
        body={"logical_date": None, "conf": {"note": "rerun"}, "dag_run_id": RUN_ID},
    )
    expect_poll(stubber, "running", {"validate_data_files": "running"})
    expect_poll(stubber, "running", {"validate_data_files": "success", "run_etl_job": "deferred"})
    expect_poll(stubber, "success", {"validate_data_files": "success", "run_etl_job": "success"})

    code = trigger.main(
        ["--env", "dev", "--conf", '{"note": "rerun"}', "--poll-seconds", "0"], mwaa_client=client
    )

    assert code == 0
    out = capsys.readouterr().out
    assert f"triggered {DAG} run {RUN_ID} on {ENVIRONMENT}" in out
    assert "run_etl_job: deferred" in out
    assert out.strip().endswith(f"run {RUN_ID}: success")


def test_a_failed_run_exits_non_zero(mwaa, capsys):
    client, stubber = mwaa
    expect_trigger(stubber)
    expect_poll(stubber, "failed", {"validate_columns": "failed"})
    failed_tasks = {
        "validate_data_files": "success",
        "validate_columns": "failed",
        "run_etl_job": "upstream_failed",
    }
    expect_task_list(stubber, failed_tasks)

    assert trigger.main(["--env", "dev"], mwaa_client=client) == 1
    out = capsys.readouterr().out
    assert f"run {RUN_ID}: failed" in out
    # What failed and where its logs are: MWAA's task log group, airflow-<environment>-Task.
    assert "failed task(s): run_etl_job (upstream_failed), validate_columns (failed)" in out
    assert f"task logs: CloudWatch log group airflow-{ENVIRONMENT}-Task" in out


def test_a_poll_that_mwaa_fails_once_is_tried_again_and_the_run_followed_to_its_end(mwaa, capsys):
    """An InvokeRestApi that outlives its 10 s is a RestApiServerException, which botocore does not
    retry: one such poll must not end the follow of a run that goes on."""
    client, stubber = mwaa
    expect_trigger(stubber)
    stubber.add_client_error(
        "invoke_rest_api",
        service_error_code="RestApiServerException",
        service_message="timed out",
        http_status_code=400,
        modeled_fields={"RestApiStatusCode": 504, "RestApiResponse": {"detail": "gateway timeout"}},
    )
    expect_poll(stubber, "success", {"run_etl_job": "success"})

    assert trigger.main(["--env", "dev", "--poll-seconds", "0"], mwaa_client=client) == 0
    out = capsys.readouterr().out
    assert f"could not read run {RUN_ID}" in out
    assert f"run {RUN_ID}: success" in out


def test_a_paused_dag_is_reported_or_unpaused_on_request(mwaa, capsys):
    client, stubber = mwaa
    expect(stubber, "GET", f"/dags/{DAG}", {"dag_id": DAG, "is_paused": True})
    assert trigger.main(["--env", "dev"], mwaa_client=client) == 1
    assert (
        "is paused: unpause it in the Airflow UI, or with make trigger TRIGGER_ARGS=--unpause"
        in capsys.readouterr().err
    )

    expect(stubber, "GET", f"/dags/{DAG}", {"dag_id": DAG, "is_paused": True})
    expect(stubber, "PATCH", f"/dags/{DAG}", {"dag_id": DAG, "is_paused": False}, body={"is_paused": False})
    expect(
        stubber,
        "POST",
        f"/dags/{DAG}/dagRuns",
        {"dag_run_id": "my-run"},
        body={"logical_date": None, "conf": {}, "dag_run_id": "my-run"},
    )
    assert (
        trigger.main(["--env", "dev", "--unpause", "--run-id", "my-run", "--no-wait"], mwaa_client=client)
        == 0
    )


def test_an_airflow_error_is_reported_with_its_status_and_detail(mwaa, capsys):
    client, stubber = mwaa
    stubber.add_client_error(
        "invoke_rest_api",
        service_error_code="RestApiClientException",
        service_message="Airflow said no",
        http_status_code=400,
        response_meta={},
        modeled_fields={"RestApiStatusCode": 404, "RestApiResponse": {"detail": "DAG not found"}},
    )
    assert trigger.main(["--env", "dev"], mwaa_client=client) == 1
    err = capsys.readouterr().err
    assert f"GET /dags/{DAG} on MWAA environment '{ENVIRONMENT}' failed 404" in err
    assert "DAG not found" in err


def test_bad_arguments_are_rejected_before_any_call(mwaa, capsys):
    client, _ = mwaa
    with pytest.raises(SystemExit):
        trigger.main(["--conf", "[1, 2]"], mwaa_client=client)
    assert "--conf must be a JSON object" in capsys.readouterr().err
    assert trigger.main(["--env", "staging"], mwaa_client=client) == 2
    assert "unknown environment 'staging'" in capsys.readouterr().err


def test_paths_longer_than_invoke_rest_api_allows_are_refused(mwaa):
    client, _ = mwaa
    runs = trigger.MwaaDagRuns(client, ENVIRONMENT)
    with pytest.raises(trigger.TriggerError, match="longer than InvokeRestApi's 64"):
        runs.call("GET", f"/dags/{DAG}/dagRuns/{RUN_ID}")


def test_the_default_run_id_survives_a_query_string():
    first = default_run_id(datetime(2026, 11, 25, 18, 0, 0, 1, tzinfo=UTC))
    assert first == "manual__2026-11-25T18.00.00.000001Z"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", first)
    assert quote(first, safe="") == first
    assert parse_qs(urlencode({"run_id_pattern": first}))["run_id_pattern"] == [first]
    assert layout.sanitize_run_id(first) == first  # keys and --run_id use it unchanged


def test_a_run_id_a_query_string_would_mangle_is_refused_before_any_call(mwaa, capsys):
    client, _ = mwaa
    with pytest.raises(SystemExit):
        trigger.main(["--run-id", "manual__2026-11-25T18:00:00+00:00"], mwaa_client=client)
    assert "use only letters, digits, '.', '_' and '-'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "conf"),
    [
        (["--recompute-dates", "2026-11-21,2026-11-20"], {"recompute_dates": ["2026-11-20", "2026-11-21"]}),
        (
            ["--replay-from", "2026-11-20", "--replay-to", "2026-11-21", "--conf", '{"note": "x"}'],
            {"note": "x", "replay_from": "2026-11-20", "replay_to": "2026-11-21"},
        ),
    ],
    ids=["recompute", "replay"],
)
def test_reprocessing_options_become_the_dags_params(argv, conf):
    assert trigger.parse_args(argv).conf == conf


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--recompute-dates", "2026-11-31"], "recompute_dates: '2026-11-31' is not a YYYY-MM-DD date"),
        (["--replay-from", "2026-11-20"], "replay_to: None is not a YYYY-MM-DD date"),
        (["--replay-from", "2026-11-21", "--replay-to", "2026-11-20"], "replay_to: 2026-11-20 is before"),
        (
            ["--recompute-dates", "2026-11-20", "--replay-from", "2026-11-20", "--replay-to", "2026-11-20"],
            "one kind of reprocessing per run",
        ),
    ],
    ids=["no-such-day", "no-replay-to", "reversed", "both"],
)
def test_bad_reprocessing_options_are_rejected_naming_the_param(mwaa, capsys, argv, message):
    client, _ = mwaa
    with pytest.raises(SystemExit):
        trigger.main(argv, mwaa_client=client)
    assert message in capsys.readouterr().err
