"""The pipeline's workflow, defined once: its tasks, their order, retries and timeouts.

Both runtimes are built from this one definition:

- provisioned MWAA: the DAG file (``dags/music_streaming_pipeline_dynamo.py``) takes `RETRY_POLICY`
  as its ``default_args`` and wires the tasks of `TASKS` in their order;
- MWAA Serverless: ``infra/serverless_definition.py`` writes `TASKS` as the workflow YAML
  (dag-factory's format), one task per entry with the same retries, timeout and dependencies.

Pure data (no Airflow import): the CDK app reads it at synth. tests/infra/test_serverless_workflow.py
proves the DAG file and the YAML match this definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# Retries of every task: 3 more tries, 5 minutes apart, doubling up to 30 minutes. A try that
# fails for good (AirflowFailException: a missing reference file, a Glue run that ended FAILED)
# is not retried.
RETRIES = 3
RETRY_DELAY = timedelta(minutes=5)
RETRY_EXPONENTIAL_BACKOFF = 2.0
MAX_RETRY_DELAY = timedelta(minutes=30)
OWNER = "data-engineering"

# MWAA Serverless runs each task on a worker for at most 60 minutes ("Reach for another target
# only when the work does not fit the worker (1 vCPU / 3 GiB, 60-min task cap ...)", AWS
# agent-toolkit-for-aws authoring-mwaa-workflow skill, references/authoring-serverless-workflow.md).
SERVERLESS_TASK_CAP = timedelta(minutes=60)
# What a try of the Glue task keeps for itself inside that cap: starting (or finding) the run, the
# final GetJobRun and the metrics after success. It waits for Glue at most the rest, then fails the
# try (GlueWaitError) and the retry rejoins the run still going.
GLUE_WAIT_MARGIN = timedelta(minutes=5)
GLUE_WAIT_PER_TRY = SERVERLESS_TASK_CAP - GLUE_WAIT_MARGIN
# The Python tasks list, read headers of and move at most a day's batches: minutes, not hours.
PYTHON_TASK_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class TaskSpec:
    """One task of the workflow.

    :param task_id: the Airflow task id (same in both runtimes).
    :param upstream: task ids that must finish first (data and order dependencies alike).
    :param callable_name: the function of ``music_pipeline.tasks`` a Python task runs; None for the
        Glue task (an operator).
    :param execution_timeout: the task's timeout on MWAA Serverless (None: the Glue task, whose
        timeout follows the Glue job's, `glue_task_timeout`).
    """

    task_id: str
    upstream: tuple[str, ...]
    callable_name: str | None
    execution_timeout: timedelta | None = PYTHON_TASK_TIMEOUT


VALIDATE_DATA_FILES = "validate_data_files"
VALIDATE_COLUMNS = "validate_columns"
RUN_ETL_JOB = "run_etl_job"
ARCHIVE_RAW_DATA = "archive_raw_data"

# In run order; `upstream` is every edge the DAG has (the manifest key is an XCom of the first task,
# so each later task also depends on it).
TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(VALIDATE_DATA_FILES, (), "validate_data_files"),
    TaskSpec(VALIDATE_COLUMNS, (VALIDATE_DATA_FILES,), "validate_columns"),
    TaskSpec(RUN_ETL_JOB, (VALIDATE_COLUMNS, VALIDATE_DATA_FILES), None, execution_timeout=None),
    TaskSpec(ARCHIVE_RAW_DATA, (RUN_ETL_JOB, VALIDATE_DATA_FILES), "archive_raw_data"),
)

RETRY_POLICY = {
    "owner": OWNER,
    "retries": RETRIES,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": RETRY_EXPONENTIAL_BACKOFF,
    "max_retry_delay": MAX_RETRY_DELAY,
}


class WorkflowLimitError(ValueError):
    """A setting the serverless workflow cannot honour (the message names the configuration keys)."""


def glue_wait_capacity() -> timedelta:
    """The longest Glue run the serverless workflow follows to its end: `RETRIES` tries of
    `GLUE_WAIT_PER_TRY` each (one try of the `RETRIES` + 1 stays for a real error)."""
    return RETRIES * GLUE_WAIT_PER_TRY


def glue_task_timeout(glue_timeout_minutes: int) -> timedelta:
    """The Glue task's execution timeout on MWAA Serverless (the task cap), after refusing a Glue
    job timeout longer than the workflow can wait for (`glue_wait_capacity`): such a run would be
    abandoned while Glue still runs it."""
    capacity = int(glue_wait_capacity().total_seconds() // 60)
    if glue_timeout_minutes > capacity:
        per_try = int(GLUE_WAIT_PER_TRY.total_seconds() // 60)
        raise WorkflowLimitError(
            f"glue_timeout_minutes={glue_timeout_minutes} with orchestration=serverless: an MWAA Serverless "
            f"task runs at most {int(SERVERLESS_TASK_CAP.total_seconds() // 60)} minutes, so the Glue task "
            f"follows a run for {per_try} minutes per try over {RETRIES} tries: glue_timeout_minutes must be "
            f"at most {capacity} (or use orchestration=provisioned)"
        )
    return SERVERLESS_TASK_CAP


def task(task_id: str) -> TaskSpec:
    """The task of that id."""
    for spec in TASKS:
        if spec.task_id == task_id:
            return spec
    raise KeyError(task_id)
