"""Glue job runs on the embedded moto server, executed by a local "job runner" you plug in.

moto implements the Glue API (CreateJob, StartJobRun, GetJobRun) but runs nothing: its runs jump to
SUCCEEDED. `local_glue_jobs(runner)` makes the DAG's `run_etl_job` start a real moto job run (so the
job must exist, exactly as on AWS, and the run records its arguments) and then calls
``runner(job_name, arguments)`` in a background thread. The moto run stays RUNNING while the runner
works, then becomes SUCCEEDED, or FAILED when the runner raises. The DAG's deferred wait polls that
state through the normal Glue API, so everything else in the DAG runs unchanged.

The runner receives the run's arguments merged over the job's default arguments, as Glue passes them
to the script (e.g. ``{"--data_bucket": ..., "--kpi_table": ..., "--manifest_key": ..., "--run_id":
..., "--database_name": ...}``); it returns when the job succeeded and raises when it failed.

A runner ends the run in another final state (TIMEOUT, STOPPED, ...) by raising `JobRunEnded`; the
exception text becomes the run's ``ErrorMessage``, as Glue reports a script's uncaught exception.
moto has no ``BatchStopJobRun``; this module adds it to the server as Glue behaves: an active run is
STOPPING while its runner still works (the runner's outcome is ignored) and STOPPED once it is done;
a WAITING run is STOPPED at once; any other run is reported under ``Errors``.

One run at a time, as on Glue: a job's runner runs only while no other run of the job is RUNNING or
STOPPING. moto refuses a second StartJobRun with ``ConcurrentRunsExceededException`` (but counts
only STARTING and RUNNING runs); this module makes it count STOPPING and WAITING runs too, and, for
a job created with ``JobRunQueuingEnabled`` (which moto drops; kept here), queues the run as WAITING
instead (Glue developer guide, "AWS Glue job run statuses": WAITING under job run queuing), started
when the run before it has ended.

This module reaches into moto's in-process backend to hold the run's state, so it works with the
`ThreadedMotoServer` of `local_run.emulator` (same process), not with a moto server elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.glue.models import glue_backends
from moto.glue.responses import GlueResponse

from local_run.emulator import FAKE_ACCOUNT_ID, REGION
from local_run.moto_glue import working_runs
from music_pipeline import glue

JobRunner = Callable[[str, dict[str, str]], None]


class JobRunEnded(Exception):
    """Raised by a runner: the run ends in `state` (``TIMEOUT``, ``STOPPED``, ``ERROR``, ``FAILED``)."""

    def __init__(self, state: str, message: str = ""):
        super().__init__(message or state)
        self.state = state


# One lock per (account, region, job): held by the run whose runner works.
_job_locks: dict[tuple[str, str, str], threading.Lock] = {}
_job_locks_guard = threading.Lock()


def _job_lock(account: str, region: str, job_name: str) -> threading.Lock:
    with _job_locks_guard:
        return _job_locks.setdefault((account, region, job_name), threading.Lock())


@dataclass
class LocalJobRun:
    """One run started through `local_glue_jobs`: what it was started with and how it ended."""

    job_name: str
    job_run_id: str
    arguments: dict[str, str]  # the run's own arguments (as the DAG passed them)
    effective_arguments: dict[str, str]  # merged over the job's default arguments (what the runner got)
    state: str = "RUNNING"
    error: str = ""
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class LocalGlueJobs:
    """Handle returned by `local_glue_jobs`: the runs started so far."""

    runs: list[LocalJobRun] = field(default_factory=list)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every started run has finished."""
        for run in list(self.runs):
            run.done.wait(timeout)


def _moto_job_run(job_name: str, job_run_id: str, account: str, region: str) -> Any:
    return glue_backends[account][region].get_job(job_name).get_job_run(job_run_id)


def _execute_in_background(
    handle: LocalGlueJobs,
    runner: JobRunner,
    moto_run: Any,
    lock: threading.Lock,
    arguments: dict[str, str],
    defaults: Mapping[str, str],
) -> LocalJobRun:
    """Hold the moto run (WAITING when queued, else RUNNING) and let `runner` execute it in a thread
    once `lock` (the job's one run slot) is free; the run ends as the runner does."""
    job_name, job_run_id = moto_run.job_name, moto_run.job_run_id
    moto_run._transitions = []  # no automatic progression to SUCCEEDED
    if moto_run.status != "WAITING":
        moto_run.status = "RUNNING"
    # As Glue does: the run's arguments over the job's DefaultArguments (moto records only the former).
    run = LocalJobRun(job_name, job_run_id, arguments, {**defaults, **arguments})
    handle.runs.append(run)

    def execute() -> None:
        with lock:  # the run before it (RUNNING or STOPPING) has ended: this one may start
            if moto_run.status == "STOPPED":  # stopped while it waited
                run.state = "STOPPED"
                run.done.set()
                return
            working_runs.add(job_run_id)
            moto_run.status = "RUNNING"
            try:
                runner(job_name, dict(run.effective_arguments))
                run.state = "SUCCEEDED"
            except JobRunEnded as err:
                run.state, run.error = err.state, str(err)
            except BaseException as err:  # the run fails, whatever the runner raised
                run.state, run.error = "FAILED", f"{type(err).__name__}: {err}"
            finally:
                working_runs.discard(job_run_id)
            if moto_run.status in ("STOPPING", "STOPPED"):  # stopped meanwhile: that is how it ended
                run.state = "STOPPED"
            moto_run.error_message = run.error
            moto_run.status = run.state
        run.done.set()

    threading.Thread(target=execute, name=f"glue-local-{job_run_id[:12]}", daemon=True).start()
    return run


@contextmanager
def served_glue_jobs(runner: JobRunner) -> Iterator[LocalGlueJobs]:
    """Within the block, every ``StartJobRun`` the in-process moto server receives, from any process,
    starts a run that `runner` executes (see the module doc).

    For a DAG run by real Airflow processes (`make airflow`): the tasks call the emulated Glue API
    as they call Glue, unchanged, and this process, which holds the moto server and the Spark
    session, executes the job. Runs execute one at a time (the job's MaxConcurrentRuns is 1).
    """
    handle = LocalGlueJobs()
    original = GlueResponse.start_job_run

    def start_job_run(self: GlueResponse) -> ActionResult:
        result = original(self)
        job_name = self._get_param("JobName")
        job_run_id = result.result["JobRunId"]
        job = self.glue_backend.get_job(job_name)
        arguments = dict(self._get_param("Arguments") or {})
        moto_run = job.get_job_run(job_run_id)
        lock = _job_lock(self.current_account, self.region, job_name)
        _execute_in_background(handle, runner, moto_run, lock, arguments, job.default_arguments)
        return result

    GlueResponse.start_job_run = start_job_run
    try:
        yield handle
    finally:
        GlueResponse.start_job_run = original  # a run still going ends with this process


@contextmanager
def substitute_job_start(start: glue.StartJobRun) -> Iterator[None]:
    """Within the block, `run_etl_job` starts runs with ``start(hook, job_name, arguments, run_kwargs)``.

    `start` must return the StartJobRun response, at least ``{"JobRunId": <id>}`` of a run that
    ``GetJobRun`` on the same connection reports (the deferred wait polls it). The DAG package's one
    seam is its `start_job_run` attribute; this, the only code that replaces it, stays out of it.
    """
    previous, glue.start_job_run = glue.start_job_run, start
    try:
        yield
    finally:
        glue.start_job_run = previous


@contextmanager
def local_glue_jobs(
    runner: JobRunner, account: str = FAKE_ACCOUNT_ID, region: str = REGION
) -> Iterator[LocalGlueJobs]:
    """Within the block, `run_etl_job` starts moto job runs that `runner` executes (see module doc).

    :param runner: ``runner(job_name, arguments)``; returns on success, raises on failure (the
        exception text becomes the run's error message).
    :param account: the moto account of the emulator.
    :param region: the moto region of the emulator.
    """
    handle = LocalGlueJobs()

    def start(hook: Any, job_name: str, arguments: Mapping[str, str], run_kwargs: Mapping[str, Any]) -> dict:
        response = hook.conn.start_job_run(JobName=job_name, Arguments=dict(arguments), **run_kwargs)
        job_run_id = response["JobRunId"]
        defaults = hook.conn.get_job(JobName=job_name)["Job"].get("DefaultArguments", {})
        moto_run = _moto_job_run(job_name, job_run_id, account, region)
        lock = _job_lock(account, region, job_name)
        _execute_in_background(handle, runner, moto_run, lock, dict(arguments), defaults)
        return response

    with substitute_job_start(start):
        try:
            yield handle
        finally:
            handle.wait(timeout=600)
