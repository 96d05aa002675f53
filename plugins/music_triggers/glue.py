"""`StoppableGlueJobCompleteTrigger`: the provider's deferred Glue wait, which also stops the Glue run
when a user kills, clears or marks the deferred task.

While a task is deferred no worker process exists, so ``BaseOperator.on_kill`` never runs; the
provider's ``GlueJobCompleteTrigger`` (Amazon provider 9.34.0) has no ``on_kill`` of its own. Airflow
3.3's triggerer calls ``BaseTrigger.on_kill`` when it cancels a trigger it no longer owns
(``TriggerRunner.cancel_triggers``, cancel message ``__airflow_user_action__``), and never on its own
shutdown. That same path also runs when the trigger moved to another triggerer, where the task is
still DEFERRED, so the run is stopped only once the task instance is no longer DEFERRED (the
``safe_to_cancel`` check of the Google provider's Dataproc/BigQuery triggers), read through the
triggerer's supervisor (``RuntimeTaskInstance.get_task_states``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger
from airflow.utils.state import TaskInstanceState
from asgiref.sync import sync_to_async

# JobRunState values of botocore's Glue model (service-2.json) that the provider's `job_complete`
# waiter (waiters/glue.json, amazon provider 9.34.0) has no acceptor for: without one the waiter
# keeps polling a run that will never change, until `waiter_max_attempts` (hours).
FINAL_STATES_WITHOUT_ACCEPTOR = ("EXPIRED",)


def job_complete_acceptors(hook: GlueJobHook) -> list[dict[str, Any]]:
    """The provider's `job_complete` acceptors plus a failure acceptor per state it lacks."""
    waiters = json.loads(Path(hook.waiter_path).read_text())
    acceptors = list(waiters["waiters"]["job_complete"]["acceptors"])
    known = {a["expected"] for a in acceptors}
    acceptors += [
        {"matcher": "path", "argument": "JobRun.JobRunState", "expected": state, "state": "failure"}
        for state in FINAL_STATES_WITHOUT_ACCEPTOR
        if state not in known
    ]
    return acceptors


class StoppableGlueJobCompleteTrigger(GlueJobCompleteTrigger):
    """``GlueJobCompleteTrigger`` plus ``on_kill``: stop the Glue run when the task was acted on.

    :param stop_job_run_on_kill: stop the run (``BatchStopJobRun``) when a user kills, clears or marks
        the deferred task; never on a triggerer restart or hand-over.
    Other parameters are ``GlueJobCompleteTrigger``'s.
    """

    def __init__(self, *args: Any, stop_job_run_on_kill: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.stop_job_run_on_kill = stop_job_run_on_kill
        self.serialized_fields["stop_job_run_on_kill"] = stop_job_run_on_kill
        self.waiter_config_overrides = {"acceptors": job_complete_acceptors(self.hook())}

    async def task_state(self) -> str | None:
        """The current state of the task instance waiting for this trigger, from the metadata DB."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        ti = self.task_instance
        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
        )
        state = states.get(ti.run_id, {}).get(ti.task_id)
        return None if state is None else str(state)

    async def on_kill(self) -> None:
        if not self.stop_job_run_on_kill or self.task_instance is None:
            return
        try:
            state = await self.task_state()
        except Exception:
            self.log.exception("Could not read the task's state: Glue run %s left running", self.run_id)
            return
        if state == TaskInstanceState.DEFERRED:
            # The trigger moved to another triggerer; the task still waits for the run.
            self.log.info("Task still deferred: Glue run %s of %s keeps running", self.run_id, self.job_name)
            return
        self.log.info("Task is %s: stopping Glue run %s of %s", state, self.run_id, self.job_name)
        async with await self.hook().get_async_conn() as client:
            response = await client.batch_stop_job_run(JobName=self.job_name, JobRunIds=[self.run_id])
        for error in response.get("Errors", []):
            # A run that already ended cannot be stopped; Glue reports it here rather than raising.
            self.log.warning("Glue did not stop run %s: %s", self.run_id, error.get("ErrorDetail"))
