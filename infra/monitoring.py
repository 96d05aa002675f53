"""Alerting and monitoring: the alert topic, Glue failure events, CloudWatch alarms, a dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import Aws, CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import PipelineConfig, ResourceNames
from infra.storage import restrict_grants_to_aws_services

# Glue job states that mean "the KPIs of this run did not land".
GLUE_FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR")
MWAA_NAMESPACE = "AmazonMWAA"
FIVE_MINUTES = Duration.minutes(5)
# Without a scheduler heartbeat this long, the alarm fires. Longer than an MWAA environment update
# (the scheduler is replaced and publishes nothing meanwhile), short enough to catch a dead one.
HEARTBEAT_SILENCE = Duration.hours(1)
# The "Type" dimension Glue publishes each job metric with (Glue's metric list:
# docs.aws.amazon.com/glue/latest/dg/monitoring-awsglue-with-cloudwatch-metrics.html):
# aggregate counters are "count", filesystem bytes and JVM figures are "gauge" (as cdklabs'
# cdk-monitoring-constructs GlueJobMetricFactory also publishes them).
GLUE_METRIC_TYPES = {
    "glue.driver.aggregate.numFailedTasks": "count",
    "glue.driver.aggregate.recordsRead": "count",
    "glue.ALL.s3.filesystem.read_bytes": "gauge",
}


def glue_job_metric(job_name: str, metric_name: str, label: str) -> cloudwatch.Metric:
    """A Glue job metric across all runs (``JobRunId=ALL``) with the ``Type`` Glue publishes it with."""
    return cloudwatch.Metric(
        namespace="Glue",
        metric_name=metric_name,
        dimensions_map={"JobName": job_name, "JobRunId": "ALL", "Type": GLUE_METRIC_TYPES[metric_name]},
        statistic="Sum",
        period=FIVE_MINUTES,
        label=label,
    )


@dataclass(frozen=True)
class AlertingProps:
    """``config``/``names``: the environment; the topic gets its own key (the data key stays out of
    the alert path)."""

    config: PipelineConfig
    names: ResourceNames


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
        if props.config.alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.config.alert_email))

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


@dataclass(frozen=True)
class MonitoringProps:
    """What to watch: the Glue job, the KPI table and the MWAA environment; ``topic`` gets the alerts."""

    names: ResourceNames
    topic: sns.ITopic
    glue_job_name: str
    kpi_table: dynamodb.ITable
    mwaa_environment_name: str
    # The MWAA environment: its alarms are created once it is available, not during its create.
    mwaa_environment: CfnResource


class Monitoring(Construct):
    """Glue failure rule (``glue_failure_rule``), alarms (``alarms`` by purpose) and ``dashboard``."""

    def __init__(self, scope: Construct, construct_id: str, props: MonitoringProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.glue_failure_rule = events.Rule(
            self,
            "GlueJobFailed",
            rule_name=names.glue_failure_rule,
            description=f"{props.glue_job_name} failed, timed out or errored",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [props.glue_job_name], "state": list(GLUE_FAILURE_STATES)},
            ),
        )
        self.glue_failure_rule.add_target(
            TopicTarget(
                props.topic,
                events.RuleTargetInput.from_text(
                    f"Glue job {events.EventField.from_path('$.detail.jobName')} run "
                    f"{events.EventField.from_path('$.detail.jobRunId')} ended "
                    f"{events.EventField.from_path('$.detail.state')}: "
                    f"{events.EventField.from_path('$.detail.message')}"
                ),
            )
        )

        # Every matched failure event counts once in TriggeredRules: an alarm per failed run.
        glue_failures = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.glue_failure_rule.rule_name},
            statistic="Sum",
            period=FIVE_MINUTES,
            label="Glue job failures",
        )
        dynamodb_throttles = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": props.kpi_table.metric("ReadThrottleEvents", statistic="Sum", period=FIVE_MINUTES),
                "writes": props.kpi_table.metric("WriteThrottleEvents", statistic="Sum", period=FIVE_MINUTES),
            },
            label="KPI table throttled requests",
            period=FIVE_MINUTES,
        )
        mwaa_dimensions = {"Environment": props.mwaa_environment_name}
        scheduler_heartbeat = cloudwatch.Metric(
            namespace=MWAA_NAMESPACE,
            metric_name="SchedulerHeartbeat",
            dimensions_map={**mwaa_dimensions, "Function": "Scheduler"},
            statistic="Sum",
            period=FIVE_MINUTES,
            label="Scheduler heartbeats",
        )
        queued_tasks = cloudwatch.Metric(
            namespace=MWAA_NAMESPACE,
            metric_name="QueuedTasks",
            dimensions_map={**mwaa_dimensions, "Function": "Executor"},
            statistic="Maximum",
            period=FIVE_MINUTES,
            label="Queued tasks",
        )
        running_tasks = cloudwatch.Metric(
            namespace=MWAA_NAMESPACE,
            metric_name="RunningTasks",
            dimensions_map={**mwaa_dimensions, "Function": "Executor"},
            statistic="Maximum",
            period=FIVE_MINUTES,
            label="Running tasks",
        )

        self.alarms = {
            "glue_failures": glue_failures.create_alarm(
                self,
                "GlueJobFailuresAlarm",
                alarm_name=f"{names.alarm_prefix}glue-job-failures",
                alarm_description=f"{props.glue_job_name} ended FAILED, TIMEOUT or ERROR",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "dynamodb_throttles": dynamodb_throttles.create_alarm(
                self,
                "KpiTableThrottlesAlarm",
                alarm_name=f"{names.alarm_prefix}kpi-table-throttles",
                alarm_description=f"{names.kpi_table} throttled reads or writes",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # No heartbeat for an hour: the scheduler is down and no DAG runs start. A dead scheduler
            # publishes nothing, so missing data must breach; the window outlasts an environment update.
            "mwaa_scheduler_heartbeat": scheduler_heartbeat.create_alarm(
                self,
                "SchedulerHeartbeatAlarm",
                alarm_name=f"{names.alarm_prefix}mwaa-scheduler-heartbeat",
                alarm_description=(
                    f"{props.mwaa_environment_name}: no scheduler heartbeat for "
                    f"{HEARTBEAT_SILENCE.to_minutes()} minutes"
                ),
                threshold=1,
                evaluation_periods=int(HEARTBEAT_SILENCE.to_minutes() // FIVE_MINUTES.to_minutes()),
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
            # Tasks queued for 30 minutes: workers cannot keep up or cannot start.
            "mwaa_queued_tasks": queued_tasks.create_alarm(
                self,
                "QueuedTasksAlarm",
                alarm_name=f"{names.alarm_prefix}mwaa-queued-tasks",
                alarm_description=f"{props.mwaa_environment_name}: tasks queued for 30 minutes",
                threshold=1,
                evaluation_periods=6,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        }
        # MWAA publishes nothing until the environment is AVAILABLE (30-40 minutes after its create starts).
        for alarm in (self.alarms["mwaa_scheduler_heartbeat"], self.alarms["mwaa_queued_tasks"]):
            alarm.node.add_dependency(props.mwaa_environment)
        alarm_action = cw_actions.SnsAction(props.topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(alarm_action)
            alarm.add_ok_action(alarm_action)

        job = props.glue_job_name
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{names.prefix}-pipeline",
            default_interval=Duration.days(7),
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# {names.prefix} pipeline\nMWAA `{props.mwaa_environment_name}` runs "
                    f"`{props.glue_job_name}`, which writes KPIs to `{names.kpi_table}`."
                ),
                width=24,
                height=2,
            ),
            cloudwatch.AlarmStatusWidget(
                alarms=list(self.alarms.values()), title="Alarms", width=24, height=3
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Glue job: failures and failed tasks",
                left=[glue_failures],
                right=[glue_job_metric(job, "glue.driver.aggregate.numFailedTasks", "Failed Spark tasks")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Glue job: records and bytes read",
                left=[glue_job_metric(job, "glue.driver.aggregate.recordsRead", "Records read")],
                right=[glue_job_metric(job, "glue.ALL.s3.filesystem.read_bytes", "S3 bytes read")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="KPI table: writes and throttles",
                left=[
                    props.kpi_table.metric_consumed_write_capacity_units(period=FIVE_MINUTES),
                    props.kpi_table.metric_consumed_read_capacity_units(period=FIVE_MINUTES),
                ],
                right=[dynamodb_throttles],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="MWAA scheduler heartbeat", left=[scheduler_heartbeat], width=12),
            cloudwatch.GraphWidget(title="MWAA tasks", left=[queued_tasks, running_tasks], width=12),
        )
