"""orchestration=serverless: every environment synthesizes with the three policy packs clean, with an
MWAA Serverless workflow and no MWAA environment, VPC, NAT, flow logs or endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, PipelineConfig, cdk_context

ABSENT_TYPES = (
    "AWS::MWAA::Environment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::VPC",
    "AWS::EC2::FlowLog",
    "AWS::EC2::VPCEndpoint",
)


@pytest.fixture(scope="module")
def serverless(tmp_path_factory) -> dict[str, Any]:
    """env -> (stack, template, synth error or None), every environment with orchestration=serverless."""
    from infra.application import build_app_with_every_environment

    outdir = tmp_path_factory.mktemp("cdk-serverless")
    context = {**cdk_context(), "env": "dev", "orchestration": "serverless", "schedule": "15 3 * * *"}
    app, stacks = build_app_with_every_environment(context=context, outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as err:  # a failed policy pack
        error = str(err)
    return {
        env: (stack, json.loads((outdir / f"{stack.stack_name}.template.json").read_text()), error, outdir)
        for env, stack in stacks.items()
    }


def _resources(template, resource_type):
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def test_every_environment_synthesizes_with_the_policy_packs_clean(serverless):
    assert set(serverless) >= {"dev", "prod"}
    for _stack, _template, error, _ in serverless.values():
        assert error is None, error


def test_no_mwaa_environment_and_no_network(serverless):
    for env, (_stack, template, _error, _) in serverless.items():
        present = [t for t in ABSENT_TYPES if _resources(template, t)]
        assert present == [], f"{env}: {present}"


def test_the_workflow_pins_its_definition_and_code_by_version_and_uses_the_stack_key(serverless):
    for _stack, template, _error, _ in serverless.values():
        (workflow,) = _resources(template, "AWS::MWAAServerless::Workflow")
        props = workflow["Properties"]
        assert props["DefinitionS3Location"]["VersionId"]
        assert props["Code"]["S3Location"]["VersionId"]
        assert props["EncryptionConfiguration"]["Type"] == "CUSTOMER_MANAGED_KEY"
        assert props["EncryptionConfiguration"]["KmsKeyId"]
        owned = template["Resources"][props["LoggingConfiguration"]["LogGroupName"]["Ref"]]
        assert owned["Type"] == "AWS::Logs::LogGroup"
        assert owned["Properties"]["KmsKeyId"]
        assert owned["Properties"]["RetentionInDays"]


def test_the_execution_role_trusts_only_this_workflow_of_this_account(serverless):
    for stack, template, _error, _ in serverless.values():
        role_id = stack.get_logical_id(stack.serverless.role.node.default_child)
        (statement,) = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "airflow-serverless.amazonaws.com"}
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


def test_runs_that_fail_reach_the_alert_topic_and_only_provisioned_has_a_scheduler_alarm(serverless):
    for stack, template, _error, _ in serverless.values():
        rules = [r["Properties"] for r in _resources(template, "AWS::Events::Rule")]
        workflow_rules = [r for r in rules if r["EventPattern"].get("source") == ["aws.airflow-serverless"]]
        assert len(workflow_rules) == 1
        target = workflow_rules[0]["Targets"][0]
        assert target["Arn"] == {"Ref": stack.get_logical_id(stack.alerting.topic.node.default_child)}
        assert '"version":"1.0"' in target["InputTransformer"]["InputTemplate"].replace(" ", "")
        assert "mwaa_scheduler_heartbeat" not in stack.monitoring.alarms
        assert "kpi_freshness" in stack.monitoring.alarms


def test_the_schedule_reaches_the_workflow_definition(serverless):
    stack = serverless["dev"][0]
    (dag,) = stack.serverless.definition.values()
    assert dag["schedule"] == "15 3 * * *"


def test_a_glue_timeout_longer_than_the_task_cap_is_refused_naming_the_keys():
    with pytest.raises(ConfigError, match="glue_timeout_minutes=600 with orchestration=serverless"):
        PipelineConfig.load("dev", overrides={"orchestration": "serverless", "glue_timeout_minutes": "600"})
    PipelineConfig.load("dev", overrides={"glue_timeout_minutes": "600"})  # provisioned: fine


def test_bad_orchestration_values_are_refused():
    with pytest.raises(ConfigError, match="orchestration must be one of"):
        PipelineConfig.load("dev", overrides={"orchestration": "lambda"})
    with pytest.raises(ConfigError, match="schedule applies to orchestration=serverless"):
        PipelineConfig.load("dev", overrides={"schedule": "15 3 * * *"})
    with pytest.raises(ConfigError, match="five-field cron"):
        PipelineConfig.load("dev", overrides={"orchestration": "serverless", "schedule": "@daily"})


def test_the_outputs_tell_ops_which_orchestrator_runs_the_pipeline(serverless):
    from ops import orchestrators
    from ops.report.sources import BUCKET_OUTPUT, TABLE_OUTPUT

    for _stack, template, _error, _ in serverless.values():
        outputs = template["Outputs"]
        assert outputs[orchestrators.OUTPUT_MODE]["Value"] == orchestrators.SERVERLESS
        assert orchestrators.OUTPUT_WORKFLOW_ARN in outputs
        assert orchestrators.OUTPUT_ENVIRONMENT not in outputs
        assert {TABLE_OUTPUT, BUCKET_OUTPUT} <= set(outputs)  # make report reads these in both modes


def test_the_serverless_templates_have_no_cfn_lint_errors(serverless):
    templates = [
        str(outdir / f"{stack.stack_name}.template.json") for stack, _t, _e, outdir in serverless.values()
    ]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", *templates], capture_output=True, text=True, timeout=600
    )
    assert result.returncode & ~(2 | 4 | 8) == 0, result.stderr
    errors = [
        f"{f['Rule']['Id']}: {f['Message']}"
        for f in json.loads(result.stdout or "[]")
        if f["Level"] == "Error"
    ]
    assert not errors
