"""Glue behaviours moto server lacks, added to the embedded server as Glue behaves (imported by
`local_run.emulator`, so every local use of the emulator has them).

- ``BatchStopJobRun`` (moto has none): an active run is STOPPING while its local runner still works
  (`working_runs`, kept by `local_run.glue_local`) and STOPPED once it is done; a WAITING run is
  STOPPED at once; any other run is reported under ``Errors``.
- ``StartJobRun`` counts STOPPING and WAITING runs against ``MaxConcurrentRuns`` (moto counts only
  STARTING and RUNNING), and for a job created with ``JobRunQueuingEnabled`` (moto drops the
  property; kept here) queues the run as WAITING instead of refusing it with
  ``ConcurrentRunsExceededException`` (Glue developer guide, "AWS Glue job run statuses": "Jobs may
  enter the WAITING state if you opt into AWS Glue job run queuing"). `local_run.glue_local` starts
  a queued run once the run before it has ended.
- ``GetJobRun`` reports the ``ErrorMessage`` a local runner gave the run.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.glue.exceptions import ConcurrentRunsExceededException, JobRunNotFoundException
from moto.glue.models import FakeJob, FakeJobRun
from moto.glue.responses import GlueResponse

# Job run states from which BatchStopJobRun stops a run (JobRunState).
_STOPPABLE_STATES = frozenset({"STARTING", "RUNNING", "WAITING"})
# States that count against a job's MaxConcurrentRuns (a STOPPING run still holds its resources).
_OCCUPYING_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
# Run ids whose runner is still working: BatchStopJobRun leaves them STOPPING until it is done.
working_runs: set[str] = set()


def _batch_stop_job_run(self: GlueResponse) -> ActionResult:
    """moto server's missing ``BatchStopJobRun``: stop each active run, report the others."""
    job_name = self._get_param("JobName")
    stopped, errors = [], []
    for run_id in self._get_param("JobRunIds"):
        try:
            run = self.glue_backend.get_job_run(job_name, run_id)
        except JobRunNotFoundException:
            run = None
        if run is not None and run.status in _STOPPABLE_STATES:
            run._transitions = []
            run.status = "STOPPING" if run_id in working_runs else "STOPPED"
            stopped.append({"JobName": job_name, "JobRunId": run_id})
        else:
            state = run.status if run is not None else "not found"
            detail = {"ErrorCode": "InvalidInputException", "ErrorMessage": f"job run is {state}"}
            errors.append({"JobName": job_name, "JobRunId": run_id, "ErrorDetail": detail})
    return ActionResult({"SuccessfulSubmissions": stopped, "Errors": errors})


GlueResponse.batch_stop_job_run = _batch_stop_job_run

_moto_create_job = GlueResponse.create_job
_moto_job_as_dict = FakeJob.as_dict
_moto_start_job_run = FakeJob.start_job_run
_moto_job_run_as_dict = FakeJobRun.as_dict


def _create_job(self: GlueResponse) -> ActionResult:
    """moto's CreateJob, keeping ``JobRunQueuingEnabled`` (moto drops it)."""
    result = _moto_create_job(self)
    job = self.glue_backend.get_job(self._get_param("Name"))
    job.job_run_queuing_enabled = bool(self._get_param("JobRunQueuingEnabled"))
    return result


def _job_as_dict(self: FakeJob) -> dict[str, Any]:
    return {
        **_moto_job_as_dict(self),
        "JobRunQueuingEnabled": getattr(self, "job_run_queuing_enabled", False),
    }


def _start_job_run(self: FakeJob, *args: Any, **kwargs: Any) -> str:
    """moto's StartJobRun with Glue's limit (STOPPING and WAITING runs count) and job run queuing."""
    limit = self.execution_property.get("MaxConcurrentRuns", 1)
    occupying = [run for run in self.job_runs if run.status in _OCCUPYING_STATES]
    if len(occupying) < limit:
        return _moto_start_job_run(self, *args, **kwargs)
    if not getattr(self, "job_run_queuing_enabled", False):
        raise ConcurrentRunsExceededException(f"Job with name {self.name} already running")
    saved, self.execution_property = self.execution_property, {"MaxConcurrentRuns": len(occupying) + 1}
    try:
        run_id = _moto_start_job_run(self, *args, **kwargs)
    finally:
        self.execution_property = saved
    run = self.get_job_run(run_id)
    run._transitions = []
    run.status = "WAITING"
    return run_id


def _job_run_as_dict(self: FakeJobRun) -> dict[str, Any]:
    """moto's JobRun with the ``ErrorMessage`` the local runner gave the run (Glue reports it)."""
    body = _moto_job_run_as_dict(self)
    if getattr(self, "error_message", ""):
        body["ErrorMessage"] = self.error_message
    return body


GlueResponse.create_job = _create_job
FakeJob.as_dict = _job_as_dict
FakeJob.start_job_run = _start_job_run
FakeJobRun.as_dict = _job_run_as_dict
