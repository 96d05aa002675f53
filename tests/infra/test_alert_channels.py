"""infra/alert_channels.py: Slack/Teams through AWS Chatbot and an incident tool over HTTPS, each only
when configured; and the Glue failure message they all receive (infra/monitoring/glue_failure_rule.py)."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, PipelineConfig, cdk_context
from tests.infra.conftest import OPTIONAL_PARTS
from tests.infra.policy_documents import statements

CHATBOT_TYPES = (
    "AWS::Chatbot::SlackChannelConfiguration",
    "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
)


def test_no_channel_when_its_keys_are_unset(each_env):
    for resource_type in CHATBOT_TYPES:
        assert not each_env.resources(resource_type)
    assert not [
        r
        for r in each_env.resources("AWS::SNS::Subscription").values()
        if r["Properties"]["Protocol"] == "https"
    ]
    assert not [
        r
        for r in each_env.resources("AWS::IAM::Role").values()
        if "chatbot" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]


def test_chat_channels_receive_the_topic_through_a_read_only_guardrail(with_optional_parts):
    synth = with_optional_parts
    assert synth.validation_error is None, synth.validation_error
    topic = {"Ref": synth.logical_id(synth.stack.alerting.topic)}
    role_id = synth.logical_id(synth.stack.alert_channels.role)
    expected_ids = {
        "AWS::Chatbot::SlackChannelConfiguration": {
            "SlackWorkspaceId": OPTIONAL_PARTS["slack_workspace_id"],
            "SlackChannelId": OPTIONAL_PARTS["slack_channel_id"],
        },
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration": {
            "TeamsTenantId": OPTIONAL_PARTS["teams_tenant_id"],
            "TeamId": OPTIONAL_PARTS["teams_team_id"],
            "TeamsChannelId": OPTIONAL_PARTS["teams_channel_id"],
        },
    }
    for resource_type, ids in expected_ids.items():
        channel = synth.only(resource_type)
        assert channel["SnsTopicArns"] == [topic]
        assert channel["GuardrailPolicies"] == [
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/ReadOnlyAccess"]]}
        ]
        assert channel["IamRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
        assert channel["UserRoleRequired"] is False
        assert {k: channel[k] for k in ids} == ids
    # The channel role reads this environment's alarms and nothing else.
    policies = [
        p["Properties"]
        for p in synth.resources("AWS::IAM::ManagedPolicy").values()
        if p["Properties"].get("Roles") == [{"Ref": role_id}]
    ]
    assert len(policies) == 1
    actions = {a for s in statements(policies[0]) for a in s["Action"]}
    assert actions == {"cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"}


def test_the_incident_tool_gets_an_https_subscription(with_optional_parts):
    subscriptions = [
        r["Properties"] for r in with_optional_parts.resources("AWS::SNS::Subscription").values()
    ]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [
        ("https", OPTIONAL_PARTS["incident_webhook_url"])
    ]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"incident_webhook_url": "http://events.example.com/x"}, "incident_webhook_url must be an https://"),
        ({"slack_workspace_id": "T0123ABCD"}, "Slack alerts need .*slack_channel_id not set"),
        (
            {"teams_tenant_id": "t", "teams_team_id": "x", "teams_channel_id": "19:abc@thread.tacv2"},
            "teams_channel_id must be URL-encoded",
        ),
        (
            {"teams_channel_id": "19%3aabc%40thread.tacv2"},
            "Teams alerts need .*teams_tenant_id, teams_team_id",
        ),
    ],
)
def test_incomplete_or_unsafe_channel_settings_are_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_context({**cdk_context(), **override})


def test_a_glue_failure_reads_as_one_line_with_environment_run_and_console_link(each_env):
    rule = each_env.only("AWS::Events::Rule")
    target = rule["Targets"][0]
    transformer = target["InputTransformer"]
    paths = transformer["InputPathsMap"]
    assert paths["detail-jobRunId"] == "$.detail.jobRunId"
    assert paths["detail-state"] == "$.detail.state"
    template = json.dumps(transformer["InputTemplate"])
    job = each_env.stack.names.glue_job
    # The chat line / e-mail title: environment, what failed, its state and the run id.
    assert f"[{each_env.env}] Glue job run <detail-state>: {job} run <detail-jobRunId>" in template
    # The link to act on: the Glue console's page of that run, in the stack's region.
    assert "console.aws.amazon.com/gluestudio/home?region=" in template
    assert f"#/job/{job}/run/<detail-jobRunId>" in template
    assert '\\"version\\":\\"1.0\\"' in template
    assert '\\"source\\":\\"custom\\"' in template
