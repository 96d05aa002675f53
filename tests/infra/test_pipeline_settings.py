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
from music_pipeline import contract

CONFIG = PipelineConfig(env_name="dev", max_reject_ratio=0.1)
NAMES = CONFIG.names("123456789012", "eu-west-1")


def test_glue_default_arguments_carry_the_contract_arguments_the_job_reads():
    args = glue_default_arguments(
        CONFIG, NAMES, extra_py_files="s3://assets/libs.zip", temp_dir="s3://data/glue-temp/"
    )
    assert args[contract.ARG_DATA_BUCKET] == "music-streams-dev-data-123456789012-eu-west-1"
    assert args[contract.ARG_KPI_TABLE] == "music-streams-dev-genre-kpis"
    assert args[contract.ARG_DATABASE_NAME] == "music_streams_dev"  # dev's own database
    assert args[contract.ARG_MAX_REJECT_RATIO] == "0.1"
    assert args["--extra-py-files"] == "s3://assets/libs.zip"
    assert args["--TempDir"] == "s3://data/glue-temp/"
    # Metrics and observability on; the manifest, not bookmarks, decides what a run reads.
    assert args["--enable-metrics"] == args["--enable-observability-metrics"] == "true"
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    # Glue 5.x logs in real time by itself; the stack-owned log groups are named by this prefix.
    assert "--enable-continuous-cloudwatch-log" not in args
    assert args["--custom-logGroup-prefix"] == "/aws-glue/jobs/music-streams-dev-compute-kpis"
    # With the security configuration's CloudWatch encryption, Glue adds "<config>-role/<role name>".
    assert glue_log_group_names(NAMES, "JobRole123") == [
        "/aws-glue/jobs/music-streams-dev-compute-kpis/music-streams-dev-glue-role/JobRole123/output",
        "/aws-glue/jobs/music-streams-dev-compute-kpis/music-streams-dev-glue-role/JobRole123/error",
    ]
    # Per-run arguments belong to the DAG, never to the job's defaults.
    assert contract.ARG_MANIFEST_KEY not in args
    assert contract.ARG_RUN_ID not in args
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
        contract.VAR_BUCKET_NAME: NAMES.data_bucket,
        contract.VAR_GLUE_JOB_NAME: "music-streams-dev-compute-kpis",
        contract.VAR_GLUE_SCRIPT_LOCATION: "s3://a/b.py",
        contract.VAR_DATABASE_NAME: "music_streams_dev",
        contract.VAR_ALERT_TOPIC_ARN: "arn:t",
    }


def test_an_empty_optional_variable_is_left_out_because_ssm_rejects_empty_values():
    variables = airflow_variables(CONFIG, NAMES, "job", glue_script_location="s3://a/b.py")
    assert contract.VAR_ALERT_TOPIC_ARN not in variables
    assert all(variables.values())


def test_mwaa_reads_variables_and_connections_from_this_environments_ssm_prefix():
    options = mwaa_airflow_configuration_options(NAMES)
    assert options["secrets.backend"] == SSM_SECRETS_BACKEND
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "/music-streams/dev/airflow/connections",
        "variables_prefix": "/music-streams/dev/airflow/variables",
    }


def test_the_aws_connection_holds_no_keys():
    connection = aws_connection("eu-west-1")
    assert connection == {"conn_type": "aws", "extra": {"region_name": "eu-west-1"}}


def test_the_secrets_backend_class_exists_in_the_pinned_provider():
    module_name, class_name = SSM_SECRETS_BACKEND.rsplit(".", 1)
    assert hasattr(importlib.import_module(module_name), class_name)
