"""Alert channels: where the alert topic's messages reach people besides e-mail. Slack and Microsoft
Teams through AWS Chatbot (Amazon Q Developer in chat applications), and an incident tool
(PagerDuty, Opsgenie, ...) through an HTTPS subscription. Each exists only when its keys are set.

The topic is encrypted with the alert key; neither Chatbot nor the HTTPS endpoint needs that key:
SNS decrypts a message itself before it delivers it to any subscribed endpoint, and Chatbot
receives over its own HTTPS subscription (docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html:
only publishers need kms:GenerateDataKey*/kms:Decrypt). Chatbot creates that subscription with the
caller's (CloudFormation's) permissions, which the account's own identity policies grant; the topic
policy is not involved (docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-sns-setup.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import ResourceNames
from infra.nag import acknowledge

# The channel's guardrail: whatever the channel role allows, nobody acts through the channel beyond
# read-only (GuardrailPolicies, AWS::Chatbot::SlackChannelConfiguration; the default is
# AdministratorAccess, so it is always set).
GUARDRAIL_POLICY = "ReadOnlyAccess"
# Chatbot logs only errors (LoggingLevel ERROR | INFO | NONE).
CHATBOT_LOGGING_LEVEL = "ERROR"


@dataclass(frozen=True)
class AlertChannelsProps:
    """The topic and which channels receive it: each one whose ids are set (the configuration keys of
    the same names; `infra.config_limits.check_alert_channels` checked them)."""

    # Resource names: the channel configurations' names.
    names: ResourceNames
    # The alert topic (`Alerting.topic`).
    topic: sns.ITopic
    # Slack through AWS Chatbot: the authorized workspace and the channel.
    slack_workspace_id: str = ""
    slack_channel_id: str = ""
    # Microsoft Teams through AWS Chatbot: the tenant, the authorized team and the channel.
    teams_tenant_id: str = ""
    teams_team_id: str = ""
    teams_channel_id: str = ""
    # An incident tool's HTTPS integration URL, subscribed to the topic.
    incident_webhook_url: str = ""


class AlertChannels(Construct):
    """``chat_channels`` (by application: ``Slack``, ``Teams``), their ``role`` (None without a chat
    channel), and ``incident_subscription`` (None without ``incident_webhook_url``)."""

    def __init__(self, scope: Construct, construct_id: str, props: AlertChannelsProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.chat_channels: dict[str, object] = {}
        self.role: iam.Role | None = None
        if props.slack_workspace_id or props.teams_tenant_id:
            self.role = self._channel_role(names)
            guardrails = [f"arn:{Aws.PARTITION}:iam::aws:policy/{GUARDRAIL_POLICY}"]
            common = {
                "iam_role_arn": self.role.role_arn,
                "guardrail_policies": guardrails,
                "logging_level": CHATBOT_LOGGING_LEVEL,
                "sns_topic_arns": [props.topic.topic_arn],
                "user_role_required": False,
            }
            if props.slack_workspace_id:
                self.chat_channels["Slack"] = chatbot.CfnSlackChannelConfiguration(
                    self,
                    "Slack",
                    configuration_name=f"{names.chat_channel_configuration}-slack",
                    slack_workspace_id=props.slack_workspace_id,
                    slack_channel_id=props.slack_channel_id,
                    **common,
                )
            if props.teams_tenant_id:
                self.chat_channels["Teams"] = chatbot.CfnMicrosoftTeamsChannelConfiguration(
                    self,
                    "Teams",
                    configuration_name=f"{names.chat_channel_configuration}-teams",
                    teams_tenant_id=props.teams_tenant_id,
                    team_id=props.teams_team_id,
                    teams_channel_id=props.teams_channel_id,
                    **common,
                )
        self.incident_subscription: sns.Subscription | None = None
        if props.incident_webhook_url:
            # The incident tool confirms the subscription itself (PagerDuty's and Opsgenie's
            # CloudWatch/SNS integrations visit the SubscribeURL); SNS retries HTTPS deliveries.
            self.incident_subscription = sns.Subscription(
                self,
                "IncidentTool",
                topic=props.topic,
                protocol=sns.SubscriptionProtocol.HTTPS,
                endpoint=props.incident_webhook_url,
            )

    def _channel_role(self, names: ResourceNames) -> iam.Role:
        """The role Chatbot assumes: it only reads the alarms and charts it renders in the channel."""
        role = iam.Role(
            self,
            "ChannelRole",
            assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
            description=f"{names.prefix}: AWS Chatbot channels showing the alert topic's notifications",
        )
        policy = iam.ManagedPolicy(
            self,
            "ChannelPolicy",
            description=f"{names.prefix}: read this environment's alarms for chat notifications",
            statements=[
                iam.PolicyStatement(
                    sid="DescribeThisEnvironmentsAlarms",
                    actions=["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
                    resources=[
                        f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:{names.alarm_prefix}*"
                    ],
                ),
            ],
            roles=[role],
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:"
            f"alarm:{names.alarm_prefix}*]",
            "the alarms of this environment: every alarm is named with its alarm prefix (AlarmFactory).",
        )
        return role
