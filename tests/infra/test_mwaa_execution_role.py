"""infra/mwaa_execution_role.py: MWAA's execution role, scoped to its environment and the DAG's needs.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json

from tests.infra.policy_documents import assert_no_wildcard_actions, policy_of, statement


def test_mwaa_execution_role_is_scoped_to_this_environment(each_env):
    policy = policy_of(each_env, each_env.stack.mwaa_execution_role.policy)
    assert_no_wildcard_actions(policy)
    env_name = f"music-streams-{each_env.env}-airflow"
    assert f"log-group:airflow-{env_name}-*" in json.dumps(statement(policy, "WriteAirflowLogs")["Resource"])
    assert ":airflow-celery-*" in json.dumps(statement(policy, "UseCeleryQueue")["Resource"])
    glue = statement(policy, "RunGlueJob")
    assert set(glue["Action"]) <= {
        "glue:GetJob",
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    }
    assert f"job/music-streams-{each_env.env}-compute-kpis" in json.dumps(glue["Resource"])
    ssm = json.dumps(statement(policy, "ReadAirflowSecrets")["Resource"])
    assert f"parameter/music-streams/{each_env.env}/airflow/*" in ssm
    assert statement(policy, "PublishAlerts")["Resource"] == {
        "Ref": each_env.logical_id(each_env.stack.alerting.topic)
    }
    kms = statement(policy, "UseEnvironmentKeyThroughServices")
    assert "kms:ViaService" in kms["Condition"]["StringEquals"]


def test_the_dag_may_publish_metrics_to_the_pipeline_namespace_only(each_env):
    from music_contract import metrics

    policy = policy_of(each_env, each_env.stack.mwaa_execution_role.policy)
    publish = statement(policy, "PublishPipelineMetrics")
    assert publish["Action"] == "cloudwatch:PutMetricData"
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": metrics.METRIC_NAMESPACE}}
    # Every PutMetricData grant of the role is held to a namespace.
    for grant in policy["PolicyDocument"]["Statement"]:
        if "cloudwatch:PutMetricData" in json.dumps(grant["Action"]):
            assert "cloudwatch:namespace" in grant["Condition"]["StringEquals"]


def test_the_role_builds_from_values_alone():
    """No configuration and no sibling construct: names, buckets, keys and ARNs are all it takes."""
    from aws_cdk import App, Stack, assertions
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from infra.mwaa_execution_role import MwaaExecutionRole, MwaaExecutionRoleProps

    stack = Stack(App(), "Bare")
    key = kms.Key(stack, "Key")
    MwaaExecutionRole(
        stack,
        "Mwaa",
        MwaaExecutionRoleProps(
            environment_name="team-airflow",
            ssm_prefix="/team/airflow",
            key=key,
            source_bucket=s3.Bucket(stack, "Source"),
            data_bucket=s3.Bucket(stack, "Data"),
            glue_job_arn="arn:aws:glue:eu-west-1:111122223333:job/team-job",
            alert_topic_arn="arn:aws:sns:eu-west-1:111122223333:team-alerts",
            alert_key=key,
        ),
    )
    template = json.dumps(assertions.Template.from_stack(stack).to_json())
    assert ":environment/team-airflow" in template  # the trust conditions and the metrics grant
    assert "log-group:airflow-team-airflow-*" in template
    assert ":parameter/team/airflow/*" in template
    assert "arn:aws:glue:eu-west-1:111122223333:job/team-job" in template
