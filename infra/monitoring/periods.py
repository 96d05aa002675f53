"""The periods the metrics and alarms of `infra.monitoring` share."""

from __future__ import annotations

from aws_cdk import Duration

FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)
