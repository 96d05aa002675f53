"""The Glue default arguments and Airflow variables: one definition for the stack and the demo."""

from __future__ import annotations

import importlib
import json

from infra.config import PipelineConfig
from infra.pipeline_settings import (
    SSM_SECRETS_BACKEND,
    airflow_variables,
    aws_connection,
    glue_default_arguments,
    glue_log_group_names,
    mwaa_airflow_configuration_options,
)
from music_contract import names as contract_names

CONFIG = PipelineConfig(env_name="dev", max_reject_ratio=0.1)
NAMES = CONFIG.names("123456789012", "eu-west-1")


def test_glue_default_arguments_carry_the_contract_arguments_the_job_reads():
    args = glue_default_arguments(
        CONFIG, NAMES, extra_py_files="s3://assets/libs.zip", temp_dir="s3://data/glue-temp/"
    )
    assert args[contract_names.ARG_DATA_BUCKET] == "music-streams-dev-data-123456789012-eu-west-1"
    assert args[contract_names.ARG_KPI_TABLE] == "music-streams-dev-genre-kpis"
    assert args[contract_names.ARG_DATABASE_NAME] == "music_streams_dev"  # dev's own database
    assert args[contract_names.ARG_MAX_REJECT_RATIO] == "0.1"
    assert args["--extra-py-files"] == "s3://assets/libs.zip"
    assert args["--TempDir"] == "s3://data/glue-temp/"
    # Metrics and observability on; the manifest, not bookmarks, decides what a run reads.
    assert args["--enable-metrics"] == args["--enable-observability-metrics"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    # Glue 5.x logs in real time by itself; the stack-owned log groups are named by this prefix.
    assert "--enable-continuous-cloudwatch-log" not in args
    assert args["--custom-logGroup-prefix"] == "/aws-glue/jobs/music-streams-dev-compute-kpis"
    # The names AWS documents for the prefix (monitor-continuous-logging.html, "Custom logging").
    assert glue_log_group_names(NAMES) == [
        "/aws-glue/jobs/music-streams-dev-compute-kpis/output",
        "/aws-glue/jobs/music-streams-dev-compute-kpis/error",
    ]
    # Per-run arguments belong to the DAG, never to the job's defaults.
    assert contract_names.ARG_MANIFEST_KEY not in args
    assert contract_names.ARG_RUN_ID not in args
    assert all(isinstance(v, str) for v in args.values())


def test_airflow_variables_are_the_contract_variables():
    variables = airflow_variables(
        CONFIG,
        NAMES,
        "music-streams-dev-compute-kpis",
        glue_script_location="s3://a/b.py",
        alert_topic_arn="arn:t",
    )
    assert variables == {
        contract_names.VAR_BUCKET_NAME: NAMES.data_bucket,
        contract_names.VAR_GLUE_JOB_NAME: "music-streams-dev-compute-kpis",
        contract_names.VAR_GLUE_SCRIPT_LOCATION: "s3://a/b.py",
        contract_names.VAR_DATABASE_NAME: "music_streams_dev",
        contract_names.VAR_ALERT_TOPIC_ARN: "arn:t",
        contract_names.VAR_ENVIRONMENT_NAME: NAMES.env_name,
    }
    assert tuple(variables) == contract_names.PIPELINE_VARIABLES  # what the secrets backend looks up


def test_an_empty_optional_variable_is_left_out_because_ssm_rejects_empty_values():
    variables = airflow_variables(CONFIG, NAMES, "job", glue_script_location="s3://a/b.py")
    assert contract_names.VAR_ALERT_TOPIC_ARN not in variables
    assert all(variables.values())


def test_mwaa_reads_variables_and_connections_from_this_environments_ssm_prefix():
    options = mwaa_airflow_configuration_options(NAMES)
    assert options["secrets.backend"] == SSM_SECRETS_BACKEND
    kwargs = json.loads(options["secrets.backend_kwargs"])
    assert kwargs["connections_prefix"] == "/music-streams/dev/airflow/connections"
    assert kwargs["variables_prefix"] == "/music-streams/dev/airflow/variables"


def test_the_secrets_backend_looks_up_only_the_pipelines_connection_and_variables(moto_server):
    """The rendered kwargs, given to the provider's real backend against moto SSM."""
    import boto3
    from airflow.providers.amazon.aws.secrets.systems_manager import SystemsManagerParameterStoreBackend

    names = PipelineConfig(env_name="lookup").names("123456789012", moto_server.region)
    ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint_url, region_name=moto_server.region)
    stored_variables = [*contract_names.PIPELINE_VARIABLES, "other_variable", "bucket_name_old"]
    for name in stored_variables:
        ssm.put_parameter(Name=f"{names.airflow_variables_prefix}/{name}", Value=f"v-{name}", Type="String")
    for conn_id in (contract_names.AWS_CONN_ID, "aws_default"):
        ssm.put_parameter(
            Name=f"{names.airflow_connections_prefix}/{conn_id}", Value='{"conn_type": "aws"}', Type="String"
        )
    kwargs = json.loads(mwaa_airflow_configuration_options(names)["secrets.backend_kwargs"])
    backend = SystemsManagerParameterStoreBackend(**kwargs)
    looked_up: list[str] = []
    backend.client.meta.events.register(
        "provide-client-params.ssm.GetParameter", lambda params, **_: looked_up.append(params["Name"])
    )

    found = {name: backend.get_variable(name) for name in stored_variables}

    assert found == {
        **{n: f"v-{n}" for n in contract_names.PIPELINE_VARIABLES},
        "other_variable": None,
        "bucket_name_old": None,
    }
    assert backend.get_conn_value(contract_names.AWS_CONN_ID) == '{"conn_type": "aws"}'
    assert backend.get_conn_value("aws_default") is None
    assert sorted(looked_up) == sorted(
        [f"{names.airflow_variables_prefix}/{n}" for n in contract_names.PIPELINE_VARIABLES]
        + [f"{names.airflow_connections_prefix}/{contract_names.AWS_CONN_ID}"]
    )


def test_the_aws_connection_holds_no_keys():
    connection = aws_connection("eu-west-1")
    assert connection == {"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}


def test_the_secrets_backend_class_exists_in_the_pinned_provider():
    module_name, class_name = SSM_SECRETS_BACKEND.rsplit(".", 1)
    assert hasattr(importlib.import_module(module_name), class_name)
