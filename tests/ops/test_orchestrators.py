"""`make trigger` against either orchestrator, chosen from the deployed stack's outputs: the
CloudFormation and mwaa-serverless requests, checked against stubbed clients (botocore's own models)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from music_contract import reprocess
from ops import orchestrators, trigger

STACK = "MusicStreams-dev"
WORKFLOW_ARN = "arn:aws:airflow-serverless:us-east-1:123456789012:workflow/music-streams-dev-pipeline-abc"
RUN_ID = "manual__2026-11-25T18.00.00.000000Z"
SERVICE_RUN_ID = "run-0123456789"


@pytest.fixture(autouse=True)
def fixed_default_run_id(monkeypatch):
    monkeypatch.setattr(trigger, "default_run_id", lambda now=None: RUN_ID)


def _client(service):
    return boto3.client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def clients():
    cloudformation, serverless = _client("cloudformation"), _client("mwaa-serverless")
    with Stubber(cloudformation) as cfn_stub, Stubber(serverless) as run_stub:
        yield cloudformation, cfn_stub, serverless, run_stub
        cfn_stub.assert_no_pending_responses()
        run_stub.assert_no_pending_responses()


def _stack_outputs(stub, outputs):
    stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK,
                    "CreationTime": "2026-12-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": STACK},
    )


def _run_state(stub, state):
    stub.add_response(
        "get_workflow_run",
        {"WorkflowArn": WORKFLOW_ARN, "RunId": SERVICE_RUN_ID, "RunDetail": {"RunState": state}},
        {"WorkflowArn": WORKFLOW_ARN, "RunId": SERVICE_RUN_ID},
    )


def test_the_stack_outputs_choose_the_orchestrator(clients):
    cloudformation, cfn_stub, _serverless, _run_stub = clients
    _stack_outputs(cfn_stub, {"OrchestrationMode": "serverless", "ServerlessWorkflowArn": WORKFLOW_ARN})
    assert orchestrators.deployed(STACK, cloudformation) == orchestrators.Deployed("serverless", WORKFLOW_ARN)
    _stack_outputs(cfn_stub, {"MwaaEnvironmentName": "music-streams-dev-airflow"})  # before the output
    assert orchestrators.deployed(STACK, cloudformation).mode == "provisioned"


def test_a_recompute_starts_a_workflow_run_with_string_params_and_follows_it(clients, capsys):
    cloudformation, cfn_stub, serverless, run_stub = clients
    _stack_outputs(cfn_stub, {"OrchestrationMode": "serverless", "ServerlessWorkflowArn": WORKFLOW_ARN})
    run_stub.add_response(
        "start_workflow_run",
        {"RunId": SERVICE_RUN_ID, "Status": "STARTING"},
        {
            "WorkflowArn": WORKFLOW_ARN,
            "ClientToken": RUN_ID,
            "OverrideParameters": {reprocess.PARAM_RECOMPUTE_DATES: "2026-11-20,2026-11-21"},
        },
    )
    for state in ("QUEUED", "RUNNING", "SUCCESS"):
        _run_state(run_stub, state)
    argv = ["--env", "dev", "--recompute-dates", "2026-11-20,2026-11-21", "--poll-seconds", "0"]
    assert trigger.main(argv, serverless_client=serverless, cloudformation=cloudformation) == 0
    out = capsys.readouterr().out
    assert f"workflow run {SERVICE_RUN_ID}: RUNNING" in out
    assert f"run {SERVICE_RUN_ID}: success" in out


def test_a_failed_or_timed_out_workflow_run_exits_non_zero_saying_why_and_where_the_logs_are(clients, capsys):
    cloudformation, cfn_stub, serverless, run_stub = clients
    _stack_outputs(cfn_stub, {"OrchestrationMode": "serverless", "ServerlessWorkflowArn": WORKFLOW_ARN})
    run_stub.add_response(
        "start_workflow_run",
        {"RunId": SERVICE_RUN_ID, "Status": "STARTING"},
        {"WorkflowArn": WORKFLOW_ARN, "ClientToken": RUN_ID, "OverrideParameters": {}},
    )
    _run_state(run_stub, "TIMEOUT")
    run_stub.add_response(
        "get_workflow_run",
        {
            "WorkflowArn": WORKFLOW_ARN,
            "RunId": SERVICE_RUN_ID,
            "RunDetail": {"RunState": "TIMEOUT", "ErrorMessage": "run_etl_job exceeded its timeout"},
        },
        {"WorkflowArn": WORKFLOW_ARN, "RunId": SERVICE_RUN_ID},
    )
    assert (
        trigger.main(
            ["--env", "dev", "--poll-seconds", "0"],
            serverless_client=serverless,
            cloudformation=cloudformation,
        )
        == 1
    )
    out = capsys.readouterr().out
    assert f"on {WORKFLOW_ARN}" in out  # the workflow, not an MWAA environment the stack does not have
    assert "the service says: run_etl_job exceeded its timeout" in out
    assert "task logs: CloudWatch log group /aws/mwaa-serverless/music-streams-dev-pipeline" in out


def test_a_missing_stack_is_one_clear_error(clients, capsys):
    cloudformation, cfn_stub, serverless, _run_stub = clients
    cfn_stub.add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )
    assert trigger.main(["--env", "dev"], serverless_client=serverless, cloudformation=cloudformation) == 1
    assert f"stack {STACK} is not deployed in us-east-1" in capsys.readouterr().err


def test_replay_params_become_strings():
    conf = {reprocess.PARAM_REPLAY_FROM: "2026-11-20", reprocess.PARAM_REPLAY_TO: "2026-11-21", "none": None}
    assert orchestrators.serverless_params(conf) == {
        reprocess.PARAM_REPLAY_FROM: "2026-11-20",
        reprocess.PARAM_REPLAY_TO: "2026-11-21",
        "none": "",
    }


def test_the_follow_loop_shows_each_change_once_and_times_out_with_the_given_error(capsys):
    looks = iter(["QUEUED", "QUEUED", "RUNNING", "RUNNING"])
    now = iter([0, 10, 20, 30, 40])

    def look():
        state = next(looks)
        return orchestrators.RunProgress(state, None, {"task": state})

    with pytest.raises(KeyError, match="run r1 still RUNNING after 25 s"):
        orchestrators.follow_run(
            look,
            "r1",
            poll_seconds=0,
            timeout_seconds=25,
            sleep=lambda s: None,
            clock=lambda: next(now),
            timeout_error=KeyError,
        )
    assert capsys.readouterr().out == "  task: QUEUED\n  task: RUNNING\n"


def _looks(*outcomes):
    """A look that raises or returns each outcome in turn (an exception, or a run state)."""
    pending = iter(outcomes)

    def look():
        outcome = next(pending)
        if isinstance(outcome, Exception):
            raise outcome
        return orchestrators.RunProgress(
            outcome, "success" if outcome == "SUCCESS" else None, {"run": outcome}
        )

    return look


def _follow(look, **options):
    return orchestrators.follow_run(
        look, "r1", poll_seconds=30, timeout_seconds=3600, sleep=lambda s: None, clock=lambda: 0, **options
    )


def test_a_failed_look_is_tried_again_at_the_next_poll_and_the_follow_goes_on(capsys):
    failed = orchestrators.OrchestratorError("GetWorkflowRun timed out")
    look = _looks("RUNNING", failed, failed, "RUNNING", failed, "SUCCESS")

    assert _follow(look) == "success"
    out = capsys.readouterr().out
    assert out.count("could not read run r1 (GetWorkflowRun timed out); trying again in 30 s") == 3
    assert out.count("run: RUNNING") == 1


def test_looks_failing_in_a_row_end_the_follow_with_the_last_error_and_others_end_it_at_once():
    failures = [
        orchestrators.OrchestratorError(f"failure {n}") for n in range(orchestrators.MAX_FAILED_LOOKS)
    ]
    with pytest.raises(
        orchestrators.OrchestratorError, match=f"failure {orchestrators.MAX_FAILED_LOOKS - 1}"
    ):
        _follow(_looks("RUNNING", *failures, "SUCCESS"))
    with pytest.raises(KeyError):
        _follow(_looks("RUNNING", KeyError("a bug, not a failed call"), "SUCCESS"))
