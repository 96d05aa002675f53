"""infra/mwaa_environment.py: the MWAA environment, its log groups and the SSM parameters it reads.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json

from infra.mwaa_environment import MWAA_LOG_TYPES
from music_contract import names


def test_mwaa_environment(each_env):
    env = each_env.only("AWS::MWAA::Environment")
    config = each_env.config
    assert env["Name"] == f"music-streams-{each_env.env}-airflow"
    assert env["AirflowVersion"] == "3.3.1"
    assert env["EnvironmentClass"] == config.mwaa_environment_class
    assert (env["MinWorkers"], env["MaxWorkers"]) == (config.mwaa_min_workers, config.mwaa_max_workers)
    assert env["DagS3Path"] == "dags"
    assert len(env["NetworkConfiguration"]["SubnetIds"]) == 2
    assert env["KmsKey"] == {"Fn::GetAtt": [each_env.logical_id(each_env.stack.storage.key), "Arn"]}
    logging = env["LoggingConfiguration"]
    assert len(MWAA_LOG_TYPES) == 5
    for log_type in ("DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs"):
        assert logging[log_type] == {"Enabled": True, "LogLevel": "INFO"}
    options = env["AirflowConfigurationOptions"]
    assert options["secrets.backend"].endswith("SystemsManagerParameterStoreBackend")
    assert json.loads(options["secrets.backend_kwargs"])["variables_prefix"] == (
        f"/music-streams/{each_env.env}/airflow/variables"
    )


def test_webserver_is_public_in_dev_and_private_in_prod(dev, prod):
    assert dev.only("AWS::MWAA::Environment")["WebserverAccessMode"] == "PUBLIC_ONLY"
    assert prod.only("AWS::MWAA::Environment")["WebserverAccessMode"] == "PRIVATE_ONLY"
    assert prod.only("AWS::MWAA::Environment")["EnvironmentClass"] == "mw1.medium"


def test_ssm_parameters_hold_the_airflow_variables_and_connection(each_env):
    params = {
        p["Properties"]["Name"]: p["Properties"]["Value"]
        for p in each_env.resources("AWS::SSM::Parameter").values()
    }
    prefix = f"/music-streams/{each_env.env}/airflow"
    expected_variables = {
        names.VAR_BUCKET_NAME,
        names.VAR_GLUE_JOB_NAME,
        names.VAR_GLUE_SCRIPT_LOCATION,
        names.VAR_DATABASE_NAME,
        names.VAR_ALERT_TOPIC_ARN,
        names.VAR_ENVIRONMENT_NAME,
    }
    assert set(params) == {f"{prefix}/variables/{v}" for v in expected_variables} | {
        f"{prefix}/connections/{names.AWS_CONN_ID}"
    }
    assert (
        params[f"{prefix}/variables/{names.VAR_GLUE_JOB_NAME}"]
        == f"music-streams-{each_env.env}-compute-kpis"
    )
    assert params[f"{prefix}/variables/{names.VAR_DATABASE_NAME}"] == each_env.config.database_name
    # The metrics' Environment dimension and the alerts' environment (the name the alarms read).
    assert params[f"{prefix}/variables/{names.VAR_ENVIRONMENT_NAME}"] == each_env.env
    topic_id = each_env.logical_id(each_env.stack.alerting.topic)
    assert params[f"{prefix}/variables/{names.VAR_ALERT_TOPIC_ARN}"] == {"Ref": topic_id}
    connection = json.dumps(params[f"{prefix}/connections/{names.AWS_CONN_ID}"])
    assert '\\"conn_type\\": \\"aws\\"' in connection
    assert "aws_access_key_id" not in connection
    assert "secret" not in connection.lower()


def test_mwaa_starts_after_what_it_reads_in_the_private_subnets(each_env):
    """MWAA parses the DAGs, reads its variables and writes logs as soon as it starts."""
    stack = each_env.stack
    (environment_id,) = each_env.resources("AWS::MWAA::Environment")
    depends_on = set(each_env.template["Resources"][environment_id]["DependsOn"])
    uploads = {
        logical_id
        for logical_id, r in each_env.resources("Custom::CDKBucketDeployment").items()
        if r["Properties"]["DestinationBucketKeyPrefix"] in ("dags/", "requirements/", "plugins/")
    }
    assert len(uploads) == 3
    read = {
        each_env.logical_id(stack.mwaa_execution_role.policy),
        each_env.logical_id(stack.mwaa.connection_parameter),
        *(each_env.logical_id(p) for p in stack.mwaa.variable_parameters.values()),
        *(each_env.logical_id(g) for g in stack.mwaa.log_groups.values()),
    }
    assert uploads | read <= depends_on
    network = each_env.only("AWS::MWAA::Environment")["NetworkConfiguration"]
    private = [{"Ref": each_env.logical_id(subnet)} for subnet in stack.network.vpc.private_subnets]
    assert network["SubnetIds"] == private
    assert network["SecurityGroupIds"] == [
        {"Fn::GetAtt": [each_env.logical_id(stack.network.security_group), "GroupId"]}
    ]
