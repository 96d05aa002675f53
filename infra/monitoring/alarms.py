"""The one alarm helper, as cdk-monitoring-constructs' AlarmFactory (lib/common/alarm/AlarmFactory.ts):
every alarm named with the environment's alarm prefix and wired to the alert topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import ResourceNames


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
