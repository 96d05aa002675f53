"""infra/monitoring.py: the Glue failure rule, the alarms and the dashboard.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json

from infra.monitoring import GLUE_FAILURE_STATES


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
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic_ref]
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
