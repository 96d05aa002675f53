"""Names the DAG, the stack and the job agree on: the DAG id, the Airflow Variables and connection,
the Glue job's arguments (docs/DESIGN.md, "Airflow contract", "Glue job contract")."""

from __future__ import annotations

DEFAULT_DATABASE_NAME = "music_streams"
DAG_ID = "music_streaming_pipeline_dynamo"
AWS_CONN_ID = "aws_conn"
DEFAULT_MAX_REJECT_RATIO = 0.05

# Airflow Variables the DAG reads (on MWAA: SSM parameters written by the stack).
VAR_BUCKET_NAME = "bucket_name"  # required
VAR_GLUE_JOB_NAME = "glue_job_name"  # required
VAR_GLUE_SCRIPT_LOCATION = "glue_script_location"  # informational
VAR_DATABASE_NAME = "database_name"  # default DEFAULT_DATABASE_NAME
VAR_ALERT_TOPIC_ARN = "alert_topic_arn"  # optional
# The environment name (`env` of cdk.json): alerts name it, metrics carry it as their dimension.
VAR_ENVIRONMENT_NAME = "environment_name"  # optional; metrics are skipped without it
# Local runs only (`make airflow`): seconds between two polls of the deferred Glue wait. Not in
# PIPELINE_VARIABLES: the stack never writes it and MWAA's secrets backend never looks it up, so the
# deployed DAG keeps the operator's 60 s (music_pipeline.glue).
VAR_GLUE_POLL_SECONDS = "glue_poll_seconds"
PIPELINE_VARIABLES = (
    VAR_BUCKET_NAME,
    VAR_GLUE_JOB_NAME,
    VAR_GLUE_SCRIPT_LOCATION,
    VAR_DATABASE_NAME,
    VAR_ALERT_TOPIC_ARN,
    VAR_ENVIRONMENT_NAME,
)

# --- Glue job arguments (docs/DESIGN.md, "Glue job contract") ----------------------------------
ARG_DATA_BUCKET = "--data_bucket"
ARG_DATA_ROOT = "--data_root"
ARG_MANIFEST_KEY = "--manifest_key"
ARG_RUN_ID = "--run_id"
ARG_DATABASE_NAME = "--database_name"
ARG_KPI_TABLE = "--kpi_table"
ARG_MAX_REJECT_RATIO = "--max_reject_ratio"
# Recompute mode (instead of --manifest_key): comma-separated YYYY-MM-DD dates (music_contract.reprocess).
ARG_RECOMPUTE_DATES = "--recompute_dates"

# --- Glue job runs ------------------------------------------------------------------------------
# One run at a time (publication relies on it: glue_scripts/music_kpis/publication.py). A run
# started while another is active (a run still STOPPING after a kill, an orphan) waits as WAITING
# instead of failing with ConcurrentRunsExceededException (Glue developer guide, "AWS Glue job run
# statuses": "Jobs may enter the WAITING state if you opt into AWS Glue job run queuing"; the
# JobRunQueuingEnabled job property).
GLUE_MAX_CONCURRENT_RUNS = 1
GLUE_JOB_RUN_QUEUING = True
# Every error the job raises on its own data or arguments (music_kpis.datasets.DataError) starts its
# message with this mark; Glue reports the message as the run's ErrorMessage. `run_etl_job` fails
# such a run for good (a new run would fail the same way) and retries every other failed run.
DATA_ERROR_MARK = "[music_kpis data error]"
