"""`run_etl_job`: the provider's ``GlueJobOperator``, made to start the CDK-owned job and never define it.

The stock operator calls ``GlueJobHook.initialize_job``, which creates the job when it is missing
(``get_or_create_glue_job``) or redefines it (``update_config=True``). `ExistingGlueJobHook` replaces
both with a check that the job exists, so the operator only ever calls ``StartJobRun``. The hook
also holds the rules below: rejoining a run an earlier try left going (`start_or_rejoin`) and what a
run's end means (`check_succeeded`); the operator wires hook, trigger and metrics together and runs
none of ``GlueJobOperator.execute`` (provider internals it still relies on: tests/dags/test_glue_provider.py).

The wait is deferred, on ``music_triggers.glue.StoppableGlueJobCompleteTrigger``: the provider's
``GlueJobCompleteTrigger`` (polled with aiobotocore, hence the provider's ``aiobotocore`` extra) plus
an ``on_kill`` that stops the Glue run when a user kills, clears or marks the deferred task. The
operator's own ``on_kill`` covers only the short part before the deferral: a deferred task has no
worker process. The trigger lives in ``plugins/`` and reaches MWAA as ``plugins.zip``, because
MWAA's triggerer imports triggers from the plugins folder, not from ``dags/``.

Final versus transient: a run that FAILED on the job's own data errors (bad arguments, a bad or
missing file, a reject-ratio breach: the job's message starts with ``names.DATA_ERROR_MARK``)
fails the task at once (``AirflowFailException``), since a new run would fail the same way. So does
a run that ended TIMEOUT (a new run would spend the whole timeout again), STOPPED (a person stopped
it), ERROR (Glue could not run the job) or EXPIRED. Any other FAILED run (a throttled DynamoDB write
beyond the job's retries, a lost executor) fails only the try: the retry starts a new run, which
finishes the publication the failed one sealed. Everything else (an API error, throttling beyond
the waiter's own retries, a lost triggerer) fails the try and the retry rejoins the run if it is
still going.

The job's name is a template (``{{ var.value.get('glue_job_name', '') }}``, the provider's templated
``job_name``): Airflow renders it when the task runs, never while the DAG file is parsed.

The one seam of the local run: `start_job_run` (the module attribute) starts the run. The local run
replaces it (``local_run.glue_local.substitute_job_start``); nothing test-only ships here.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.links.glue import GlueJobRunDetailsLink
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.utils import validate_execute_complete_event
from airflow.providers.common.compat.openlineage.utils.spark import (
    inject_parent_job_information_into_glue_arguments,
    inject_transport_information_into_glue_arguments,
)
from airflow.sdk.exceptions import AirflowFailException

from music_contract import layout, metrics, names
from music_pipeline import run_metrics, run_params, variables
from music_triggers.glue import StoppableGlueJobCompleteTrigger

# Glue job run states (JobRunState). A retry rejoins a run that is still going, but not one that is
# STOPPING: it was stopped on purpose (a killed or cleared task) and will end STOPPED.
ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "WAITING"})
# States of a run that did not succeed and that another run would not fix, whatever the message.
# EXPIRED is a JobRunState of botocore's Glue model (service-2.json, JobRunState enum) that the
# provider's `job_complete` waiter has no acceptor for (amazon provider 9.34.0, waiters/glue.json):
# the trigger adds one (music_triggers.glue).
FAILED_FINAL_STATES = frozenset({"TIMEOUT", "STOPPED", "ERROR", "EXPIRED"})
# A FAILED run is final only when the job failed on its data (see the module docstring).
FAILED = "FAILED"
SUCCEEDED = "SUCCEEDED"


def is_final_failure(state: str, error_message: str) -> bool:
    """Whether a run that ended in `state` with `error_message` must not be run again as it is."""
    if state in FAILED_FINAL_STATES:
        return True
    return state == FAILED and names.DATA_ERROR_MARK in (error_message or "")


class GlueWaitError(RuntimeError):
    """The wait for a Glue run broke off while the run had not failed (a retry rejoins it)."""


class _GlueRunError:
    """Mixin: ``glue_run`` tells the failure alert which run failed, in which state and why."""

    def __init__(self, message: str, *, job_name: str, job_run_id: str, state: str, reason: str, region: str):
        super().__init__(message)
        self.glue_run = {
            "job_name": job_name,
            "job_run_id": job_run_id,
            "state": state,
            "reason": reason,
            "region": region,
        }


class GlueRunFailedError(_GlueRunError, AirflowFailException):
    """A Glue run ended in a failure a new run would repeat: the task fails without a retry."""


class GlueRunFailedRetryableError(_GlueRunError, RuntimeError):
    """A Glue run FAILED for a reason outside the job's data (throttling, a lost executor): the
    task's retry starts a new run."""


class GlueJobNotFoundError(LookupError):
    """The job named by the `glue_job_name` Variable does not exist (the CDK stack creates it)."""


def _start_job_run_with_glue(
    hook: GlueJobHook, job_name: str, arguments: Mapping[str, str], run_kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Start one run of an existing job; the StartJobRun response (``{"JobRunId": ...}``)."""
    return hook.conn.start_job_run(JobName=job_name, Arguments=dict(arguments), **run_kwargs)


StartJobRun = Callable[[GlueJobHook, str, Mapping[str, str], Mapping[str, Any]], dict[str, Any]]
# The seam: how a run is started (the local run substitutes its own, local_run/glue_local.py).
start_job_run: StartJobRun = _start_job_run_with_glue
# The provider's templated `job_name`, rendered per task run from the Variable; empty when unset
# (then `execute` fails with the Variable's name and where it comes from).
JOB_NAME_TEMPLATE = f"{{{{ var.value.get('{names.VAR_GLUE_JOB_NAME}', '') }}}}"


class ExistingGlueJobHook(GlueJobHook):
    """``GlueJobHook`` for the stack's job: starts runs of it and refuses to create or update it,
    rejoins a run a DAG run's earlier try left going, and says how a run ended (the rules of the
    module docstring). The operator only wires these together."""

    def _require_job(self) -> str:
        if self.job_name is None:
            raise ValueError("job_name must be set")
        if not self.has_job(self.job_name):
            raise GlueJobNotFoundError(
                f"Glue job {self.job_name!r} (Variable {names.VAR_GLUE_JOB_NAME!r}) does not exist: "
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

    def find_active_run(self, job_name: str, sanitized_run_id: str) -> str | None:
        """Id of a still-active run of `job_name` started for this DAG run (by an earlier try), if any."""
        paginator = self.conn.get_paginator("get_job_runs")
        for page in paginator.paginate(JobName=job_name):
            for run in page.get("JobRuns", []):
                arguments = run.get("Arguments") or {}
                if (
                    run["JobRunState"] in ACTIVE_STATES
                    and arguments.get(names.ARG_RUN_ID) == sanitized_run_id
                ):
                    return run["Id"]
        return None

    def start_or_rejoin(
        self, arguments: Mapping[str, str], run_kwargs: Mapping[str, Any] | None, *, rejoin: bool
    ) -> tuple[str, bool]:
        """``(job run id, rejoined)``: with `rejoin` (a retried task), the still-active run of the
        same DAG run (``--run_id``) if there is one, else a new run."""
        if rejoin and (active := self.find_active_run(self.job_name, arguments[names.ARG_RUN_ID])):
            return active, True
        return self.initialize_job(dict(arguments), dict(run_kwargs or {}))["JobRunId"], False

    def stop_run(self, job_name: str, job_run_id: str) -> None:
        """Stop a run (``BatchStopJobRun``); Glue reports a run it could not stop instead of raising."""
        response = self.conn.batch_stop_job_run(JobName=job_name, JobRunIds=[job_run_id])
        if not response["SuccessfulSubmissions"]:
            self.log.error("Failed to stop AWS Glue Job: %s. Run Id: %s", job_name, job_run_id)

    def check_succeeded(self, job_name: str, job_run_id: str, event: Mapping[str, Any]) -> None:
        """Return when the run succeeded; else raise what its end means (module docstring).

        The trigger reports a final failure, an API error it could not retry and a wait that ran out
        alike (``status: error``), so the run's own state, read once more, decides.
        """
        if event["status"] == "success":
            return
        job_run = self.conn.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
        state = job_run["JobRunState"]
        if state == SUCCEEDED:
            return
        if state not in FAILED_FINAL_STATES and state != FAILED:
            raise GlueWaitError(
                f"Waiting for Glue job {job_name} run {job_run_id} broke off while the run is {state}: "
                f"{event.get('message', '')}. The retry rejoins the run."
            )
        reason = job_run.get("ErrorMessage") or event.get("message", "")
        run = {"job_name": job_name, "job_run_id": job_run_id, "state": state, "reason": reason}
        run["region"] = self.conn_region_name or ""
        if is_final_failure(state, reason):
            raise GlueRunFailedError(
                f"Glue job {job_name} run {job_run_id} ended {state}: {reason}. "
                "Not retried: a new run would fail the same way; fix the cause, then clear the task.",
                **run,
            )
        raise GlueRunFailedRetryableError(
            f"Glue job {job_name} run {job_run_id} ended {state}: {reason}. "
            "Not a data error: the task's retry starts a new run.",
            **run,
        )


class RunGlueJobOperator(GlueJobOperator):
    """Start the stack's Glue job (Variable `glue_job_name`) for this DAG run; wait deferred.

    Job arguments: ``--manifest_key``, ``--run_id`` (the sanitized Airflow run id) and
    ``--database_name`` (Variable `database_name`); the job's default arguments (bucket, table, ...)
    come from the stack. A retried task first looks for a run of this DAG run that is still active
    and waits for it instead of starting a second one (`ExistingGlueJobHook.start_or_rejoin`).
    With ``deferrable`` set to False, `execute` returns the run's id once started and the caller
    waits (MWAA Serverless has no triggerer for our trigger: `music_pipeline.serverless`).

    :param manifest_key: the run's manifest key (templated: the XCom of `validate_data_files`).
    :param poll_seconds: seconds between two status polls of the deferred wait (the local-only
        Variable `glue_poll_seconds` overrides it: `wait_polls`).
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
        aws_conn_id: str = names.AWS_CONN_ID,
        **kwargs: Any,
    ):
        super().__init__(
            job_name=JOB_NAME_TEMPLATE,  # rendered at run time, never at parse time
            aws_conn_id=aws_conn_id,
            deferrable=True,
            update_config=False,
            stop_job_run_on_kill=True,
            waiter_delay=poll_seconds,
            waiter_max_attempts=max(1, int(wait_timeout.total_seconds() // max(poll_seconds, 1))),
            **kwargs,
        )
        self.manifest_key = manifest_key
        self.job_run_id: str | None = None  # the run this task started or rejoined

    def job_arguments(self, run_id: str, params: Any = None) -> dict[str, str]:
        """The run's Glue arguments (on top of the job's default arguments set by the stack): the
        manifest, or in a recompute run (the `recompute_dates` param) ``--recompute_dates`` instead."""
        if not self.manifest_key:
            raise ValueError("run_etl_job got no manifest key from validate_data_files")
        request = run_params.run_request(params or {})
        source = (
            {names.ARG_RECOMPUTE_DATES: ",".join(request.recompute_dates)}
            if request.mode is run_params.Mode.RECOMPUTE
            else {names.ARG_MANIFEST_KEY: str(self.manifest_key)}
        )
        return {
            **source,
            names.ARG_RUN_ID: layout.sanitize_run_id(run_id),
            names.ARG_DATABASE_NAME: variables.database_name(),
        }

    def execute(self, context: Any) -> str:
        """Start (or rejoin) the run, link it in the UI, then defer to `StoppableGlueJobCompleteTrigger`."""
        if not self.job_name:  # the template rendered empty: the Variable is not set
            raise variables.missing(names.VAR_GLUE_JOB_NAME)
        self.script_args = self._with_openlineage(
            self.job_arguments(context["run_id"], context.get("params")), context
        )
        retried = context["ti"].try_number > 1
        self.job_run_id, rejoined = self.hook.start_or_rejoin(
            self.script_args, self.run_job_kwargs, rejoin=retried
        )
        if rejoined:
            self.log.info("Glue run %s of this DAG run is still active: waiting for it", self.job_run_id)
        else:  # as the provider's operator does: the run's id for whoever reads the task's XComs
            context["ti"].xcom_push(key="glue_job_run_id", value=self.job_run_id)
        region, quoted_name = self.hook.conn_region_name, urllib.parse.quote(self.job_name, safe="")
        GlueJobRunDetailsLink.persist(
            context=context,
            operator=self,
            region_name=region,
            aws_partition=self.hook.conn_partition,
            job_name=quoted_name,
            job_run_id=self.job_run_id,
        )
        console = metrics.glue_job_run_console_url(region, quoted_name, self.job_run_id)
        self.log.info("You can monitor this Glue Job run at: %s", console)
        if not self.deferrable:
            return self.job_run_id
        waiter_delay, waiter_max_attempts = self.wait_polls()
        trigger = StoppableGlueJobCompleteTrigger(
            job_name=self.job_name,
            run_id=self.job_run_id,
            verbose=self.verbose,
            aws_conn_id=self.aws_conn_id,
            waiter_delay=waiter_delay,
            waiter_max_attempts=waiter_max_attempts,
            region_name=self.region_name,
            stop_job_run_on_kill=self.stop_job_run_on_kill,
        )
        # The job name travels to `execute_complete` (a resumed operator is a new object).
        self.defer(trigger=trigger, method_name="execute_complete", kwargs={"job_name": self.job_name})

    def wait_polls(self) -> tuple[int, int]:
        """(seconds between polls, polls) of the deferred wait: the operator's, unless the local-only
        Variable `glue_poll_seconds` is set (`make airflow`), then that poll over the same whole wait."""
        seconds = variables.whole_seconds(names.VAR_GLUE_POLL_SECONDS)
        if seconds is None:
            return self.waiter_delay, self.waiter_max_attempts
        return seconds, max(1, self.waiter_delay * self.waiter_max_attempts // seconds)

    def _with_openlineage(self, arguments: dict[str, str], context: Any) -> dict[str, str]:
        """`arguments` plus the OpenLineage settings the provider's operator adds when configured to."""
        if self.openlineage_inject_parent_job_info:
            arguments = inject_parent_job_information_into_glue_arguments(arguments, context)
        if self.openlineage_inject_transport_info:
            arguments = inject_transport_information_into_glue_arguments(arguments, context)
        return arguments

    def execute_complete(
        self, context: Any, event: dict[str, Any] | None = None, job_name: str | None = None
    ) -> str:
        """Succeed on a succeeded run (and publish its metrics); else raise what the hook decides
        (`ExistingGlueJobHook.check_succeeded`): fail for good, fail this try, or rejoin on retry."""
        event = validate_execute_complete_event(event)
        self.job_name = job_name or self.job_name
        self.hook.check_succeeded(self.job_name, event["run_id"], event)
        self.publish_run_metrics(context, event["run_id"])
        return event["run_id"]

    def publish_run_metrics(self, context: Any, job_run_id: str) -> None:
        """The one place a succeeded run's metrics are published (`run_metrics`, docs/DESIGN.md,
        "Pipeline metrics"). Never raises: a metrics failure is a warning."""
        run_metrics.publish_after_success(self.hook.conn, self.job_name, job_run_id, context["run_id"])

    def on_kill(self) -> None:
        """Stop the run when the task is killed before it deferred (the trigger's `on_kill` after)."""
        if self.stop_job_run_on_kill and self.job_run_id:
            self.log.info("Stopping AWS Glue Job: %s. Run Id: %s", self.job_name, self.job_run_id)
            self.hook.stop_run(self.job_name, self.job_run_id)
