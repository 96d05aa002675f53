"""The KPI table's metrics, as cdk-monitoring-constructs' DynamoTableMetricFactory
(lib/monitoring/aws-dynamo/DynamoTableMetricFactory.ts)."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb

from infra.monitoring.periods import FIVE_MINUTES


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
