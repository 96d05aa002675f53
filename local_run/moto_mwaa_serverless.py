"""MWAA Serverless's ``StartWorkflowRun`` and ``GetWorkflowRun``, which moto server lacks, added to the
embedded server (imported by `local_run.emulator`, as `local_run.moto_glue` adds Glue behaviours).

The service's API is AWS JSON 1.0 (botocore's ``mwaa-serverless`` model: target prefix
``AmazonMWAAServerless``, signing name ``airflow-serverless``); requests with that target are answered
here, every other request goes on to moto. A workflow is emulated by a runner registered for its ARN
(`serving_workflow`): a callable that runs the workflow once with the run's parameters (the local
serverless run, `local_run.serverless_run`: the YAML through dag-factory, task code from the code
package) and returns the Airflow run's final state. StartWorkflowRun queues the run and answers at
once, as the service does; the host runs queued runs on its main thread (`run_queued`: Airflow's task
runner installs signal handlers, which only the main thread may do) while its client works on another.
GetWorkflowRun reports ``RunDetail.RunState`` STARTING, RUNNING, then SUCCESS or FAILED. A repeated ``ClientToken`` returns the run it started (the idempotency token);
an unknown workflow is a ``ResourceNotFoundException``; ``OverrideParameters`` go to the runner.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

TARGET_PREFIX = "AmazonMWAAServerless."
# A runner: the run's parameters -> the Airflow run's final state ("success" or anything else).
WorkflowRunner = Callable[[Mapping[str, str]], str]


@dataclass
class _Run:
    workflow_arn: str
    run_id: str
    parameters: dict[str, str]
    state: str = "STARTING"
    error: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    completed: datetime | None = None


_runners: dict[str, WorkflowRunner] = {}
_runs: dict[tuple[str, str], _Run] = {}  # (workflow ARN, RunId) -> run
_tokens: dict[tuple[str, str], str] = {}  # (workflow ARN, ClientToken) -> RunId
_lock = threading.Lock()
_queued: queue.Queue[tuple[_Run, WorkflowRunner]] = queue.Queue()


@contextmanager
def serving_workflow(workflow_arn: str, runner: WorkflowRunner) -> Iterator[None]:
    """Within the block, runs of `workflow_arn` started through the emulator run `runner`."""
    _runners[workflow_arn] = runner
    try:
        yield
    finally:
        _runners.pop(workflow_arn, None)


def _execute(run: _Run, runner: WorkflowRunner) -> None:
    run.state = "RUNNING"
    try:
        final = runner(run.parameters)
        run.state = "SUCCESS" if final == "success" else "FAILED"
        run.error = "" if final == "success" else f"the run ended {final}"
    except Exception as err:  # the service reports a failed run, it does not fail the API
        run.state, run.error = "FAILED", f"{type(err).__name__}: {err}"
    run.completed = datetime.now(UTC)


def run_queued(until: Callable[[], bool], poll_seconds: float = 0.2) -> None:
    """Run the queued workflow runs on this thread, one after the other, until `until()` is true."""
    while not until():
        try:
            run, runner = _queued.get(timeout=poll_seconds)
        except queue.Empty:
            continue
        _execute(run, runner)


class _NotFound(Exception):
    pass


def _start_workflow_run(body: dict[str, Any]) -> dict[str, Any]:
    arn = body["WorkflowArn"]
    runner = _runners.get(arn)
    if runner is None:
        raise _NotFound(f"Workflow {arn} not found")
    with _lock:
        token = body.get("ClientToken") or uuid.uuid4().hex
        run_id = _tokens.get((arn, token))
        if run_id is None:
            run_id = uuid.uuid4().hex
            _tokens[(arn, token)] = run_id
            run = _runs[(arn, run_id)] = _Run(arn, run_id, dict(body.get("OverrideParameters") or {}))
            _queued.put((run, runner))
        run = _runs[(arn, run_id)]
    return {"RunId": run.run_id, "Status": run.state, "StartedAt": run.started.timestamp()}


def _get_workflow_run(body: dict[str, Any]) -> dict[str, Any]:
    run = _runs.get((body["WorkflowArn"], body["RunId"]))
    if run is None:
        raise _NotFound(f"Run {body['RunId']} of workflow {body['WorkflowArn']} not found")
    detail: dict[str, Any] = {
        "WorkflowArn": run.workflow_arn,
        "RunId": run.run_id,
        "RunType": "ON_DEMAND",
        "StartedOn": run.started.timestamp(),
        "RunState": run.state,
    }
    if run.completed:
        detail["CompletedOn"] = run.completed.timestamp()
    if run.error:
        detail["ErrorMessage"] = run.error
    return {
        "WorkflowArn": run.workflow_arn,
        "RunId": run.run_id,
        "RunType": "ON_DEMAND",
        "OverrideParameters": run.parameters,
        "RunDetail": detail,
    }


_OPERATIONS = {"StartWorkflowRun": _start_workflow_run, "GetWorkflowRun": _get_workflow_run}


def _answer(operation: str, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    handler = _OPERATIONS.get(operation)
    try:
        if handler is None:
            status, payload = "400 Bad Request", _error("UnknownOperationException", operation)
        else:
            status, payload = "200 OK", handler(body)
    except _NotFound as err:
        status, payload = "404 Not Found", _error("ResourceNotFoundException", str(err))
    data = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


_moto_call = DomainDispatcherApplication.__call__


def _call(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Callable) -> Any:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith(TARGET_PREFIX):
        return _answer(target.removeprefix(TARGET_PREFIX), environ, start_response)
    return _moto_call(self, environ, start_response)


DomainDispatcherApplication.__call__ = _call
