"""Settings the stack deploys and the local run (`make demo`) reuses: one source of truth for both.

Plain functions over `PipelineConfig`/`ResourceNames`: they take ordinary strings (the demo passes
concrete names, the stack passes CDK tokens such as an asset's S3 URL) and return plain dicts.
"""

from __future__ import annotations

import json
import re

from infra.config import PipelineConfig, ResourceNames
from music_contract import names as contract_names

# The Amazon provider's secrets backend that reads Airflow variables and connections from SSM.
SSM_SECRETS_BACKEND = (
    "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend"
)


# docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html ("Custom logging").
GLUE_LOG_GROUP_PREFIX_ARGUMENT = "--custom-logGroup-prefix"
GLUE_LOG_GROUP_SUFFIXES = ("output", "error")


def glue_log_group_names(names: ResourceNames) -> list[str]:
    """The log groups the Glue 5 job writes to, as AWS documents them for ``--custom-logGroup-prefix``:
    ``<prefix>/output`` and ``<prefix>/error`` (docs.aws.amazon.com/glue/latest/dg/
    monitor-continuous-logging.html, "Custom logging"). That page names no other form for an encrypting
    security configuration; the forms with the configuration's or role's name come from Glue 4's
    continuous logging and the SDK's ``JobRun.LogGroupName`` (``/aws-glue/jobs-<role>-<configuration>/``),
    which disagree. docs/deploy.md says how to confirm the names after the first run.
    """
    return [f"{names.glue_log_group_prefix}/{suffix}" for suffix in GLUE_LOG_GROUP_SUFFIXES]


def glue_default_arguments(
    config: PipelineConfig,
    names: ResourceNames,
    *,
    extra_py_files: str,
    temp_dir: str,
) -> dict[str, str]:
    """The Glue job's DefaultArguments (every run gets them; the DAG adds the per-run ones).

    :param config: the deployment configuration (database, reject ratio).
    :param names: resource names; ``names.data_bucket`` and ``names.kpi_table`` become arguments.
    :param extra_py_files: S3 URL (or local path) of the zip holding ``music_pipeline`` and ``music_kpis``.
    :param temp_dir: S3 URL Glue uses for temporary files (``--TempDir``).
    """
    return {
        # The contract's arguments (docs/DESIGN.md, "Glue job contract").
        contract_names.ARG_DATA_BUCKET: names.data_bucket,
        contract_names.ARG_DATABASE_NAME: config.database_name,
        contract_names.ARG_KPI_TABLE: names.kpi_table,
        contract_names.ARG_MAX_REJECT_RATIO: str(config.max_reject_ratio),
        # Glue's own options.
        "--job-language": "python",
        "--extra-py-files": extra_py_files,
        "--TempDir": temp_dir,
        # The run's manifest fixes its input, so bookmarks would only hide re-runs.
        "--job-bookmark-option": "job-bookmark-disable",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        # Glue 5 logs every job in real time (no --enable-continuous-cloudwatch-log); this prefix
        # starts the names of its two log groups (`glue_log_group_names`), which the stack owns.
        GLUE_LOG_GROUP_PREFIX_ARGUMENT: names.glue_log_group_prefix,
        # Auto scaling (Glue 3.0+; NumberOfWorkers is then the maximum): docs.aws.amazon.com/glue/latest/dg/auto-scaling.html.
        **({"--enable-auto-scaling": "true"} if config.glue_auto_scaling else {}),
    }


def airflow_variables(
    config: PipelineConfig,
    names: ResourceNames,
    glue_job_name: str,
    *,
    glue_script_location: str,
    alert_topic_arn: str = "",
) -> dict[str, str]:
    """The Airflow Variables the DAG reads (keys are ``contract_names.VAR_*``).

    The stack writes each one to SSM under ``names.airflow_variables_prefix``; the demo sets them
    as ``AIRFLOW_VAR_<NAME>``. An empty optional value is left out (SSM rejects empty strings, and
    the DAG treats a missing variable as "not set").

    :param glue_job_name: the name of the Glue job the DAG starts.
    :param glue_script_location: where the Glue script lives (informational for the DAG).
    :param alert_topic_arn: SNS topic for failure alerts; empty for none.
    """
    variables = {  # keys: contract_names.PIPELINE_VARIABLES
        contract_names.VAR_BUCKET_NAME: names.data_bucket,
        contract_names.VAR_GLUE_JOB_NAME: glue_job_name,
        contract_names.VAR_GLUE_SCRIPT_LOCATION: glue_script_location,
        contract_names.VAR_DATABASE_NAME: config.database_name,
        contract_names.VAR_ALERT_TOPIC_ARN: alert_topic_arn,
        contract_names.VAR_ENVIRONMENT_NAME: names.env_name,
    }
    return {key: value for key, value in variables.items() if value != ""}


def aws_connection(region: str) -> dict[str, object]:
    """The ``aws_conn`` connection on MWAA: no keys, so boto3 uses the execution role's credentials."""
    return {"conn_type": "aws", "extra": {"region_name": region}}


def exact_names_pattern(names: tuple[str, ...] | list[str]) -> str:
    """A regular expression that matches exactly these names (the backend's ``re.match``)."""
    return "^(?:" + "|".join(re.escape(name) for name in names) + ")$"


def mwaa_airflow_configuration_options(names: ResourceNames) -> dict[str, str]:
    """Airflow configuration for MWAA: the pipeline's variables and connection come from SSM.

    ``backend_kwargs`` replaces MWAA's defaults, so without lookup patterns the backend would call
    SSM for every connection and variable any task or the UI asks for (``aws_default``, a
    provider's defaults, ...). With them (Amazon provider ``SystemsManagerParameterStoreBackend``:
    ``re.match(pattern, id, re.IGNORECASE)``, else no lookup) only ``aws_conn`` and the contract's
    variables are read there; the others fall through to environment variables and the metadata DB.
    """
    return {
        "secrets.backend": SSM_SECRETS_BACKEND,
        "secrets.backend_kwargs": json.dumps(
            {
                "connections_prefix": names.airflow_connections_prefix,
                "connections_lookup_pattern": exact_names_pattern([contract_names.AWS_CONN_ID]),
                "variables_prefix": names.airflow_variables_prefix,
                "variables_lookup_pattern": exact_names_pattern(contract_names.PIPELINE_VARIABLES),
            }
        ),
    }
