"""The metrics the DAG publishes once per run (`dags/music_pipeline/run_metrics.py`)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from infra.monitoring.periods import ONE_HOUR
from music_contract import metrics


class PipelineMetricFactory:
    """The metrics the DAG publishes once per run (namespace ``metrics.METRIC_NAMESPACE``, dimension
    ``Environment``; names, units and meaning in docs/DESIGN.md "Pipeline metrics")."""

    def __init__(self, env_name: str) -> None:
        self.env_name = env_name

    def metric(self, metric_name: str, statistic: str, period: Duration, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=metrics.METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={metrics.METRIC_DIMENSION_ENVIRONMENT: self.env_name},
            statistic=statistic,
            period=period,
            label=label,
        )

    def freshness_hours(self, period: Duration = ONE_HOUR) -> cloudwatch.Metric:
        # Minimum: the freshest date any run of the period completed. A run that recomputes or
        # replays old dates reports an older age, which must not hide a fresh run nor raise an alarm.
        return self.metric(
            metrics.METRIC_KPI_FRESHNESS_HOURS, "Minimum", period, "Newest complete KPI date: age (h)"
        )

    def data_quality(self) -> list[cloudwatch.IMetric]:
        """Rows read, accepted, rejected and duplicates, summed per day."""
        labels = {
            metrics.METRIC_ROWS_READ: "Rows read",
            metrics.METRIC_ROWS_ACCEPTED: "Rows accepted",
            metrics.METRIC_ROWS_REJECTED: "Rows rejected",
            metrics.METRIC_DUPLICATE_ROWS: "Duplicate rows",
        }
        return [self.metric(name, "Sum", Duration.days(1), label) for name, label in labels.items()]

    def glue_execution_seconds(self) -> cloudwatch.Metric:
        return self.metric(
            metrics.METRIC_GLUE_EXECUTION_SECONDS, "Sum", Duration.days(1), "Glue execution (s)"
        )

    def glue_dpu_seconds(self) -> cloudwatch.Metric:
        return self.metric(metrics.METRIC_GLUE_DPU_SECONDS, "Sum", Duration.days(1), "Glue DPU-seconds")
