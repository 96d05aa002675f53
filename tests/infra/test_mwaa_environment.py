"""infra/mwaa_environment.py: the MWAA environment, its uploads, SSM parameters and execution role.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import music_contract as contract
from infra.mwaa_environment import MWAA_LOG_TYPES
from tests.infra.policy_documents import assert_no_wildcard_actions, policy_of, statement

REPO_ROOT = Path(__file__).resolve().parents[2]


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


def _pinned_upload(each_env, prefix: str, mwaa_property: str) -> Path:
    """The staged file the environment's ``<mwaa_property>S3Path`` names, after checking that the
    environment pins the exact S3 version the (non-extracting) deployment wrote under `prefix`."""
    env = each_env.only("AWS::MWAA::Environment")
    (deployment_id,) = [
        logical_id
        for logical_id, r in each_env.resources("Custom::CDKBucketDeployment").items()
        if r["Properties"]["DestinationBucketKeyPrefix"] == prefix
    ]
    assert env[f"{mwaa_property}S3ObjectVersion"] == {
        "Fn::Select": [0, {"Fn::GetAtt": [deployment_id, "SourceObjectVersionIds"]}]
    }
    assert prefix in json.dumps(env[f"{mwaa_property}S3Path"])
    deployment = each_env.template["Resources"][deployment_id]["Properties"]
    assert deployment["Extract"] is False
    assert deployment["OutputObjectVersionIds"] is True
    return each_env.asset_path(json.dumps(deployment["SourceObjectKeys"]))


def test_requirements_are_pinned_by_the_deployed_object_version(each_env):
    staged = _pinned_upload(each_env, "requirements/", "Requirements").read_text()
    assert "constraints-3.3.1/constraints-3.12.txt" in staged
    # MWAA installs the same Amazon provider (and extras) the project pins and tests against.
    pinned = [
        line.strip()
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("apache-airflow-providers-amazon")
    ]
    assert pinned
    assert pinned[0] in staged.splitlines()


def test_plugins_zip_holds_the_trigger_the_dag_defers_to_pinned_by_object_version(each_env):
    from music_pipeline.glue import RunGlueJobOperator
    from music_triggers.glue import StoppableGlueJobCompleteTrigger

    staged = _pinned_upload(each_env, "plugins/", "Plugins")
    with zipfile.ZipFile(staged) as archive:
        names = archive.namelist()
        module = archive.read("music_triggers/glue.py")
    # The triggerer imports the class by the path the operator serializes; the zip holds that one source.
    classpath, _ = StoppableGlueJobCompleteTrigger(job_name="j", run_id="r").serialize()
    assert classpath == "music_triggers.glue.StoppableGlueJobCompleteTrigger"
    assert module == (REPO_ROOT / "plugins" / "music_triggers" / "glue.py").read_bytes()
    assert sorted(names) == ["music_triggers/__init__.py", "music_triggers/glue.py"]
    assert RunGlueJobOperator.defer.__module__ == "music_pipeline.glue"
    # One source: no trigger class is defined under dags/ (the DAG package imports music_triggers).
    dag_sources = [p.read_text() for p in (REPO_ROOT / "dags").rglob("*.py")]
    assert not [text for text in dag_sources if "Trigger):" in text or "Trigger, " in text]


def test_dag_folder_upload_is_pruned_and_clean(each_env):
    deployments = [
        r["Properties"]
        for r in each_env.resources("Custom::CDKBucketDeployment").values()
        if r["Properties"]["DestinationBucketKeyPrefix"] == "dags/"
    ]
    assert len(deployments) == 1
    assert deployments[0]["Prune"] is True
    staged = each_env.asset_path(json.dumps(deployments[0]["SourceObjectKeys"]))
    files = [p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()]
    # The shared contract rides beside the DAG's package, byte for byte the repository's.
    assert "music_pipeline/__init__.py" in files
    for source in (REPO_ROOT / "music_contract").rglob("*.py"):
        shipped = staged / "music_contract" / source.relative_to(REPO_ROOT / "music_contract")
        assert shipped.read_bytes() == source.read_bytes()
    ignored = (staged / ".airflowignore").read_text().split()
    assert {"music_pipeline/", "music_contract/"} <= set(ignored)
    assert ".airflowignore" in files  # MWAA's DAG processor parses only the DAG file
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f]
    assert not [f for f in files if f.rsplit("/", 1)[-1].startswith("README")]
    dag_file = REPO_ROOT / "dags" / "music_streaming_pipeline_dynamo.py"
    if dag_file.exists():
        assert dag_file.name in files


def test_ssm_parameters_hold_the_airflow_variables_and_connection(each_env):
    params = {
        p["Properties"]["Name"]: p["Properties"]["Value"]
        for p in each_env.resources("AWS::SSM::Parameter").values()
    }
    prefix = f"/music-streams/{each_env.env}/airflow"
    expected_variables = {
        contract.VAR_BUCKET_NAME,
        contract.VAR_GLUE_JOB_NAME,
        contract.VAR_GLUE_SCRIPT_LOCATION,
        contract.VAR_DATABASE_NAME,
        contract.VAR_ALERT_TOPIC_ARN,
        contract.VAR_ENVIRONMENT_NAME,
    }
    assert set(params) == {f"{prefix}/variables/{v}" for v in expected_variables} | {
        f"{prefix}/connections/{contract.AWS_CONN_ID}"
    }
    assert (
        params[f"{prefix}/variables/{contract.VAR_GLUE_JOB_NAME}"]
        == f"music-streams-{each_env.env}-compute-kpis"
    )
    assert params[f"{prefix}/variables/{contract.VAR_DATABASE_NAME}"] == each_env.config.database_name
    # The metrics' Environment dimension and the alerts' environment (the name the alarms read).
    assert params[f"{prefix}/variables/{contract.VAR_ENVIRONMENT_NAME}"] == each_env.env
    topic_id = each_env.logical_id(each_env.stack.alerting.topic)
    assert params[f"{prefix}/variables/{contract.VAR_ALERT_TOPIC_ARN}"] == {"Ref": topic_id}
    connection = json.dumps(params[f"{prefix}/connections/{contract.AWS_CONN_ID}"])
    assert '\\"conn_type\\": \\"aws\\"' in connection
    assert "aws_access_key_id" not in connection
    assert "secret" not in connection.lower()


def test_mwaa_execution_role_is_scoped_to_this_environment(each_env):
    policy = policy_of(each_env, each_env.stack.mwaa.execution_policy)
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

    policy = policy_of(each_env, each_env.stack.mwaa.execution_policy)
    publish = statement(policy, "PublishPipelineMetrics")
    assert publish["Action"] == "cloudwatch:PutMetricData"
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": contract.METRIC_NAMESPACE}}
    # Every PutMetricData grant of the role is held to a namespace.
    for grant in policy["PolicyDocument"]["Statement"]:
        if "cloudwatch:PutMetricData" in json.dumps(grant["Action"]):
            assert "cloudwatch:namespace" in grant["Condition"]["StringEquals"]
