"""The `Monitoring` construct: the Glue failure rule, the alarms and the dashboard, made of the
metric factories and the alarm helper of this package."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import ResourceNames
from infra.monitoring.alarms import AlarmFactory, AlarmProps
from infra.monitoring.dynamodb_metrics import DynamoTableMetricFactory
from infra.monitoring.glue_failure_rule import glue_failure_rule
from infra.monitoring.glue_metrics import GlueJobMetricFactory
from infra.monitoring.mwaa_metrics import MwaaMetricFactory
from infra.monitoring.periods import FIVE_MINUTES
from infra.monitoring.pipeline_metrics import PipelineMetricFactory
from infra.nag import acknowledge

# Without a scheduler heartbeat this long, the alarm fires. Longer than an MWAA environment update
# (the scheduler is replaced and publishes nothing meanwhile), short enough to catch a dead one.
HEARTBEAT_SILENCE = Duration.hours(1)


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
        self.glue_failure_rule = glue_failure_rule(self, props.names, props.topic, props.glue_job_name)
        glue = GlueJobMetricFactory(props.glue_job_name, self.glue_failure_rule)
        table = DynamoTableMetricFactory(props.kpi_table)
        mwaa = MwaaMetricFactory(props.mwaa_environment_name)
        pipeline = PipelineMetricFactory(props.names.env_name)
        self.alarms = self._alarms(props, glue, table, mwaa)
        self.alarms.update(self._freshness_alarms(props, pipeline))
        self.dashboard = self._dashboard(props, glue, table, mwaa)
        self._add_pipeline_widgets(props, pipeline)

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
