"""The Glue job's metrics, as cdk-monitoring-constructs' GlueJobMetricFactory
(lib/monitoring/aws-glue/GlueJobMetricFactory.ts)."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events

from infra.monitoring.periods import FIVE_MINUTES

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
