"""infra/monitoring/: the Glue failure rule, the alarms and the dashboard.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json

import pytest

from infra.application import build_app
from infra.config import ConfigError, cdk_context
from infra.monitoring import GLUE_FAILURE_STATES
from music_contract import metrics


def test_glue_failures_and_timeouts_reach_the_topic(each_env):
    rule = each_env.only("AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.glue"]
    assert pattern["detail-type"] == ["Glue Job State Change"]
    assert pattern["detail"]["jobName"] == [f"music-streams-{each_env.env}-compute-kpis"]
    assert set(pattern["detail"]["state"]) == set(GLUE_FAILURE_STATES) >= {"FAILED", "TIMEOUT"}
    assert rule["Targets"][0]["Arn"] == {"Ref": each_env.logical_id(each_env.stack.alerting.topic)}


def test_alarms_cover_glue_dynamodb_and_mwaa_and_notify_the_topic(each_env):
    alarms = [a["Properties"] for a in each_env.resources("AWS::CloudWatch::Alarm").values()]
    topic_ref = {"Ref": each_env.logical_id(each_env.stack.alerting.topic)}
    # Every alarm pages the topic, but the stale-KPI inputs, which page through `kpis-stale`.
    freshness_inputs = ("-kpi-freshness", "-kpi-first-report")
    for alarm in alarms:
        if not alarm["AlarmName"].endswith(freshness_inputs):
            assert alarm["AlarmActions"] == [topic_ref]
    (composite,) = [a["Properties"] for a in each_env.resources("AWS::CloudWatch::CompositeAlarm").values()]
    assert composite["AlarmActions"] == composite["OKActions"] == [topic_ref]
    text = json.dumps(alarms)
    for metric in (
        "TriggeredRules",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SchedulerHeartbeat",
        "QueuedTasks",
    ):
        assert metric in text, metric
    heartbeat = next(a for a in alarms if a["AlarmName"].endswith("-mwaa-scheduler-heartbeat"))
    assert heartbeat["TreatMissingData"] == "breaching"  # a silent scheduler is a dead scheduler


def test_dashboard_shows_the_pipeline(each_env):
    body = json.dumps(each_env.only("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for metric in (
        "TriggeredRules",
        "glue.driver.aggregate.recordsRead",
        "ConsumedWriteCapacityUnits",
        "QueuedTasks",
    ):
        assert metric in body, metric


def test_freshness_alarm_fires_above_the_configured_hours_or_without_a_run(each_env):
    alarms = [a["Properties"] for a in each_env.resources("AWS::CloudWatch::Alarm").values()]
    freshness = next(a for a in alarms if a["AlarmName"].endswith("-kpi-freshness"))
    hours = each_env.config.freshness_alarm_hours
    (query,) = freshness["Metrics"]
    stat = query["MetricStat"]
    assert stat["Metric"] == {
        "Namespace": metrics.METRIC_NAMESPACE,
        "MetricName": metrics.METRIC_KPI_FRESHNESS_HOURS,
        "Dimensions": [{"Name": metrics.METRIC_DIMENSION_ENVIRONMENT, "Value": each_env.env}],
    }
    # The freshest date of the period counts: a reprocessing run's older dates raise no alarm.
    assert stat["Stat"] == "Minimum"
    assert freshness["Threshold"] == hours
    assert freshness["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # One window as long as the limit; no datum in it means no run for that long: stale.
    assert stat["Period"] * freshness["EvaluationPeriods"] == hours * 3600
    assert freshness["TreatMissingData"] == "breaching"


def test_the_freshness_window_follows_the_key_up_to_seven_days(tmp_path):
    from aws_cdk.assertions import Template

    _, stack = build_app(
        context={**cdk_context(), "freshness_alarm_hours": "168"}, outdir=str(tmp_path), nag=False
    )
    alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    logical_id = stack.get_logical_id(stack.monitoring.alarms["kpi_freshness"].node.default_child)
    properties = alarms[logical_id]["Properties"]
    assert properties["Metrics"][0]["MetricStat"]["Period"] == 168 * 3600
    assert properties["Threshold"] == 168
    with pytest.raises(ConfigError, match=r"freshness_alarm_hours must be within \[1, 168\]"):
        build_app(
            context={**cdk_context(), "freshness_alarm_hours": "169"}, outdir=str(tmp_path / "x"), nag=False
        )


def test_dashboard_shows_the_per_run_metrics(each_env):
    body = json.dumps(each_env.only("AWS::CloudWatch::Dashboard")["DashboardBody"])
    for metric in (metrics.METRIC_KPI_FRESHNESS_HOURS, *metrics.RUN_METRICS):
        assert metric in body, metric


def test_stale_kpis_page_only_after_the_first_run_reported(each_env):
    """A new environment has no KPIs and no freshness datum: the stale alarm is in ALARM from its
    creation, but pages only through the composite, which also needs kpi-first-report OK. That one
    turns OK with the first datum and keeps OK without data (ignore), so once runs have started, a
    silence breaches the stale alarm and pages: quiet on day one, loud when runs stop."""
    topic_ref = {"Ref": each_env.logical_id(each_env.stack.alerting.topic)}
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in each_env.resources("AWS::CloudWatch::Alarm").values()
    }
    prefix = each_env.stack.names.alarm_prefix
    stale, first = alarms[f"{prefix}kpi-freshness"], alarms[f"{prefix}kpi-first-report"]
    assert "AlarmActions" not in stale  # never pages by itself
    assert "OKActions" not in stale
    assert stale["TreatMissingData"] == "breaching"  # runs stop: ALARM
    assert "AlarmActions" not in first
    assert first["OKActions"] == [topic_ref]  # says once that reporting started
    assert first["TreatMissingData"] == "ignore"  # OK for good after the first datum
    # The same metric; every datum has a sample count of at least 1: OK, never ALARM.
    (stale_query,), (first_query,) = stale["Metrics"], first["Metrics"]
    assert first_query["MetricStat"]["Metric"] == stale_query["MetricStat"]["Metric"]
    assert first_query["MetricStat"]["Stat"] == "SampleCount"
    assert (first["ComparisonOperator"], first["Threshold"]) == ("LessThanThreshold", 1)
    (composite,) = [a["Properties"] for a in each_env.resources("AWS::CloudWatch::CompositeAlarm").values()]
    assert composite["AlarmName"] == f"{prefix}kpis-stale"
    ids = {a["Properties"]["AlarmName"]: i for i, a in each_env.resources("AWS::CloudWatch::Alarm").items()}
    assert composite["AlarmRule"] == {
        "Fn::Join": [
            "",
            [
                '(ALARM("',
                {"Fn::GetAtt": [ids[f"{prefix}kpi-freshness"], "Arn"]},
                '") AND OK("',
                {"Fn::GetAtt": [ids[f"{prefix}kpi-first-report"], "Arn"]},
                '"))',
            ],
        ]
    }
    assert composite["AlarmActions"] == [topic_ref]
