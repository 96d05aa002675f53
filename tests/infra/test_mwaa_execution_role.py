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
    import music_contract as contract

    policy = policy_of(each_env, each_env.stack.mwaa_execution_role.policy)
    publish = statement(policy, "PublishPipelineMetrics")
    assert publish["Action"] == "cloudwatch:PutMetricData"
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": contract.METRIC_NAMESPACE}}
    # Every PutMetricData grant of the role is held to a namespace.
    for grant in policy["PolicyDocument"]["Statement"]:
        if "cloudwatch:PutMetricData" in json.dumps(grant["Action"]):
            assert "cloudwatch:namespace" in grant["Condition"]["StringEquals"]
