"""The workflow's entry points on MWAA Serverless: what its YAML names (``python_callable`` and the
Glue task's operator), shipped in the workflow's code package with ``music_pipeline``,
``music_contract`` and ``music_triggers`` (infra/packaging.py ``serverless_code_packages``).

The task logic is the provisioned DAG's (`music_pipeline.tasks`, `music_pipeline.glue`); what differs
is only what the service allows (MWAA Serverless user guide, "Running custom code with Python, Bash,
and custom operators", docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/custom-code-operators.html):

- settings: no Airflow configuration names a secrets backend, so each entry point reads the stack's
  SSM parameters itself (`variables.from_ssm`; the prefix is written into the YAML at synth, and
  names no account or credential);
- the manifest key travels as the first task's XCom, pulled here (no Jinja in the YAML);
- no short-circuit operator: a run with no stream file skips its first task (AirflowSkipException),
  and every downstream task is skipped with it (all_success), so the run does not fail either;
- no triggerer for our own trigger (a custom trigger from a plugin): the Glue task waits on its
  worker, at most `workflow.GLUE_WAIT_PER_TRY` per try inside MWAA Serverless' 60-minute task cap;
  a longer run fails the try and the retry rejoins it (`RunGlueJobOperator`), or adopts it when it
  succeeded in between. `workflow.glue_task_timeout` refuses a Glue timeout the tries cannot cover.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowSkipException

from music_contract import layout, names
from music_pipeline import tasks, variables, workflow
from music_pipeline.glue import ACTIVE_STATES, SUCCEEDED, GlueWaitError, RunGlueJobOperator


def _manifest_key() -> Any:
    return get_current_context()["ti"].xcom_pull(task_ids=workflow.VALIDATE_DATA_FILES)


def validate_data_files(variables_prefix: str) -> str:
    """`tasks.validate_data_files`; no stream file skips the run instead of short-circuiting it."""
    with variables.from_ssm(variables_prefix):
        manifest_key = tasks.validate_data_files()
    if manifest_key is None:
        raise AirflowSkipException("No stream files to process: the run is skipped")
    return manifest_key


def validate_columns(variables_prefix: str) -> int:
    """`tasks.validate_columns` on the first task's manifest."""
    with variables.from_ssm(variables_prefix):
        return tasks.validate_columns(_manifest_key())


def archive_raw_data(variables_prefix: str) -> dict[str, int]:
    """`tasks.archive_raw_data` on the first task's manifest."""
    with variables.from_ssm(variables_prefix):
        return tasks.archive_raw_data(_manifest_key())


class ServerlessGlueJobOperator(RunGlueJobOperator):
    """`RunGlueJobOperator` as MWAA Serverless runs it: job name from the YAML, settings from SSM,
    the wait on the worker (polled, not deferred).

    :param job_name: the stack's Glue job (written into the YAML at synth).
    :param op_kwargs: ``{"variables_prefix": <SSM prefix of the pipeline's Variables>}``, the same
        settings the Python tasks get (``op_kwargs`` is a task key the service's schema accepts).
    :param poll_seconds: seconds between two GetJobRun calls.
    """

    template_fields = RunGlueJobOperator.template_fields

    def __init__(self, *, job_name: str, op_kwargs: Mapping[str, str], poll_seconds: int = 30, **kwargs: Any):
        super().__init__(manifest_key=None, poll_seconds=poll_seconds, **kwargs)
        self.job_name = job_name
        self.variables_prefix = op_kwargs["variables_prefix"]
        self.poll_seconds = poll_seconds
        # Start (or rejoin) the run in GlueJobOperator.execute, then wait here.
        self.deferrable = False
        self.wait_for_completion = False

    def execute(self, context: Any) -> str:
        self.manifest_key = _manifest_key()
        with variables.from_ssm(self.variables_prefix):
            if context["ti"].try_number > 1:
                succeeded = self._succeeded_run(layout.sanitize_run_id(context["run_id"]))
                if succeeded:  # an earlier try's run ended well while no try was waiting
                    self.log.info("Glue run %s of this DAG run already succeeded", succeeded)
                    event = {"status": "success", "run_id": succeeded}
                    return self.execute_complete(context, event, job_name=self.job_name)
            run_id = super().execute(context)  # starts the run, or rejoins one still active
            state = self._wait_for_final_state(
                run_id, time.monotonic() + workflow.GLUE_WAIT_PER_TRY.total_seconds()
            )
            event = {
                "status": "success" if state == SUCCEEDED else "error",
                "run_id": run_id,
                "message": state,
            }
            return self.execute_complete(context, event, job_name=self.job_name)

    def _succeeded_run(self, sanitized_run_id: str) -> str | None:
        """The newest run of this DAG run (by StartedOn, whatever order GetJobRuns lists them in), if
        it SUCCEEDED."""
        runs = [
            run
            for page in self.hook.conn.get_paginator("get_job_runs").paginate(JobName=self.job_name)
            for run in page.get("JobRuns", [])
            if (run.get("Arguments") or {}).get(names.ARG_RUN_ID) == sanitized_run_id
        ]
        newest = max(runs, key=lambda run: run["StartedOn"], default=None)
        return newest["Id"] if newest is not None and newest["JobRunState"] == SUCCEEDED else None

    def _wait_for_final_state(self, run_id: str, deadline: float) -> str:
        """Poll the run until it leaves the active states. Past `deadline` (inside the task cap) the
        try fails with the run still going, and the retry rejoins it."""
        while True:
            state = self.hook.conn.get_job_run(JobName=self.job_name, RunId=run_id)["JobRun"]["JobRunState"]
            if state not in ACTIVE_STATES and state != "STOPPING":
                self.log.info("Glue run %s of %s ended %s", run_id, self.job_name, state)
                return state
            if time.monotonic() >= deadline:
                raise GlueWaitError(
                    f"Glue job {self.job_name} run {run_id} is still {state} after "
                    f"{workflow.GLUE_WAIT_PER_TRY}: this try ends inside the task cap; the retry rejoins the run."
                )
            time.sleep(self.poll_seconds)


__all__ = [
    "ServerlessGlueJobOperator",
    "archive_raw_data",
    "validate_columns",
    "validate_data_files",
]
