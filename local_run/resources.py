"""The stack's resources, created in the emulator from the same configuration `cdk deploy` uses.

Names come from `infra.config` (the `dev` environment of `cdk.json`), the Glue job's default
arguments and the Airflow Variables from `infra.pipeline_settings`: nothing here repeats them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import boto3

from infra.config import PipelineConfig, ResourceNames
from infra.pipeline_settings import airflow_variables, glue_default_arguments
from local_run.emulator import Emulator
from music_contract import items, layout
from music_contract import names as contract_names
from ops.report import sources

REPO_ROOT = Path(__file__).resolve().parents[1]
GLUE_SCRIPT = REPO_ROOT / "glue_scripts" / "compute_kpis.py"


def load_config(env_name: str = "dev") -> PipelineConfig:
    """The configuration `cdk deploy -c env=<env_name>` would use."""
    return PipelineConfig.load(env_name)


@dataclass(frozen=True)
class LocalStack:
    """The emulated resources of one environment, and the settings the DAG and the job receive."""

    config: PipelineConfig
    names: ResourceNames
    alert_topic_arn: str
    alert_queue_url: str
    glue_default_arguments: dict[str, str]
    airflow_variables: dict[str, str]

    def apply_airflow_variables(self) -> None:
        """Locally the DAG reads its Variables from `AIRFLOW_VAR_*` (on MWAA: SSM parameters)."""
        for key, value in self.airflow_variables.items():
            os.environ[f"AIRFLOW_VAR_{key.upper()}"] = value


def create_kpi_table(name: str) -> str:
    """The KPI table as the stack defines it (docs/DESIGN.md keys and GSI), on demand; returns its name."""
    key_names = (
        items.TABLE_PARTITION_KEY,
        items.TABLE_SORT_KEY,
        items.GSI1_PARTITION_KEY,
        items.GSI1_SORT_KEY,
    )
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in key_names],
        KeySchema=[
            {"AttributeName": items.TABLE_PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": items.TABLE_SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": items.GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": items.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": items.GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def create_local_stack(emulator: Emulator, config: PipelineConfig | None = None) -> LocalStack:
    """Create the bucket, KPI table, alert topic (with a queue that records alerts), Glue database
    and Glue job in the emulator. Safe to call again: existing resources are kept."""
    config = config or load_config()
    names = config.names(emulator.account, emulator.region)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=names.data_bucket)

    if names.kpi_table not in boto3.client("dynamodb").list_tables()["TableNames"]:
        create_kpi_table(names.kpi_table)

    # Alerts: the topic, and a queue subscribed to it so that a run's alerts can be read back.
    topic_arn = boto3.client("sns").create_topic(Name=names.alert_topic)["TopicArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{names.alert_topic}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    glue = boto3.client("glue")
    if config.database_name not in {d["Name"] for d in glue.get_databases()["DatabaseList"]}:
        glue.create_database(DatabaseInput={"Name": config.database_name})
    assets = f"s3://{names.data_bucket}/{layout.LOCAL_ASSETS_PREFIX}"
    script_location = f"{assets}compute_kpis.py"
    default_arguments = glue_default_arguments(
        config, names, extra_py_files=f"{assets}glue_libraries.zip", temp_dir=f"{assets}tmp/"
    )
    existing = {j["Name"] for j in glue.get_jobs()["Jobs"]}
    if names.glue_job not in existing:
        glue.create_job(
            Name=names.glue_job,
            Role=f"arn:aws:iam::{emulator.account}:role/{names.prefix}-glue-job",
            Command={"Name": "glueetl", "ScriptLocation": script_location, "PythonVersion": "3"},
            GlueVersion=config.glue_version,
            WorkerType=config.glue_worker_type,  # the stack's capacity (infra/glue_job.py)
            NumberOfWorkers=config.glue_number_of_workers,
            DefaultArguments=default_arguments,
            ExecutionProperty={"MaxConcurrentRuns": contract_names.GLUE_MAX_CONCURRENT_RUNS},
            JobRunQueuingEnabled=contract_names.GLUE_JOB_RUN_QUEUING,  # as the stack's job (infra/glue_job.py)
        )
    variables = airflow_variables(
        config, names, names.glue_job, glue_script_location=script_location, alert_topic_arn=topic_arn
    )
    return LocalStack(config, names, topic_arn, queue_url, default_arguments, variables)


def received_alerts(stack: LocalStack) -> list[str]:
    """The alert messages published since the last call (drained from the recording queue)."""
    sqs = boto3.client("sqs")
    messages: list[str] = []
    while True:
        batch = sqs.receive_message(QueueUrl=stack.alert_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not batch:
            return messages
        for message in batch:
            messages.append(message["Body"])
            sqs.delete_message(QueueUrl=stack.alert_queue_url, ReceiptHandle=message["ReceiptHandle"])


def read_kpi_items(stack: LocalStack) -> list[dict]:
    """Every item of the emulated KPI table, as DynamoDB returns them (Decimal numbers)."""
    return sources.read_kpi_items(stack.names.kpi_table)


def serverless_workflow_arn(stack: LocalStack) -> str:
    """The ARN of the stack's MWAA Serverless workflow (``arn:aws:airflow-serverless:<region>:<account>:
    workflow/<name>``, as the stack's execution role scopes it) in the emulator."""
    names = stack.names
    return f"arn:aws:airflow-serverless:{names.region}:{names.account}:workflow/{names.serverless_workflow}"


def register_stack_outputs(stack: LocalStack) -> str:
    """Register the emulated resources as the CloudFormation stack `cdk deploy` would create
    (``MusicStreams-<env>``), with the outputs the operator commands read (infra/stack.py names them),
    so `ops.smoke` and `ops.report` find the emulated environment as they find a deployed one.
    Returns the stack name."""
    import json
    import warnings

    from infra.config import stack_name

    names = stack.names
    outputs = {
        "DataBucketName": names.data_bucket,
        "KpiTableName": names.kpi_table,
        "GlueDatabaseName": stack.config.database_name,
        "GlueJobName": names.glue_job,
        "AlertTopicArn": stack.alert_topic_arn,
        "OrchestrationMode": stack.config.orchestration,
    }
    if stack.config.is_serverless:
        outputs["ServerlessWorkflowArn"] = serverless_workflow_arn(stack)
    else:
        outputs["MwaaEnvironmentName"] = names.mwaa_environment
    template = {
        # A stack needs one resource; a wait condition handle creates nothing.
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    name = stack_name(stack.config)
    with warnings.catch_warnings():  # moto: "WaitConditionHandle ... not supported", and it need not be
        warnings.simplefilter("ignore", UserWarning)
        boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name
