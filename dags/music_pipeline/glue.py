"""`run_etl_job`: the provider's ``GlueJobOperator``, made to start the CDK-owned job and never define it.

The stock operator calls ``GlueJobHook.initialize_job``, which creates the job when it is missing
(``get_or_create_glue_job``) or redefines it (``update_config=True``). `ExistingGlueJobHook` replaces
both with a check that the job exists, so the operator only ever calls ``StartJobRun``. The rest is
the provider's: the deferred wait (``GlueJobCompleteTrigger``, which fails on FAILED, TIMEOUT, ERROR
and STOPPED), the console link, stopping the run when the task is killed. The trigger class is the
provider's, so MWAA's triggerer can import it (Airflow 3 triggerers do not put ``dags/`` on sys.path);
it polls with aiobotocore, so the environment needs the provider's ``aiobotocore`` extra.

The one seam of the local run: `start_job_run` (the module attribute) starts the run. The local run
and the tests replace it with `substitute_job_start` (see ``local_run.glue_local``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

from music_pipeline import contract, variables

# Glue job run states in which a run is still going (JobRunState).
ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})


class GlueJobNotFoundError(LookupError):
    """The job named by the `glue_job_name` Variable does not exist (the CDK stack creates it)."""


def _start_job_run_with_glue(
    hook: GlueJobHook, job_name: str, arguments: Mapping[str, str], run_kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Start one run of an existing job; the StartJobRun response (``{"JobRunId": ...}``)."""
    return hook.conn.start_job_run(JobName=job_name, Arguments=dict(arguments), **run_kwargs)


StartJobRun = Callable[[GlueJobHook, str, Mapping[str, str], Mapping[str, Any]], dict[str, Any]]
# The seam: how a run is started. Replaced (only) through `substitute_job_start`.
start_job_run: StartJobRun = _start_job_run_with_glue


@contextmanager
def substitute_job_start(start: StartJobRun) -> Iterator[None]:
    """Within the block, runs are started by ``start(hook, job_name, arguments, run_kwargs)``.

    `start` must return the StartJobRun response, at least ``{"JobRunId": <id>}`` of a run that
    ``GetJobRun`` on the same connection reports (the deferred wait polls it).
    """
    global start_job_run
    previous, start_job_run = start_job_run, start
    try:
        yield
    finally:
        start_job_run = previous


class ExistingGlueJobHook(GlueJobHook):
    """``GlueJobHook`` that starts runs of an existing job and refuses to create or update one."""

    def _require_job(self) -> str:
        if self.job_name is None:
            raise ValueError("job_name must be set")
        if not self.has_job(self.job_name):
            raise GlueJobNotFoundError(
                f"Glue job {self.job_name!r} (Variable {contract.VAR_GLUE_JOB_NAME!r}) does not exist: "
                "the CDK stack creates it; deploy the stack or fix the Variable"
            )
        return self.job_name

    def get_or_create_glue_job(self) -> str:
        return self._require_job()

    def create_or_update_glue_job(self) -> str:
        return self._require_job()

    def initialize_job(self, script_arguments: dict | None = None, run_kwargs: dict | None = None) -> dict:
        job_name = self._require_job()
        return start_job_run(self, job_name, script_arguments or {}, run_kwargs or {})


def find_active_run(hook: GlueJobHook, job_name: str, sanitized_run_id: str) -> str | None:
    """Id of a still-active run of `job_name` started for this DAG run (by an earlier try), if any."""
    paginator = hook.conn.get_paginator("get_job_runs")
    for page in paginator.paginate(JobName=job_name):
        for run in page.get("JobRuns", []):
            arguments = run.get("Arguments") or {}
            if run["JobRunState"] in ACTIVE_STATES and arguments.get(contract.ARG_RUN_ID) == sanitized_run_id:
                return run["Id"]
    return None


class RunGlueJobOperator(GlueJobOperator):
    """Start the stack's Glue job (Variable `glue_job_name`) for this DAG run; wait deferred.

    Job arguments: ``--manifest_key``, ``--run_id`` (the sanitized Airflow run id) and
    ``--database_name`` (Variable `database_name`); the job's default arguments (bucket, table, ...)
    come from the stack. A retried task first looks for a run of this DAG run that is still active
    and waits for it instead of starting a second one.

    :param manifest_key: the run's manifest key (templated: the XCom of `validate_data_files`).
    :param poll_seconds: seconds between two status polls of the deferred wait.
    :param wait_timeout: how long the wait may last before the task fails (a safety net above the
        job's own timeout, which Glue reports as TIMEOUT).
    Other keyword arguments go to ``GlueJobOperator`` / ``BaseOperator``.
    """

    aws_hook_class = ExistingGlueJobHook
    template_fields = (*GlueJobOperator.template_fields, "manifest_key")

    def __init__(
        self,
        *,
        manifest_key: Any,
        poll_seconds: int = 60,
        wait_timeout: timedelta = timedelta(hours=4),
        aws_conn_id: str = contract.AWS_CONN_ID,
        **kwargs: Any,
    ):
        super().__init__(
            job_name="",  # resolved from the Variable at run time, never at parse time
            aws_conn_id=aws_conn_id,
            deferrable=True,
            update_config=False,
            stop_job_run_on_kill=True,
            waiter_delay=poll_seconds,
            waiter_max_attempts=max(1, int(wait_timeout.total_seconds() // max(poll_seconds, 1))),
            **kwargs,
        )
        self.manifest_key = manifest_key

    def job_arguments(self, run_id: str) -> dict[str, str]:
        """The run's Glue arguments (on top of the job's default arguments set by the stack)."""
        if not self.manifest_key:
            raise ValueError("run_etl_job got no manifest key from validate_data_files")
        return {
            contract.ARG_MANIFEST_KEY: str(self.manifest_key),
            contract.ARG_RUN_ID: contract.sanitize_run_id(run_id),
            contract.ARG_DATABASE_NAME: variables.database_name(),
        }

    def execute(self, context: Any) -> str:
        self.job_name = variables.required(contract.VAR_GLUE_JOB_NAME)
        self.script_args = self.job_arguments(context["run_id"])
        if context["ti"].try_number > 1:
            self._job_run_id = find_active_run(
                self.hook, self.job_name, self.script_args[contract.ARG_RUN_ID]
            )
            if self._job_run_id:
                self.log.info("Glue run %s of this DAG run is still active: waiting for it", self._job_run_id)
        return super().execute(context)
