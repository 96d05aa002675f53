"""`make smoke` reads the orchestrator as `make trigger` does (`ops.orchestrators`, one reading of the
stack's outputs) and triggers through that mode's API. (End to end: tests/e2e/test_local_airflow.py
in provisioned mode, tests/e2e/test_serverless_e2e.py in serverless mode.)"""

from __future__ import annotations

import pytest

from ops import orchestrators, smoke
from ops.trigger import MwaaDagRuns

WORKFLOW_ARN = "arn:aws:airflow-serverless:us-east-1:123456789012:workflow/music-streams-dev-pipeline"
DATA = {"DataBucketName": "bucket", "KpiTableName": "table"}


class FakeCloudFormation:
    def __init__(self, outputs: dict[str, str]):
        self.outputs = outputs

    def describe_stacks(self, StackName):
        return {
            "Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]
        }


class FakeSession:
    region_name = "us-east-1"

    def client(self, name):
        return f"{name} client"


@pytest.mark.parametrize(
    ("outputs", "mode", "runs"),
    [
        (
            {"OrchestrationMode": "serverless", "ServerlessWorkflowArn": WORKFLOW_ARN},
            "serverless",
            smoke.WorkflowRuns,
        ),
        ({"OrchestrationMode": "provisioned", "MwaaEnvironmentName": "env"}, "provisioned", smoke.DagRuns),
        ({"MwaaEnvironmentName": "env"}, "provisioned", smoke.DagRuns),  # a stack from before the mode output
    ],
)
def test_the_mode_comes_from_the_stack_outputs_and_picks_the_runs_api(outputs, mode, runs):
    deployment = smoke.Deployment.from_stack(
        FakeCloudFormation({**DATA, **outputs}), "MusicStreams-dev", "dev"
    )
    assert (deployment.bucket, deployment.table, deployment.orchestration) == ("bucket", "table", mode)
    chosen = smoke.pipeline_runs(deployment, FakeSession())
    assert isinstance(chosen, runs)
    if mode == "serverless":
        assert isinstance(chosen.api, orchestrators.ServerlessWorkflowRuns)
        assert (chosen.api.client, chosen.api.workflow_arn) == ("mwaa-serverless client", WORKFLOW_ARN)
    else:
        assert isinstance(chosen.api, MwaaDagRuns)


def test_a_serverless_stack_without_its_workflow_output_is_one_clear_error():
    cloudformation = FakeCloudFormation({**DATA, "OrchestrationMode": "serverless"})
    with pytest.raises(orchestrators.OrchestratorError, match="no output ServerlessWorkflowArn"):
        smoke.Deployment.from_stack(cloudformation, "MusicStreams-dev", "dev")


class FollowedRuns:
    """A `PipelineRuns` whose follow ends in `outcome`: a final state, or an exception (it gave up)."""

    def __init__(self, outcome):
        self.outcome = outcome

    def start(self, run_id: str) -> str:
        return run_id

    def wait(self, run_id: str, poll_seconds: float, timeout_seconds: float) -> str:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class StackSession:
    region_name = "us-east-1"

    def client(self, name):
        return (
            FakeCloudFormation({**DATA, "MwaaEnvironmentName": "env"}) if name == "cloudformation" else name
        )

    def resource(self, name):
        return name


@pytest.mark.parametrize(
    ("outcome", "cleaned_up"),
    [("failed", True), (smoke.TriggerError("run r still running after 5400 s"), False)],
    ids=["run-ended", "follow-gave-up"],
)
def test_smoke_cleans_up_only_once_the_run_is_seen_to_end(monkeypatch, capsys, outcome, cleaned_up):
    """A cleanup while the run may still be writing would race it and leave what it writes after."""
    cleanups = []
    monkeypatch.setattr(smoke, "refuse_while_raw_files_wait", lambda s3, bucket: None)
    monkeypatch.setattr(smoke, "freshness_samples", lambda session, env, since: 0)
    monkeypatch.setattr(smoke, "write_batch", lambda s3, bucket, root, key, options: "a batch")
    monkeypatch.setattr(smoke, "pipeline_runs", lambda deployment, session, url=None: FollowedRuns(outcome))
    monkeypatch.setattr(smoke, "clean_up", lambda *args: cleanups.append(args) or "removed")

    with pytest.raises((smoke.SmokeError, smoke.TriggerError)):
        smoke.run_smoke(smoke.Options(env="dev"), StackSession(), smoke.Steps(), run_id="smoke__r")

    assert bool(cleanups) is cleaned_up
    out = capsys.readouterr().out
    assert ("run smoke__r was not seen to end, so it may still be writing" in out) is not cleaned_up
