"""Alerting and monitoring: the alert topic, Glue failure events, CloudWatch alarms, a dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import PipelineConfig, ResourceNames

# Glue job states that mean "the KPIs of this run did not land".
GLUE_FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR")
MWAA_NAMESPACE = "AmazonMWAA"
FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class AlertingProps:
    """``key``: encrypts the topic (its policy is extended so EventBridge and CloudWatch can publish)."""

    config: PipelineConfig
    names: ResourceNames
    key: kms.IKey


class Alerting(Construct):
    """The SNS topic every alarm and failure event goes to (``topic``), KMS-encrypted, TLS only,
    with an e-mail subscription when ``alert_email`` is set."""

    def __init__(self, scope: Construct, construct_id: str, props: AlertingProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=props.names.alert_topic,
            display_name=f"{props.names.prefix} pipeline alerts",
            master_key=props.key,
            enforce_ssl=True,
        )
        if props.config.alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.config.alert_email))
        # EventBridge and CloudWatch alarms publish to the encrypted topic with the key.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlertPublishersToUseTheKey",
                principals=[
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )


@dataclass(frozen=True)
class MonitoringProps:
    """What to watch: the Glue job, the KPI table and the MWAA environment; ``topic`` gets the alerts."""

    names: ResourceNames
    topic: sns.ITopic
    glue_job_name: str
    kpi_table: dynamodb.ITable
    mwaa_environment_name: str


class Monitoring(Construct):
    """Glue failure rule (``glue_failure_rule``), alarms (``alarms`` by purpose) and ``dashboard``."""

    def __init__(self, scope: Construct, construct_id: str, props: MonitoringProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.glue_failure_rule = events.Rule(
            self,
            "GlueJobFailed",
            rule_name=f"{names.prefix}-glue-job-failed",
            description=f"{props.glue_job_name} failed, timed out or errored",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [props.glue_job_name], "state": list(GLUE_FAILURE_STATES)},
            ),
        )
        self.glue_failure_rule.add_target(
            targets.SnsTopic(
                props.topic,
                message=events.RuleTargetInput.from_text(
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
                alarm_name=f"{names.prefix}-glue-job-failures",
                alarm_description=f"{props.glue_job_name} ended FAILED, TIMEOUT or ERROR",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            "dynamodb_throttles": dynamodb_throttles.create_alarm(
                self,
                "KpiTableThrottlesAlarm",
                alarm_name=f"{names.prefix}-kpi-table-throttles",
                alarm_description=f"{names.kpi_table} throttled reads or writes",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # No heartbeat for 15 minutes: the scheduler is down and no DAG runs start.
            "mwaa_scheduler_heartbeat": scheduler_heartbeat.create_alarm(
                self,
                "SchedulerHeartbeatAlarm",
                alarm_name=f"{names.prefix}-mwaa-scheduler-heartbeat",
                alarm_description=f"{props.mwaa_environment_name}: no scheduler heartbeat for 15 minutes",
                threshold=1,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
            # Tasks queued for 30 minutes: workers cannot keep up or cannot start.
            "mwaa_queued_tasks": queued_tasks.create_alarm(
                self,
                "QueuedTasksAlarm",
                alarm_name=f"{names.prefix}-mwaa-queued-tasks",
                alarm_description=f"{props.mwaa_environment_name}: tasks queued for 30 minutes",
                threshold=1,
                evaluation_periods=6,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        }
        alarm_action = cw_actions.SnsAction(props.topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(alarm_action)
            alarm.add_ok_action(alarm_action)

        glue_dimensions = {"JobName": props.glue_job_name, "JobRunId": "ALL", "Type": "count"}
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
                right=[
                    cloudwatch.Metric(
                        namespace="Glue",
                        metric_name="glue.driver.aggregate.numFailedTasks",
                        dimensions_map=glue_dimensions,
                        statistic="Sum",
                        period=FIVE_MINUTES,
                        label="Failed Spark tasks",
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Glue job: records and bytes read",
                left=[
                    cloudwatch.Metric(
                        namespace="Glue",
                        metric_name="glue.driver.aggregate.recordsRead",
                        dimensions_map=glue_dimensions,
                        statistic="Sum",
                        period=FIVE_MINUTES,
                        label="Records read",
                    )
                ],
                right=[
                    cloudwatch.Metric(
                        namespace="Glue",
                        metric_name="glue.ALL.s3.filesystem.read_bytes",
                        dimensions_map=glue_dimensions,
                        statistic="Sum",
                        period=FIVE_MINUTES,
                        label="S3 bytes read",
                    )
                ],
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
