"""Template assertions: every resource the stack deploys and the properties users and reviewers
rely on. The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from aws_cdk import Token
from aws_cdk.assertions import Match, Template

from infra.catalog import PROJECTION_START_DATE
from infra.monitoring import GLUE_FAILURE_STATES
from infra.orchestration import MWAA_LOG_TYPES
from music_pipeline import contract

REPO_ROOT = Path(__file__).resolve().parents[2]
# Actions allowed on Resource "*" because AWS offers no resource-level permission for them.
ACTIONS_WITHOUT_RESOURCE_TYPES = {
    "cloudwatch:PutMetricData",
    "logs:DescribeLogGroups",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketPublicAccessBlock",
}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _statements(policy_properties: dict) -> list[dict]:
    return policy_properties["PolicyDocument"]["Statement"]


def _statement(policy_properties: dict, sid: str) -> dict:
    return next(s for s in _statements(policy_properties) if s.get("Sid") == sid)


def _policy_of(synth, policy_construct) -> dict:
    return synth.template["Resources"][synth.logical_id(policy_construct)]["Properties"]


# --- Stack shape -------------------------------------------------------------------------------


def test_stack_name_and_environment_agnostic(each_env):
    stack = each_env.stack
    assert stack.stack_name == f"MusicStreams-{each_env.env}"
    assert stack.termination_protection is each_env.config.is_prod
    assert Token.is_unresolved(stack.account)
    assert Token.is_unresolved(stack.region)
    text = json.dumps(each_env.template)
    for region in ("us-east-1", "eu-west-1", "eu-central-1"):
        assert region not in text
    assert "Fn::GetAZs" in text  # the two AZs come from the region at deploy time


def test_every_resource_type_is_present(each_env):
    counts = {
        "AWS::KMS::Key": 1,
        "AWS::S3::Bucket": 3,
        "AWS::DynamoDB::Table": 1,
        "AWS::Glue::Database": 1,
        "AWS::Glue::Table": len(contract.CURATED_TABLES),
        "AWS::Glue::SecurityConfiguration": 1,
        "AWS::Glue::Job": 1,
        "AWS::EC2::VPC": 1,
        "AWS::EC2::FlowLog": 1,
        "AWS::MWAA::Environment": 1,
        "AWS::SSM::Parameter": 6,
        "Custom::CDKBucketDeployment": 2,
        "AWS::SNS::Topic": 1,
        "AWS::Events::Rule": 1,
        "AWS::CloudWatch::Alarm": 4,
        "AWS::CloudWatch::Dashboard": 1,
    }
    template = Template.from_json(each_env.template)
    for resource_type, count in counts.items():
        template.resource_count_is(resource_type, count)


def test_outputs_name_what_users_need(each_env):
    outputs = each_env.template["Outputs"]
    for name in (
        "DataBucketName",
        "MwaaSourceBucketName",
        "AccessLogsBucketName",
        "KpiTableName",
        "GlueDatabaseName",
        "GlueJobName",
        "MwaaEnvironmentName",
        "MwaaWebserverUrl",
        "AlertTopicArn",
        "DashboardName",
    ):
        assert name in outputs, name
    assert outputs["KpiTableName"]["Value"] == {"Ref": each_env.logical_id(each_env.stack.kpi_store.table)}
    assert outputs["MwaaWebserverUrl"]["Value"] == {
        "Fn::GetAtt": [
            each_env.stack.get_logical_id(each_env.stack.orchestration.environment),
            "WebserverUrl",
        ]
    }


# --- Storage -------------------------------------------------------------------------------------


def test_key_rotates(each_env):
    assert each_env.only("AWS::KMS::Key")["EnableKeyRotation"] is True


def test_buckets_are_private_versioned_and_encrypted(each_env):
    storage = each_env.stack.storage
    key_id = each_env.logical_id(storage.key)
    logs_bucket = each_env.logical_id(storage.access_logs_bucket)
    buckets = each_env.resources("AWS::S3::Bucket")
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        default = encryption["ServerSideEncryptionByDefault"]
        if logical_id == logs_bucket:
            assert default == {"SSEAlgorithm": "AES256"}  # log delivery cannot write SSE-KMS
        else:
            assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}
            assert encryption["BucketKeyEnabled"] is True
            assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket}


def test_every_bucket_denies_plain_http(each_env):
    policies = each_env.resources("AWS::S3::BucketPolicy")
    denied_buckets = set()
    for policy in policies.values():
        for statement in _statements(policy["Properties"]):
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                denied_buckets.add(policy["Properties"]["Bucket"]["Ref"])
    assert denied_buckets == set(each_env.resources("AWS::S3::Bucket"))


def test_archive_and_quarantine_move_to_cheaper_storage_and_old_versions_expire(each_env):
    data_bucket = each_env.template["Resources"][each_env.logical_id(each_env.stack.storage.data_bucket)]
    rules = {r["Id"]: r for r in data_bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    days = each_env.config.archive_transition_days
    for prefix in (contract.ARCHIVE_PREFIX, contract.QUARANTINE_PREFIX):
        rule = next(r for r in rules.values() if r.get("Prefix") == prefix)
        assert [(t["StorageClass"], t["TransitionInDays"]) for t in rule["Transitions"]] == [
            ("STANDARD_IA", days),
            ("GLACIER_IR", days * 3),
        ]
    assert rules["expire-old-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": each_env.config.noncurrent_version_expiration_days
    }


def test_every_prefix_the_glue_job_stages_in_expires(each_env):
    """A run killed before it cleans up leaves nothing that is never removed (issue 10, item 2)."""
    data_bucket = each_env.template["Resources"][each_env.logical_id(each_env.stack.storage.data_bucket)]
    expiring = {
        r["Prefix"]: r["ExpirationInDays"]
        for r in data_bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if "ExpirationInDays" in r
    }
    assert expiring[contract.STAGING_PREFIX] == contract.STAGING_EXPIRATION_DAYS
    assert contract.staging_prefix("manual__2026-11-25T17:18:46+00:00").startswith(contract.STAGING_PREFIX)


def test_data_is_retained_in_prod_and_removable_in_dev(dev, prod):
    for synth, policy in ((prod, "Retain"), (dev, "Delete")):
        for kind in ("AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"):
            for resource in synth.resources(kind).values():
                assert resource["DeletionPolicy"] == policy, (synth.env, kind)


# --- KPI store -----------------------------------------------------------------------------------


def test_kpi_table_keys_index_and_protection(each_env):
    props = each_env.only("AWS::DynamoDB::Table")
    assert props["TableName"] == f"music-streams-{each_env.env}-genre-kpis"
    assert props["KeySchema"] == [
        {"AttributeName": contract.TABLE_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": contract.TABLE_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": contract.GSI1_NAME,
            "KeySchema": [
                {"AttributeName": contract.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": contract.GSI1_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["DeletionProtectionEnabled"] is each_env.config.is_prod


# --- Catalog and Glue job ------------------------------------------------------------------------


def test_curated_tables_follow_the_contract_with_partition_projection(each_env):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]
        for t in each_env.resources("AWS::Glue::Table").values()
    }
    assert set(tables) == set(contract.CURATED_TABLES)
    for name, curated in contract.CURATED_TABLES.items():
        props = tables[name]
        assert props["DatabaseName"] == contract.DEFAULT_DATABASE_NAME
        table_input = props["TableInput"]
        columns = [(c["Name"], c["Type"]) for c in table_input["StorageDescriptor"]["Columns"]]
        assert columns == list(curated.columns)
        assert table_input["PartitionKeys"] == [{"Name": contract.PARTITION_COLUMN, "Type": "string"}]
        parameters = table_input["Parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.listen_date.type"] == "date"
        assert parameters["projection.listen_date.format"] == "yyyy-MM-dd"
        assert parameters["projection.listen_date.range"] == f"{PROJECTION_START_DATE},NOW"
        template = json.dumps(parameters["storage.location.template"])
        assert f"/{curated.prefix}listen_date=${{listen_date}}/" in template
        assert "ParquetHiveSerDe" in table_input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    database = each_env.only("AWS::Glue::Database")
    assert database["DatabaseInput"]["Name"] == contract.DEFAULT_DATABASE_NAME


def test_glue_security_configuration_encrypts_s3_logs_and_bookmarks(each_env):
    encryption = each_env.only("AWS::Glue::SecurityConfiguration")["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def test_glue_job_version_capacity_and_concurrency(each_env):
    job = each_env.only("AWS::Glue::Job")
    config = each_env.config
    assert job["Name"] == f"music-streams-{each_env.env}-compute-kpis"
    assert job["GlueVersion"] == "5.1"
    assert job["Command"]["Name"] == "glueetl"
    assert job["Command"]["PythonVersion"] == "3"
    assert job["WorkerType"] == config.glue_worker_type
    assert job["NumberOfWorkers"] == config.glue_number_of_workers
    assert job["Timeout"] == config.glue_timeout_minutes
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["SecurityConfiguration"] == each_env.only("AWS::Glue::SecurityConfiguration")["Name"]


def test_prod_runs_more_glue_workers_than_dev(dev, prod):
    assert prod.only("AWS::Glue::Job")["NumberOfWorkers"] > dev.only("AWS::Glue::Job")["NumberOfWorkers"]


def test_glue_job_default_arguments(each_env):
    args = each_env.only("AWS::Glue::Job")["DefaultArguments"]
    assert args[contract.ARG_KPI_TABLE] == f"music-streams-{each_env.env}-genre-kpis"
    assert args[contract.ARG_DATABASE_NAME] == contract.DEFAULT_DATABASE_NAME
    assert args[contract.ARG_MAX_REJECT_RATIO] == str(contract.DEFAULT_MAX_REJECT_RATIO)
    assert "-data-" in json.dumps(args[contract.ARG_DATA_BUCKET])
    assert args["--enable-metrics"] == args["--enable-observability-metrics"] == "true"
    assert args["--enable-continuous-cloudwatch-log"] == "true"


def test_glue_script_is_the_repositorys_script_asset(each_env):
    location = json.dumps(each_env.only("AWS::Glue::Job")["Command"]["ScriptLocation"])
    staged = each_env.asset_path(location)
    assert staged.read_bytes() == (REPO_ROOT / "glue_scripts" / "compute_kpis.py").read_bytes()


def test_glue_libraries_zip_holds_both_packages_at_its_root(each_env):
    extra = json.dumps(each_env.only("AWS::Glue::Job")["DefaultArguments"]["--extra-py-files"])
    assert ".zip" in extra
    names = zipfile.ZipFile(each_env.asset_path(extra)).namelist()
    assert "music_pipeline/__init__.py" in names
    assert "music_pipeline/contract.py" in names
    if (REPO_ROOT / "glue_scripts" / "music_kpis" / "__init__.py").is_file():
        assert "music_kpis/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_glue_role_is_scoped_to_this_pipeline(each_env):
    policy = _policy_of(each_env, each_env.stack.catalog.policy)
    _assert_no_wildcard_actions(policy)
    dynamodb = _statement(policy, "WriteKpiItems")
    assert dynamodb["Resource"] == {
        "Fn::GetAtt": [each_env.logical_id(each_env.stack.kpi_store.table), "Arn"]
    }
    code = _statement(policy, "ReadJobCode")
    assert "*" not in json.dumps(code["Resource"])  # exactly the two asset objects
    assert _statement(policy, "PublishJobMetrics")["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "Glue"}
    }


# --- Orchestration ----------------------------------------------------------------------------


def test_vpc_two_private_subnets_in_two_azs_with_nat_and_flow_logs(each_env):
    subnets = each_env.resources("AWS::EC2::Subnet")
    private = [s["Properties"] for s in subnets.values() if s["Properties"]["MapPublicIpOnLaunch"] is False]
    assert len(subnets) == 4
    assert len(private) == 4  # nothing gets a public IP on launch
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(azs) == 2
    assert len(each_env.resources("AWS::EC2::NatGateway")) == each_env.config.nat_gateways
    flow_log = each_env.only("AWS::EC2::FlowLog")
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert each_env.only("AWS::EC2::VPC")["CidrBlock"] == each_env.config.vpc_cidr


def test_prod_survives_an_az_loss_with_two_nat_gateways(dev, prod):
    assert len(dev.resources("AWS::EC2::NatGateway")) == 1
    assert len(prod.resources("AWS::EC2::NatGateway")) == 2


def test_mwaa_security_group_only_admits_itself(each_env):
    sg_id = each_env.logical_id(each_env.stack.orchestration.security_group)
    ingress = [r["Properties"] for r in each_env.resources("AWS::EC2::SecurityGroupIngress").values()]
    assert sorted(r["FromPort"] for r in ingress if r["GroupId"]["Fn::GetAtt"][0] == sg_id) == [443, 5432]
    for rule in ingress:
        assert "CidrIp" not in rule
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}


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


def test_requirements_are_pinned_by_the_deployed_object_version(each_env):
    env = each_env.only("AWS::MWAA::Environment")
    (deployment_id,) = [
        logical_id
        for logical_id, r in each_env.resources("Custom::CDKBucketDeployment").items()
        if r["Properties"]["DestinationBucketKeyPrefix"] == "requirements/"
    ]
    assert env["RequirementsS3ObjectVersion"] == {
        "Fn::Select": [0, {"Fn::GetAtt": [deployment_id, "SourceObjectVersionIds"]}]
    }
    assert "requirements/" in json.dumps(env["RequirementsS3Path"])
    deployment = each_env.template["Resources"][deployment_id]["Properties"]
    assert deployment["Extract"] is False
    assert deployment["OutputObjectVersionIds"] is True
    staged = each_env.asset_path(json.dumps(deployment["SourceObjectKeys"])).read_text()
    assert "constraints-3.3.1/constraints-3.12.txt" in staged
    # MWAA installs the same Amazon provider (and extras) the project pins and tests against.
    pinned = [
        line.strip()
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("apache-airflow-providers-amazon")
    ]
    assert pinned
    assert pinned[0] in staged.splitlines()


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
    assert "music_pipeline/contract.py" in files
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
    }
    assert set(params) == {f"{prefix}/variables/{v}" for v in expected_variables} | {
        f"{prefix}/connections/{contract.AWS_CONN_ID}"
    }
    assert (
        params[f"{prefix}/variables/{contract.VAR_GLUE_JOB_NAME}"]
        == f"music-streams-{each_env.env}-compute-kpis"
    )
    assert params[f"{prefix}/variables/{contract.VAR_DATABASE_NAME}"] == contract.DEFAULT_DATABASE_NAME
    topic_id = each_env.logical_id(each_env.stack.alerting.topic)
    assert params[f"{prefix}/variables/{contract.VAR_ALERT_TOPIC_ARN}"] == {"Ref": topic_id}
    connection = json.dumps(params[f"{prefix}/connections/{contract.AWS_CONN_ID}"])
    assert '\\"conn_type\\": \\"aws\\"' in connection
    assert "aws_access_key_id" not in connection
    assert "secret" not in connection.lower()


def test_mwaa_execution_role_is_scoped_to_this_environment(each_env):
    policy = _policy_of(each_env, each_env.stack.orchestration.execution_policy)
    _assert_no_wildcard_actions(policy)
    env_name = f"music-streams-{each_env.env}-airflow"
    assert f"log-group:airflow-{env_name}-*" in json.dumps(_statement(policy, "WriteAirflowLogs")["Resource"])
    assert ":airflow-celery-*" in json.dumps(_statement(policy, "UseCeleryQueue")["Resource"])
    glue = _statement(policy, "RunGlueJob")
    assert set(glue["Action"]) <= {
        "glue:GetJob",
        "glue:StartJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:BatchStopJobRun",
    }
    assert f"job/music-streams-{each_env.env}-compute-kpis" in json.dumps(glue["Resource"])
    ssm = json.dumps(_statement(policy, "ReadAirflowSecrets")["Resource"])
    assert f"parameter/music-streams/{each_env.env}/airflow/*" in ssm
    assert _statement(policy, "PublishAlerts")["Resource"] == {
        "Ref": each_env.logical_id(each_env.stack.alerting.topic)
    }
    kms = _statement(policy, "UseEnvironmentKeyThroughServices")
    assert "kms:ViaService" in kms["Condition"]["StringEquals"]


def _assert_no_wildcard_actions(policy: dict) -> None:
    for statement in _statements(policy):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, (statement.get("Sid"), action)
        if statement["Resource"] == "*":
            assert set(_as_list(statement["Action"])) <= ACTIONS_WITHOUT_RESOURCE_TYPES, statement.get("Sid")


# --- Alerting and monitoring --------------------------------------------------------------------


def test_alert_topic_is_encrypted_and_tls_only(each_env):
    topic = each_env.only("AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [each_env.logical_id(each_env.stack.storage.key), "Arn"]}
    policy = each_env.only("AWS::SNS::TopicPolicy")
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in _statements(policy)
    )
    # cdk.json sets no alert e-mail for either environment: no subscription to confirm.
    assert not each_env.resources("AWS::SNS::Subscription")


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


@pytest.mark.parametrize("resource_type", ["AWS::Logs::LogGroup"])
def test_log_groups_are_encrypted_with_a_retention(each_env, resource_type):
    for group in each_env.resources(resource_type).values():
        assert group["Properties"]["RetentionInDays"] == each_env.config.log_retention_days
        assert "KmsKeyId" in group["Properties"]


def test_template_uses_match_api_for_tags(each_env):
    Template.from_json(each_env.template).has_resource_properties(
        "AWS::MWAA::Environment",
        {"Tags": Match.object_like({"environment": each_env.env, "project": "music-streams"})},
    )
