"""Faults around `run_etl_job`, with the real DAG (``dag.test()``), the real trigger and moto server.

- A Glue run that ends FAILED, TIMEOUT or STOPPED fails the task once: no retry, no second run.
- API errors (throttling, an error the waiter cannot retry, a refused start) are retried, and a
  retry rejoins the run that is still going instead of starting another.
- A deferred task killed by a user stops its Glue run, through the triggerer's own cancel path;
  a triggerer restart or hand-over leaves the run going.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from types import SimpleNamespace

import pytest
from moto.core.exceptions import JsonRESTError
from moto.glue.responses import GlueResponse

from local_run.glue_local import JobRunEnded, local_glue_jobs
from music_contract import layout, metrics, names
from music_pipeline import glue as glue_operator
from music_pipeline.glue import is_final_failure
from music_triggers.glue import StoppableGlueJobCompleteTrigger
from tests.dags.conftest import glue_processes_its_manifest

pytestmark = pytest.mark.usefixtures("airflow_db")

ALL_TASKS = ["validate_data_files", "validate_columns", "run_etl_job", "archive_raw_data"]


# A Glue run that succeeds and reports every manifest file processed.
glue_succeeds = glue_processes_its_manifest


@pytest.fixture
def stack_with_one_stream_file(emulated_stack):
    """The emulated stack with the reference files and one valid stream file in raw_data/."""
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)
    return emulated_stack


class GlueApiFaults:
    """Errors moto server answers in place of chosen Glue calls (as AWS would send them)."""

    def __init__(self, monkeypatch):
        self.calls: dict[str, int] = {}
        self.planned: dict[tuple[str, int], tuple[str, str]] = {}
        self._monkeypatch = monkeypatch

    def fail(self, action: str, call_number: int, code: str) -> None:
        """Answer the `call_number`-th (1-based) call of `action` with the error `code`."""
        self.planned[(action, call_number)] = (code, f"simulated {code}")
        if not hasattr(GlueResponse, f"_real_{action}"):
            real = getattr(GlueResponse, action)
            faults = self

            def faulty(response: GlueResponse):
                faults.calls[action] = faults.calls.get(action, 0) + 1
                planned = faults.planned.get((action, faults.calls[action]))
                if planned:
                    raise JsonRESTError(*planned)
                return real(response)

            self._monkeypatch.setattr(GlueResponse, action, faulty)
            self._monkeypatch.setattr(GlueResponse, f"_real_{action}", real, raising=False)

    def count(self, action: str) -> int:
        return self.calls.get(action, 0)


@pytest.fixture
def glue_faults(monkeypatch):
    return GlueApiFaults(monkeypatch)


@pytest.mark.parametrize("final_state", ["FAILED", "TIMEOUT", "STOPPED"])
def test_a_final_glue_state_fails_the_task_once_and_starts_no_second_run(
    stack_with_one_stream_file, run_dag, final_state
):
    def glue_ends(job_name, arguments):
        # A FAILED run is final when the job failed on its data (the job's DataError carries the mark).
        mark = names.DATA_ERROR_MARK if final_state == "FAILED" else ""
        raise JobRunEnded(final_state, f"{mark} the run ended {final_state}".strip())

    with local_glue_jobs(glue_ends) as glue:
        result = run_dag(retries=3)

    assert result.states["run_etl_job"] == "failed"
    assert result.tries["run_etl_job"] == 1  # three retries left, none used
    assert [r.state for r in glue.runs] == [final_state]
    assert result.states["archive_raw_data"] == "upstream_failed"
    assert stack_with_one_stream_file.keys(layout.RAW_PREFIX) == ["raw_data/streams1.csv"]
    [alert] = [json.loads(m["Message"]) for m in stack_with_one_stream_file.alerts()]
    [run] = glue.runs
    # The Glue run, its state and the environment, with the Glue console's run page to act on.
    assert alert["content"]["title"] == (
        f"[{stack_with_one_stream_file.env_name}] Glue job run {final_state}: {stack_with_one_stream_file.glue_job} run {run.job_run_id}"
    )
    assert final_state in alert["content"]["description"]  # the reason Glue (here moto) gave
    glue_page = metrics.glue_job_run_console_url(
        stack_with_one_stream_file.glue.meta.region_name, stack_with_one_stream_file.glue_job, run.job_run_id
    )
    assert alert["metadata"]["relatedResources"][0] == glue_page
    assert alert["content"]["nextSteps"][0] == f"Glue run: {glue_page}"
    assert alert["content"]["nextSteps"][1].startswith("Task log: http")
    assert alert["metadata"]["additionalContext"]["dagRunId"] == result.run_id


def test_a_run_failed_outside_the_jobs_data_is_retried_with_a_new_run(stack_with_one_stream_file, run_dag):
    # A throttled DynamoDB write beyond the job's retries, a lost executor: a new run may succeed.
    outcomes = iter([RuntimeError("PublishError: DynamoDB table kpis left 3 of 40 KPI items unprocessed")])

    def glue_fails_once(job_name, arguments):
        error = next(outcomes, None)
        if error is not None:
            raise error
        glue_processes_its_manifest(job_name, arguments)

    with local_glue_jobs(glue_fails_once) as glue:
        result = run_dag(retries=1)

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert result.tries["run_etl_job"] == 2
    assert [r.state for r in glue.runs] == ["FAILED", "SUCCEEDED"]
    assert stack_with_one_stream_file.alerts() == []


@pytest.mark.parametrize(
    ("state", "message", "final"),
    [
        ("FAILED", f"RejectRatioExceeded: {names.DATA_ERROR_MARK} 5 of 9 stream rows rejected", True),
        ("FAILED", "PublishError: DynamoDB table kpis left 3 of 40 KPI items unprocessed", False),
        ("FAILED", "Lost executor 3: container killed", False),
        ("FAILED", "", False),
        ("TIMEOUT", "", True),
        ("STOPPED", "", True),
        ("ERROR", "", True),
        ("EXPIRED", "", True),
    ],
)
def test_only_data_errors_and_states_a_new_run_cannot_fix_are_final(state, message, final):
    assert is_final_failure(state, message) is final


def test_api_errors_while_waiting_are_retried_and_the_retry_rejoins_the_same_run(
    stack_with_one_stream_file, run_dag, glue_faults
):
    glue_faults.fail("get_job_run", 1, "ThrottlingException")  # absorbed by the client's retries
    glue_faults.fail("get_job_run", 3, "AccessDeniedException")  # not retryable there: the try ends

    def glue_outlives_the_first_try(job_name, arguments):
        # Still running until the retry's wait has polled it: the retry must rejoin, not restart.
        for _ in range(600):
            if glue_faults.count("get_job_run") >= 7:
                break
            time.sleep(0.1)
        glue_processes_its_manifest(job_name, arguments)

    with local_glue_jobs(glue_outlives_the_first_try) as glue:
        result = run_dag(retries=1)

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert result.tries["run_etl_job"] == 2  # the access error cost one try
    assert len(glue.runs) == 1  # the retry waited for the run the first try started
    assert stack_with_one_stream_file.alerts() == []


def test_a_refused_start_is_retried(stack_with_one_stream_file, run_dag, glue_faults):
    # An earlier run still finishing: Glue refuses the start; the next try starts it.
    glue_faults.fail("start_job_run", 1, "ConcurrentRunsExceededException")

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag(retries=1)

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    assert result.tries["run_etl_job"] == 2
    assert [r.state for r in glue.runs] == ["SUCCEEDED"]


def test_the_emulated_job_never_runs_two_runs_at_once_and_queues_a_start_behind_a_stopping_run(
    emulated_stack,
):
    """A run stopped mid-way stays STOPPING until its driver is gone; a run started meanwhile waits as
    WAITING (the job has run queuing on, as the stack's) and starts only after it."""
    guard, release = threading.Lock(), threading.Event()
    working, most = 0, 0

    def runner(job_name, arguments):
        nonlocal working, most
        with guard:
            working += 1
            most = max(most, working)
        try:
            if arguments[names.ARG_RUN_ID] == "first":
                release.wait(30)  # a driver that takes its time to die
        finally:
            with guard:
                working -= 1

    def state(run_id):
        return emulated_stack.glue.get_job_run(JobName=emulated_stack.glue_job, RunId=run_id)["JobRun"][
            "JobRunState"
        ]

    assert emulated_stack.glue.get_job(JobName=emulated_stack.glue_job)["Job"]["JobRunQueuingEnabled"] is True
    hook = SimpleNamespace(conn=emulated_stack.glue)
    with local_glue_jobs(runner) as glue:
        first = glue_operator.start_job_run(hook, emulated_stack.glue_job, {names.ARG_RUN_ID: "first"}, {})
        while working == 0:
            time.sleep(0.01)
        emulated_stack.glue.batch_stop_job_run(JobName=emulated_stack.glue_job, JobRunIds=[first["JobRunId"]])
        assert state(first["JobRunId"]) == "STOPPING"
        second = glue_operator.start_job_run(hook, emulated_stack.glue_job, {names.ARG_RUN_ID: "second"}, {})
        time.sleep(0.5)
        assert state(second["JobRunId"]) == "WAITING"
        release.set()
        glue.wait(timeout=30)

    assert [r.state for r in glue.runs] == ["STOPPED", "SUCCEEDED"]
    assert state(first["JobRunId"]) == "STOPPED"
    assert most == 1


# --- a deferred task killed: the triggerer's cancel path, with the real trigger ----------------


def _task_instance(run_id: str, state: str | None):
    """The DB task instance of `run_etl_job` in `state`, as the triggerer hands it to the trigger."""
    from airflow.executors.workloads.task import TaskInstanceDTO
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = (
            session.query(TaskInstance)
            .filter_by(dag_id=names.DAG_ID, run_id=run_id, task_id="run_etl_job")
            .one()
        )
        ti.state = state
        session.flush()
        return TaskInstanceDTO.model_validate(ti, from_attributes=True)


def _run_and_cancel_in_triggerer(trigger, ti, *, user_action: bool) -> None:
    """Run `trigger` in a real ``TriggerRunner`` and cancel it as the triggerer does.

    ``user_action``: the task was acted on (``cancel_triggers``, which calls ``on_kill``);
    otherwise the triggerer is shutting down (its task is cancelled without a message).
    The trigger reads its task's state through an in-process supervisor, over the execution API.
    """
    import os

    import psutil
    import structlog
    from airflow.jobs.triggerer_job_runner import TriggerRunner
    from airflow.sdk.execution_time.supervisor import (
        InProcessSupervisorComms,
        InProcessTestSupervisor,
        set_supervisor_comms,
    )

    supervisor = InProcessTestSupervisor(
        id=ti.id,
        pid=os.getpid(),
        process=psutil.Process(),
        process_log=structlog.get_logger(),
        client=InProcessTestSupervisor._api_client(),
    )
    supervisor.comms = InProcessSupervisorComms(supervisor=supervisor)
    trigger.task_instance = ti

    async def scenario() -> None:
        runner = TriggerRunner()
        task = asyncio.create_task(runner.run_trigger(1, trigger))
        runner.triggers[1] = {"task": task, "name": "run_etl_job", "events": 0, "is_watcher": False}
        await asyncio.sleep(1.5)  # the trigger is polling the running job
        assert not task.done()
        if user_action:
            runner.to_cancel.append(1)
            await runner.cancel_triggers()
        else:
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with set_supervisor_comms(supervisor.comms):
        asyncio.run(scenario())


@pytest.fixture
def deferred_glue_run(stack_with_one_stream_file, run_dag):
    """A DAG run in the DB and a Glue run that keeps running: ``(dag run id, its trigger, job run id)``."""
    from music_pipeline.glue import ExistingGlueJobHook

    with local_glue_jobs(glue_succeeds):
        dag_run_id = run_dag().run_id
    release = threading.Event()
    with local_glue_jobs(lambda name, args: release.wait(60)):
        hook = ExistingGlueJobHook(
            job_name=stack_with_one_stream_file.glue_job, aws_conn_id=names.AWS_CONN_ID
        )
        job_run_id = hook.initialize_job({names.ARG_RUN_ID: "r1"})["JobRunId"]
        trigger = StoppableGlueJobCompleteTrigger(
            job_name=stack_with_one_stream_file.glue_job,
            run_id=job_run_id,
            aws_conn_id=names.AWS_CONN_ID,
            waiter_delay=1,
            waiter_max_attempts=60,
        )
        yield dag_run_id, trigger, job_run_id
        release.set()


def _job_run_state(emulated_stack, job_run_id: str) -> str:
    return emulated_stack.glue.get_job_run(JobName=emulated_stack.glue_job, RunId=job_run_id)["JobRun"][
        "JobRunState"
    ]


@pytest.mark.parametrize("acted_state", ["failed", None], ids=["marked_failed", "cleared"])
def test_a_deferred_task_killed_by_a_user_stops_its_glue_run(
    stack_with_one_stream_file, deferred_glue_run, acted_state
):
    dag_run_id, trigger, job_run_id = deferred_glue_run
    ti = _task_instance(dag_run_id, acted_state)

    _run_and_cancel_in_triggerer(trigger, ti, user_action=True)

    # Stopped: STOPPING while its driver (here the runner, still waiting) winds down, as on Glue.
    assert _job_run_state(stack_with_one_stream_file, job_run_id) == "STOPPING"


@pytest.mark.parametrize(
    "user_action", [False, True], ids=["triggerer_restart", "handed_to_another_triggerer"]
)
def test_a_trigger_cancelled_while_its_task_is_still_deferred_leaves_the_run_going(
    stack_with_one_stream_file, deferred_glue_run, user_action
):
    dag_run_id, trigger, job_run_id = deferred_glue_run
    ti = _task_instance(dag_run_id, "deferred")

    _run_and_cancel_in_triggerer(trigger, ti, user_action=user_action)

    assert _job_run_state(stack_with_one_stream_file, job_run_id) == "RUNNING"
