"""Alerting: the SNS topic every alarm and failure event goes to, with its own key and a topic
policy that admits each publisher only for this account's own alarms and rule."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import ResourceNames
from infra.keys import restrict_grants_to_aws_services


@dataclass(frozen=True)
class AlertingProps:
    """The environment the alerts are for. The topic gets its own key: the data key stays out of
    the alert path."""

    # Resource names: the topic, the alarm prefix and the Glue failure rule allowed to publish.
    names: ResourceNames
    # The e-mail address subscribed to the topic (``alert_email``); none when empty.
    alert_email: str = ""


class Alerting(Construct):
    """The SNS topic every alarm and failure event goes to (``topic``), encrypted with its own key
    (``key``), TLS only, with an e-mail subscription when ``alert_email`` is set.

    A stack-defined topic policy replaces SNS's default one, so every publisher is allowed here,
    each only for this account and its own resources (aws:SourceAccount, aws:SourceArn).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AlertingProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.key = kms.Key(
            self,
            "Key",
            description=f"{names.prefix}: alert topic encryption (alarms and EventBridge publish with it)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,  # holds no data at rest beyond undelivered alerts
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=names.alert_topic,
            display_name=f"{names.prefix} pipeline alerts",
            enforce_ssl=True,
        )
        # Set on the L1: the L2's master_key would make EventBridge targets add an unconditioned grant.
        cfn_topic = self.topic.node.default_child
        assert isinstance(cfn_topic, sns.CfnTopic)
        cfn_topic.kms_master_key_id = self.key.key_arn
        restrict_grants_to_aws_services(self.key)
        if props.alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.alert_email))

        self._allow_publishers(names)

    def _allow_publishers(self, names: ResourceNames) -> None:
        """The topic policy and key policy statements that let this environment's alarms and its Glue
        failure rule publish, each for this account and its own resources only."""
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        alarm_arns = f"arn:{Aws.PARTITION}:cloudwatch:{region_account}:alarm:{names.alarm_prefix}*"
        rule_arn = f"arn:{Aws.PARTITION}:events:{region_account}:rule/{names.glue_failure_rule}"
        this_account = {"aws:SourceAccount": Aws.ACCOUNT_ID}
        publishers = {
            # CloudWatch alarms (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html)
            "CloudWatchAlarms": ("cloudwatch.amazonaws.com", {"ArnLike": {"aws:SourceArn": alarm_arns}}),
            "GlueFailureRule": ("events.amazonaws.com", {"ArnEquals": {"aws:SourceArn": rule_arn}}),
        }
        for sid, (service, source) in publishers.items():
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AllowPublishFrom{sid}",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": this_account, **source},
                )
            )
        # Both services need the key to publish to an encrypted topic
        # (docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
        # SNS sets the encryption context aws:sns:topicArn, which ties each grant to this topic;
        # CloudWatch also passes aws:SourceArn, EventBridge does not (so its grant has no source condition).
        # The ARN from the name, not a reference: the topic already references the key.
        topic_arn = f"arn:{Aws.PARTITION}:sns:{region_account}:{names.alert_topic}"
        topic_context = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
        key_users = {
            "CloudWatchAlarms": (
                "cloudwatch.amazonaws.com",
                {"StringEquals": {**topic_context, **this_account}, "ArnLike": {"aws:SourceArn": alarm_arns}},
            ),
            "EventBridge": ("events.amazonaws.com", {"StringEquals": topic_context}),
        }
        for sid, (service, conditions) in key_users.items():
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{sid}ToPublishToTheAlertTopic",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions=conditions,
                )
            )


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """An SNS topic as a rule target, without the unconditioned topic-policy and key grants CDK's
    ``targets.SnsTopic`` adds (`Alerting` grants the rule by its ARN instead)."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self.topic = topic
        self.message = message

    def bind(self, _rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self.topic.topic_arn, input=self.message)
