"""Monitoring: the Glue failure rule, the alarms and the dashboard, built as cdklabs'
cdk-monitoring-constructs builds them: one metric factory per service (Glue, DynamoDB, MWAA), one
alarm helper that wires every alarm to the alert topic, and a dashboard made of those metrics
(cdk-monitoring-constructs: lib/monitoring/aws-glue/GlueJobMetricFactory.ts,
lib/monitoring/aws-dynamo/DynamoTableMetricFactory.ts, lib/common/alarm/AlarmFactory.ts)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CfnResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

import music_contract as contract
from infra.alerting import TopicTarget
from infra.config import ResourceNames
from infra.nag import acknowledge
from music_contract.alerts import EVENT_GLUE_JOB_RUN_FAILED, chatbot_notification

# Glue job states that mean "the KPIs of this run did not land".
GLUE_FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR")
MWAA_NAMESPACE = "AmazonMWAA"
FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)
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


def glue_failure_message(names: ResourceNames, job_name: str) -> events.RuleTargetInput:
    """A failed Glue run as the contract's Chatbot notification (`music_contract.alerts`), filled in
    from the Glue event by EventBridge."""
    detail = events.EventField.from_path
    run_id, state = detail("$.detail.jobRunId"), detail("$.detail.state")
    url = contract.glue_job_run_console_url(Aws.REGION, job_name, run_id)
    return events.RuleTargetInput.from_object(
        chatbot_notification(
            notification_id=detail("$.id"),
            title=f"[{names.env_name}] Glue job run {state}: {job_name} run {run_id}",
            description=f"{detail('$.detail.message')}",
            next_steps=[f"Open the run: {url}"],
            keywords=[names.env_name, "glue", state],
            summary=f"[{names.env_name}] {job_name} {state}",
            event_type=EVENT_GLUE_JOB_RUN_FAILED,
            related_resources=[url],
            additional_context={"environment": names.env_name, "jobRunId": run_id},
        )
    )


class GlueJobMetricFactory:
    """The Glue job's metrics: failures (its failure rule's matches) and its own job metrics."""

    def __init__(self, job_name: str, failure_rule: events.IRule) -> None:
        self.job_name = job_name
        self.failure_rule = failure_rule

    def failures(self) -> cloudwatch.Metric:
        """Every matched failure event counts once in TriggeredRules: one per failed run."""
        return cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="TriggeredRules",
            dimensions_map={"RuleName": self.failure_rule.rule_name},
            statistic="Sum",
            period=FIVE_MINUTES,
            label="Glue job failures",
        )

    def failed_tasks(self) -> cloudwatch.Metric:
        return glue_job_metric(self.job_name, "glue.driver.aggregate.numFailedTasks", "Failed Spark tasks")

    def records_read(self) -> cloudwatch.Metric:
        return glue_job_metric(self.job_name, "glue.driver.aggregate.recordsRead", "Records read")

    def s3_bytes_read(self) -> cloudwatch.Metric:
        return glue_job_metric(self.job_name, "glue.ALL.s3.filesystem.read_bytes", "S3 bytes read")


class DynamoTableMetricFactory:
    """The KPI table's metrics: throttles (reads plus writes) and consumed capacity."""

    def __init__(self, table: dynamodb.ITable) -> None:
        self.table = table

    def throttles(self) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": self.table.metric("ReadThrottleEvents", statistic="Sum", period=FIVE_MINUTES),
                "writes": self.table.metric("WriteThrottleEvents", statistic="Sum", period=FIVE_MINUTES),
            },
            label="KPI table throttled requests",
            period=FIVE_MINUTES,
        )

    def consumed_capacity(self) -> list[cloudwatch.IMetric]:
        return [
            self.table.metric_consumed_write_capacity_units(period=FIVE_MINUTES),
            self.table.metric_consumed_read_capacity_units(period=FIVE_MINUTES),
        ]


class MwaaMetricFactory:
    """The MWAA environment's metrics (namespace ``AmazonMWAA``, dimension ``Environment``)."""

    def __init__(self, environment_name: str) -> None:
        self.environment_name = environment_name

    def _metric(self, metric_name: str, function: str, statistic: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=MWAA_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"Environment": self.environment_name, "Function": function},
            statistic=statistic,
            period=FIVE_MINUTES,
            label=label,
        )

    def scheduler_heartbeat(self) -> cloudwatch.Metric:
        return self._metric("SchedulerHeartbeat", "Scheduler", "Sum", "Scheduler heartbeats")

    def queued_tasks(self) -> cloudwatch.Metric:
        return self._metric("QueuedTasks", "Executor", "Maximum", "Queued tasks")

    def running_tasks(self) -> cloudwatch.Metric:
        return self._metric("RunningTasks", "Executor", "Maximum", "Running tasks")


class PipelineMetricFactory:
    """The metrics the DAG publishes once per run (namespace ``contract.METRIC_NAMESPACE``, dimension
    ``Environment``; names, units and meaning in docs/DESIGN.md "Pipeline metrics")."""

    def __init__(self, env_name: str) -> None:
        self.env_name = env_name

    def metric(self, metric_name: str, statistic: str, period: Duration, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=contract.METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={contract.METRIC_DIMENSION_ENVIRONMENT: self.env_name},
            statistic=statistic,
            period=period,
            label=label,
        )

    def freshness_hours(self, period: Duration = ONE_HOUR) -> cloudwatch.Metric:
        # Minimum: the freshest date any run of the period completed. A run that recomputes or
        # replays old dates reports an older age, which must not hide a fresh run nor raise an alarm.
        return self.metric(
            contract.METRIC_KPI_FRESHNESS_HOURS, "Minimum", period, "Newest complete KPI date: age (h)"
        )

    def data_quality(self) -> list[cloudwatch.IMetric]:
        """Rows read, accepted, rejected and duplicates, summed per day."""
        labels = {
            contract.METRIC_ROWS_READ: "Rows read",
            contract.METRIC_ROWS_ACCEPTED: "Rows accepted",
            contract.METRIC_ROWS_REJECTED: "Rows rejected",
            contract.METRIC_DUPLICATE_ROWS: "Duplicate rows",
        }
        return [self.metric(name, "Sum", Duration.days(1), label) for name, label in labels.items()]

    def glue_execution_seconds(self) -> cloudwatch.Metric:
        return self.metric(
            contract.METRIC_GLUE_EXECUTION_SECONDS, "Sum", Duration.days(1), "Glue execution (s)"
        )

    def glue_dpu_seconds(self) -> cloudwatch.Metric:
        return self.metric(contract.METRIC_GLUE_DPU_SECONDS, "Sum", Duration.days(1), "Glue DPU-seconds")


@dataclass(frozen=True)
class AlarmProps:
    """One alarm: its name's suffix, what it says, and when it fires."""

    # Appended to ``ResourceNames.alarm_prefix``.
    name: str
    description: str
    # Fires at ``>= threshold`` (or ``< threshold`` when ``below``) for ``evaluation_periods`` periods.
    threshold: float = 1
    evaluation_periods: int = 1
    below: bool = False
    # A silent metric breaches (a dead component publishes nothing) instead of counting as OK.
    missing_data_breaches: bool = False
    # A silent metric keeps the alarm's state (TreatMissingData ignore), however long it lasts.
    missing_data_keeps_state: bool = False
    # Notify the topic (ALARM and OK); off only for an input of a composite alarm that notifies.
    notify: bool = True


class AlarmFactory:
    """Creates alarms in one scope, named with the environment's alarm prefix (the topic policy
    admits CloudWatch for that prefix only), each notifying the topic on ALARM and on OK."""

    def __init__(self, scope: Construct, names: ResourceNames, topic: sns.ITopic) -> None:
        self.scope, self.names = scope, names
        self.action = cw_actions.SnsAction(topic)

    def alarm(self, construct_id: str, metric: cloudwatch.IMetric, props: AlarmProps) -> cloudwatch.Alarm:
        comparison = cloudwatch.ComparisonOperator
        alarm = metric.create_alarm(
            self.scope,
            construct_id,
            alarm_name=f"{self.names.alarm_prefix}{props.name}",
            alarm_description=props.description,
            threshold=props.threshold,
            evaluation_periods=props.evaluation_periods,
            comparison_operator=(
                comparison.LESS_THAN_THRESHOLD
                if props.below
                else comparison.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=(
                cloudwatch.TreatMissingData.BREACHING
                if props.missing_data_breaches
                else cloudwatch.TreatMissingData.IGNORE
                if props.missing_data_keeps_state
                else cloudwatch.TreatMissingData.NOT_BREACHING
            ),
        )
        if props.notify:
            alarm.add_alarm_action(self.action)
            alarm.add_ok_action(self.action)
        return alarm

    def composite(
        self, construct_id: str, name: str, description: str, rule: cloudwatch.IAlarmRule
    ) -> cloudwatch.CompositeAlarm:
        """A composite alarm over alarms of this factory, notifying the topic on ALARM and on OK."""
        alarm = cloudwatch.CompositeAlarm(
            self.scope,
            construct_id,
            composite_alarm_name=f"{self.names.alarm_prefix}{name}",
            alarm_description=description,
            alarm_rule=rule,
        )
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        return alarm


@dataclass(frozen=True)
class MonitoringProps:
    """What to watch and where the alerts go."""

    # Resource names: the failure rule, the alarm prefix, the table, the dashboard.
    names: ResourceNames
    # The alert topic (`Alerting.topic`): the rule's target and every alarm's action.
    topic: sns.ITopic
    # The Glue job whose failures and metrics are watched.
    glue_job_name: str
    # The KPI table whose throttles and capacity are watched.
    kpi_table: dynamodb.ITable
    # The MWAA environment's name (its metrics' dimension) and resource: its alarms are created
    # once it is available, not during its create. None with orchestration=serverless: no
    # scheduler, no workers, so no MWAA alarm or widget (the workflow's failures reach the topic
    # through its own rule, infra/serverless_workflow.py).
    mwaa_environment_name: str
    mwaa_environment: CfnResource | None
    # Alarm when the newest complete KPI date is older than this (`freshness_alarm_hours`).
    freshness_alarm_hours: int


class Monitoring(Construct):
    """Glue failure rule (``glue_failure_rule``), alarms (``alarms`` by purpose) and ``dashboard``."""

    def __init__(self, scope: Construct, construct_id: str, props: MonitoringProps) -> None:
        super().__init__(scope, construct_id)
        self.glue_failure_rule = self._glue_failure_rule(props)
        glue = GlueJobMetricFactory(props.glue_job_name, self.glue_failure_rule)
        table = DynamoTableMetricFactory(props.kpi_table)
        mwaa = MwaaMetricFactory(props.mwaa_environment_name)
        pipeline = PipelineMetricFactory(props.names.env_name)
        self.alarms = self._alarms(props, glue, table, mwaa)
        self.alarms.update(self._freshness_alarms(props, pipeline))
        self.dashboard = self._dashboard(props, glue, table, mwaa)
        self._add_pipeline_widgets(props, pipeline)

    def _glue_failure_rule(self, props: MonitoringProps) -> events.Rule:
        """Every FAILED, TIMEOUT or ERROR end of the job, as a message on the alert topic."""
        rule = events.Rule(
            self,
            "GlueJobFailed",
            rule_name=props.names.glue_failure_rule,
            description=f"{props.glue_job_name} failed, timed out or errored",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [props.glue_job_name], "state": list(GLUE_FAILURE_STATES)},
            ),
        )
        rule.add_target(TopicTarget(props.topic, glue_failure_message(props.names, props.glue_job_name)))
        return rule

    def _alarms(
        self,
        props: MonitoringProps,
        glue: GlueJobMetricFactory,
        table: DynamoTableMetricFactory,
        mwaa: MwaaMetricFactory,
    ) -> dict[str, cloudwatch.Alarm]:
        factory = AlarmFactory(self, props.names, props.topic)
        environment = props.mwaa_environment_name
        heartbeat_minutes = HEARTBEAT_SILENCE.to_minutes()
        alarms = {
            "glue_failures": factory.alarm(
                "GlueJobFailuresAlarm",
                glue.failures(),
                AlarmProps("glue-job-failures", f"{props.glue_job_name} ended FAILED, TIMEOUT or ERROR"),
            ),
            "dynamodb_throttles": factory.alarm(
                "KpiTableThrottlesAlarm",
                table.throttles(),
                AlarmProps("kpi-table-throttles", f"{props.names.kpi_table} throttled reads or writes"),
            ),
            # No heartbeat for an hour: the scheduler is down and no DAG runs start. A dead scheduler
            # publishes nothing, so missing data must breach; the window outlasts an environment update.
            "mwaa_scheduler_heartbeat": factory.alarm(
                "SchedulerHeartbeatAlarm",
                mwaa.scheduler_heartbeat(),
                AlarmProps(
                    "mwaa-scheduler-heartbeat",
                    f"{environment}: no scheduler heartbeat for {heartbeat_minutes} minutes",
                    evaluation_periods=int(heartbeat_minutes // FIVE_MINUTES.to_minutes()),
                    below=True,
                    missing_data_breaches=True,
                ),
            ),
            # Tasks queued for 30 minutes: workers cannot keep up or cannot start.
            "mwaa_queued_tasks": factory.alarm(
                "QueuedTasksAlarm",
                mwaa.queued_tasks(),
                AlarmProps(
                    "mwaa-queued-tasks", f"{environment}: tasks queued for 30 minutes", evaluation_periods=6
                ),
            ),
        }
        if props.mwaa_environment is None:
            del alarms["mwaa_scheduler_heartbeat"], alarms["mwaa_queued_tasks"]
            return alarms
        # MWAA publishes nothing until the environment is AVAILABLE (30-40 minutes after its create starts).
        for alarm in (alarms["mwaa_scheduler_heartbeat"], alarms["mwaa_queued_tasks"]):
            alarm.node.add_dependency(props.mwaa_environment)
        return alarms

    def _freshness_alarms(
        self, props: MonitoringProps, pipeline: PipelineMetricFactory
    ) -> dict[str, cloudwatch.Alarm | cloudwatch.CompositeAlarm]:
        """Stale KPIs page through ``kpis-stale`` = ALARM(kpi-freshness) AND OK(kpi-first-report):
        quiet until a first run reports, then fires on stale or missing reports (docs/operate.md,
        "Stale-KPI alarm"). ``kpi-first-report`` stays OK without data (TreatMissingData ``ignore``:
        AlarmThatSendsEmail.html#alarms-and-missing-data); ALARM()/OK() are true only in that state
        (API_PutCompositeAlarm.html). Missing freshness data breaches: without a run the age only grows.
        """
        hours = props.freshness_alarm_hours
        factory = AlarmFactory(self, props.names, props.topic)
        stale = factory.alarm(
            "KpiFreshnessAlarm",
            pipeline.freshness_hours(Duration.hours(hours)),
            AlarmProps(
                "kpi-freshness",
                f"{props.names.prefix}: the newest complete KPI date is older than {hours} hours, "
                f"or no run reported for {hours} hours (pages through {props.names.alarm_prefix}kpis-stale)",
                threshold=hours,
                missing_data_breaches=True,
                notify=False,
            ),
        )
        first_report = factory.alarm(
            "KpiFirstReportAlarm",
            pipeline.freshness_hours().with_(statistic="SampleCount"),
            AlarmProps(
                "kpi-first-report",
                f"{props.names.prefix}: OK once a run has reported KPI freshness (stays OK without data); "
                "until then the stale-KPI alarm stays quiet",
                threshold=1,
                below=True,
                missing_data_keeps_state=True,
                notify=False,
            ),
        )
        first_report.add_ok_action(factory.action)  # once: the first run reported
        composite = factory.composite(
            "KpisStaleAlarm",
            "kpis-stale",
            f"{props.names.prefix}: the newest complete KPI date is older than {hours} hours, or no run "
            f"reported for {hours} hours (quiet until the first run reports)",
            cloudwatch.AlarmRule.all_of(
                cloudwatch.AlarmRule.from_alarm(stale, cloudwatch.AlarmState.ALARM),
                cloudwatch.AlarmRule.from_alarm(first_report, cloudwatch.AlarmState.OK),
            ),
        )
        self._acknowledge_composite_inputs(stale, first_report)
        return {"kpi_freshness": stale, "kpi_first_report": first_report, "kpis_stale": composite}

    def _acknowledge_composite_inputs(self, stale: cloudwatch.Alarm, first_report: cloudwatch.Alarm) -> None:
        """The composite's inputs do not page on ALARM by themselves: that is the point of it."""
        reason = (
            "Input of the composite alarm kpis-stale, which notifies the alert topic; an ALARM action here "
            "would page a new environment before its first run (the reason for the composite)."
        )
        acknowledge(stale, "NIST.800.53.R5-CloudWatchAlarmAction", reason)
        acknowledge(stale, "cloudwatch_alarm_action_check", reason)
        acknowledge(
            first_report,
            "cloudwatch_alarm_action_check",
            "Never in ALARM (every datum has a sample count of at least 1, missing data keeps the state); "
            "its OK action tells the alert topic once that the first run reported.",
        )

    def _add_pipeline_widgets(self, props: MonitoringProps, pipeline: PipelineMetricFactory) -> None:
        """The per-run metrics the DAG publishes: freshness, data quality, Glue time and DPU-seconds."""
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="KPI freshness (hours)",
                left=[pipeline.freshness_hours()],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=props.freshness_alarm_hours, label="alarm")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Data quality per day (rows)", left=pipeline.data_quality(), width=8
            ),
            cloudwatch.GraphWidget(
                title="Glue per day: execution time and DPU-seconds",
                left=[pipeline.glue_execution_seconds()],
                right=[pipeline.glue_dpu_seconds()],
                width=8,
            ),
        )

    def _dashboard(
        self,
        props: MonitoringProps,
        glue: GlueJobMetricFactory,
        table: DynamoTableMetricFactory,
        mwaa: MwaaMetricFactory,
    ) -> cloudwatch.Dashboard:
        names = props.names
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{names.prefix}-pipeline", default_interval=Duration.days(7)
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"# {names.prefix} pipeline\n{_runner(props)} runs "
                    f"`{props.glue_job_name}`, which writes KPIs to `{names.kpi_table}`."
                ),
                width=24,
                height=2,
            ),
            cloudwatch.AlarmStatusWidget(
                alarms=list(self.alarms.values()), title="Alarms", width=24, height=3
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Glue job: failures and failed tasks",
                left=[glue.failures()],
                right=[glue.failed_tasks()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Glue job: records and bytes read",
                left=[glue.records_read()],
                right=[glue.s3_bytes_read()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="KPI table: writes and throttles",
                left=table.consumed_capacity(),
                right=[table.throttles()],
                width=8,
            ),
        )
        if props.mwaa_environment is not None:  # no scheduler or workers with orchestration=serverless
            _add_mwaa_widgets(dashboard, mwaa)
        return dashboard


def _runner(props: MonitoringProps) -> str:
    """What runs the pipeline, as the dashboard names it."""
    if props.mwaa_environment is None:
        return "The MWAA Serverless workflow"
    return f"MWAA `{props.mwaa_environment_name}`"


def _add_mwaa_widgets(dashboard: cloudwatch.Dashboard, mwaa: MwaaMetricFactory) -> None:
    dashboard.add_widgets(
        cloudwatch.GraphWidget(title="MWAA scheduler heartbeat", left=[mwaa.scheduler_heartbeat()], width=12),
        cloudwatch.GraphWidget(
            title="MWAA tasks", left=[mwaa.queued_tasks(), mwaa.running_tasks()], width=12
        ),
    )
