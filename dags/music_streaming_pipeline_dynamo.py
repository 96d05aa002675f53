"""Daily genre KPIs from the listening events dropped in S3.

`validate_data_files` >> `validate_columns` >> `run_etl_job` >> `archive_raw_data`: check the
reference files and list the stream batches into the run's manifest (no batches: the rest is
skipped), check every header, run the Glue job on exactly that manifest, then archive exactly those
objects. Params (the trigger form; none for the normal run): `recompute_dates` recomputes those
dates' KPIs from the curated events (no raw file listed, checked or archived); `replay_from` and
`replay_to` replay the files archived on those days (left in the archive). Variables: `bucket_name`, `glue_job_name`, `database_name`, `alert_topic_arn`; connection
`aws_conn`. The task logic lives in the `music_pipeline` package beside this file.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from music_contract import names
from music_pipeline import tasks
from music_pipeline.alerts import publish_failure_alert
from music_pipeline.glue import RunGlueJobOperator
from music_pipeline.run_params import dag_params
from music_pipeline.workflow import RETRY_POLICY

# The retry policy is the workflow's (music_pipeline.workflow: one definition for this DAG and the
# MWAA Serverless YAML); callbacks exist only here (MWAA Serverless ignores them).
DEFAULT_ARGS = {**RETRY_POLICY, "on_failure_callback": publish_failure_alert}


@dag(
    dag_id=names.DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=dag_params(),
    tags=["music", "kpis", "glue", "dynamodb"],
    doc_md=__doc__,
)
def music_streaming_pipeline_dynamo():
    manifest_key = task.short_circuit(tasks.validate_data_files)()
    columns_checked = task(tasks.validate_columns)(manifest_key)
    etl = RunGlueJobOperator(task_id="run_etl_job", manifest_key=manifest_key)
    archived = task(tasks.archive_raw_data)(manifest_key)
    columns_checked >> etl >> archived


music_streaming_pipeline_dynamo()
