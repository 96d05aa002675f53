"""Monitoring: the Glue failure rule, the alarms and the dashboard, built as cdklabs'
cdk-monitoring-constructs builds them: one metric factory per service (`glue_metrics`,
`dynamodb_metrics`, `mwaa_metrics`, `pipeline_metrics`), one alarm helper (`alarms`) that wires
every alarm to the alert topic, the Glue failure rule (`glue_failure_rule`), and the `Monitoring`
construct with its dashboard (`construct`)."""

from infra.monitoring.alarms import AlarmFactory, AlarmProps
from infra.monitoring.construct import HEARTBEAT_SILENCE, Monitoring, MonitoringProps
from infra.monitoring.dynamodb_metrics import DynamoTableMetricFactory
from infra.monitoring.glue_failure_rule import GLUE_FAILURE_STATES, glue_failure_message, glue_failure_rule
from infra.monitoring.glue_metrics import GLUE_METRIC_TYPES, GlueJobMetricFactory, glue_job_metric
from infra.monitoring.mwaa_metrics import MWAA_NAMESPACE, MwaaMetricFactory
from infra.monitoring.periods import FIVE_MINUTES, ONE_HOUR
from infra.monitoring.pipeline_metrics import PipelineMetricFactory

__all__ = [
    "FIVE_MINUTES",
    "GLUE_FAILURE_STATES",
    "GLUE_METRIC_TYPES",
    "HEARTBEAT_SILENCE",
    "MWAA_NAMESPACE",
    "ONE_HOUR",
    "AlarmFactory",
    "AlarmProps",
    "DynamoTableMetricFactory",
    "GlueJobMetricFactory",
    "Monitoring",
    "MonitoringProps",
    "MwaaMetricFactory",
    "PipelineMetricFactory",
    "glue_failure_message",
    "glue_failure_rule",
    "glue_job_metric",
]
