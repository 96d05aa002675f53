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
