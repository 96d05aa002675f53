"""The stack as a whole: its name, environment-agnostic template, resource types, outputs and tags.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Token
from aws_cdk.assertions import Match, Template

from music_contract import names, tables


def test_stack_name_and_environment_agnostic(each_env):
    stack = each_env.stack
    assert stack.stack_name == f"MusicStreams-{each_env.env}"
    assert stack.termination_protection is each_env.config.is_prod
    assert Token.is_unresolved(stack.account)
    assert Token.is_unresolved(stack.region)
    text = json.dumps(each_env.template)
    for region in ("us-east-1", "eu-west-1", "eu-central-1"):
        assert region not in text
    assert "Fn::GetAZs" in text  # the two AZs come from the region at deploy time


def test_every_resource_type_is_present(each_env):
    counts = {
        "AWS::KMS::Key": 2,  # the data key and the alert topic's key
        "AWS::S3::Bucket": 3,
        "AWS::DynamoDB::Table": 1,
        "AWS::Glue::Database": 1,
        "AWS::Glue::Table": len(tables.CURATED_TABLES) + 1,  # + the data-quality reports
        "AWS::Glue::SecurityConfiguration": 1,
        "AWS::Glue::Job": 1,
        "AWS::EC2::VPC": 1,
        "AWS::EC2::FlowLog": 1,
        "AWS::EC2::VPCEndpoint": 1,
        "AWS::MWAA::Environment": 1,
        # One parameter per Airflow Variable of the pipeline, plus the `aws_conn` connection.
        "AWS::SSM::Parameter": len(names.PIPELINE_VARIABLES) + 1,
        "Custom::CDKBucketDeployment": 3,  # dags/, requirements.txt, plugins.zip
        "AWS::SNS::Topic": 1,
        "AWS::Events::Rule": 1,
        "AWS::CloudWatch::Alarm": 6,  # kpi-freshness and kpi-first-report feed one composite
        "AWS::CloudWatch::CompositeAlarm": 1,
        "AWS::CloudWatch::Dashboard": 1,
        "AWS::Athena::WorkGroup": 1,
        "AWS::Athena::NamedQuery": 4,
    }
    template = Template.from_json(each_env.template)
    for resource_type, count in counts.items():
        template.resource_count_is(resource_type, count)


def test_outputs_name_what_users_need(each_env):
    outputs = each_env.template["Outputs"]
    for name in (
        "DataBucketName",
        "MwaaSourceBucketName",
        "AccessLogsBucketName",
        "KpiTableName",
        "GlueDatabaseName",
        "GlueJobName",
        "MwaaEnvironmentName",
        "MwaaWebserverUrl",
        "AlertTopicArn",
        "DashboardName",
    ):
        assert name in outputs, name
    assert outputs["KpiTableName"]["Value"] == {"Ref": each_env.logical_id(each_env.stack.kpi_store.table)}
    assert outputs["MwaaWebserverUrl"]["Value"] == {
        "Fn::GetAtt": [
            each_env.stack.get_logical_id(each_env.stack.mwaa.environment),
            "WebserverUrl",
        ]
    }


def test_template_uses_match_api_for_tags(each_env):
    Template.from_json(each_env.template).has_resource_properties(
        "AWS::MWAA::Environment",
        {"Tags": Match.object_like({"environment": each_env.env, "project": "music-streams"})},
    )


DEPLOYED_LOGICAL_IDS = Path(__file__).with_name("deployed_logical_ids.json")


def test_every_deployed_resource_keeps_its_logical_id(each_env):
    """A logical id that changes makes CloudFormation replace the resource (and fail on a named one):
    every resource of the deployed layout (before the per-concern split, infra/stack.py ID_LEFT_OUT_OF_LOGICAL_IDS)
    keeps its id and type. Remove an id from the file only when the resource is meant to go."""
    deployed = json.loads(DEPLOYED_LOGICAL_IDS.read_text()).get(each_env.env, {})  # a new env: none yet
    current = {logical_id: r["Type"] for logical_id, r in each_env.template["Resources"].items()}
    missing = {i: t for i, t in deployed.items() if current.get(i) != t}
    assert not missing, f"resources whose logical id or type changed (they would be replaced): {missing}"
