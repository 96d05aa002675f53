"""The emulator's MWAA Serverless runs, through `ops.orchestrators.ServerlessWorkflowRuns` and boto3's
``mwaa-serverless`` client (what `make trigger` and `make smoke` call on a serverless deployment)."""

from __future__ import annotations

import threading

import boto3
import pytest

from local_run.moto_mwaa_serverless import run_queued, serving_workflow
from ops.orchestrators import OrchestratorError, ServerlessWorkflowRuns

ARN = "arn:aws:airflow-serverless:us-east-1:123456789012:workflow/music-streams-test-pipeline"


def _follow_while_serving(api: ServerlessWorkflowRuns, run_ids: list[str]) -> dict[str, str]:
    """Follow `run_ids` on a client thread while this (main) thread runs the queued runs."""
    states: dict[str, str] = {}
    client = threading.Thread(
        target=lambda: states.update(
            {r: api.follow(r, poll_seconds=0.05, timeout_seconds=30) for r in run_ids}
        )
    )
    client.start()
    run_queued(until=lambda: not client.is_alive())
    return states


def test_a_run_gets_its_parameters_and_reports_its_end_and_a_token_starts_one_run(moto_server):
    seen: list[dict] = []
    api = ServerlessWorkflowRuns(boto3.client("mwaa-serverless"), ARN)
    with serving_workflow(ARN, lambda params: seen.append(dict(params)) or "success"):
        first = api.trigger({"recompute_dates": ["2026-11-20", "2026-11-21"]}, "token-1")
        again = api.trigger({"recompute_dates": ["2026-11-20", "2026-11-21"]}, "token-1")
        second = api.trigger({}, "token-2")
        assert api.run_state(first) == "STARTING"  # queued until the host runs it
        states = _follow_while_serving(api, [first, second])
    assert again == first
    assert seen[0] == {"recompute_dates": "2026-11-20,2026-11-21"}
    assert len(seen) == 2
    assert states == {first: "success", second: "success"}


def test_a_runner_failure_fails_the_run_and_an_unknown_workflow_is_not_found(moto_server):
    api = ServerlessWorkflowRuns(boto3.client("mwaa-serverless"), ARN)

    def broken(params):
        raise RuntimeError("the DAG does not import")

    with serving_workflow(ARN, broken):
        run_id = api.trigger({}, "token-broken")
        assert _follow_while_serving(api, [run_id]) == {run_id: "failed"}
    detail = boto3.client("mwaa-serverless").get_workflow_run(WorkflowArn=ARN, RunId=run_id)["RunDetail"]
    assert detail["RunState"] == "FAILED"
    assert "the DAG does not import" in detail["ErrorMessage"]
    with pytest.raises(OrchestratorError, match="not found"):
        ServerlessWorkflowRuns(boto3.client("mwaa-serverless"), ARN + "-gone").trigger({}, "t")
