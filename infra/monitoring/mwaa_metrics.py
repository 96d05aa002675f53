"""The MWAA environment's metrics (orchestration=provisioned only)."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from infra.monitoring.periods import FIVE_MINUTES

MWAA_NAMESPACE = "AmazonMWAA"


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
