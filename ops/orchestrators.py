"""Which orchestrator runs the deployed pipeline, read from the stack's outputs, and the MWAA
Serverless side of ``make trigger`` / ``make recompute`` / ``make replay``.

The stack says how it was deployed (output ``OrchestrationMode``: ``provisioned`` or ``serverless``;
a stack from before that output is provisioned): `deployed` reads it, so the user never says which.
A provisioned environment is triggered through MWAA's ``InvokeRestApi`` (``ops.trigger.MwaaDagRuns``);
a serverless workflow through the ``mwaa-serverless`` API (`ServerlessWorkflowRuns`: StartWorkflowRun,
GetWorkflowRun; botocore 1.43.56 of requirements.lock ships the client). ``make report`` reads only the
table and bucket outputs, which both modes have.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from music_contract import names

OUTPUT_MODE = "OrchestrationMode"
OUTPUT_WORKFLOW_ARN = "ServerlessWorkflowArn"
OUTPUT_ENVIRONMENT = "MwaaEnvironmentName"
PROVISIONED, SERVERLESS = "provisioned", "serverless"
# GetWorkflowRun RunDetail.RunState (botocore's mwaa-serverless model) -> the trigger's final states.
FINAL_RUN_STATES = {"SUCCESS": "success", "FAILED": "failed", "TIMEOUT": "failed", "STOPPED": "failed"}


class OrchestratorError(RuntimeError):
    """The stack or the workflow run could not be read; the message says which and why."""


@dataclass(frozen=True)
class Deployed:
    """How a stack runs the pipeline: ``mode`` and the environment name or workflow ARN."""

    mode: str
    target: str


def stack_outputs(stack_name: str, cloudformation: Any) -> dict[str, str]:
    """The outputs of the deployed stack `stack_name` (key -> value): the one reading of them that
    ``make trigger`` and ``make smoke`` share."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as err:
        raise OrchestratorError(
            f"stack {stack_name}: {err.response['Error'].get('Message', err)}; deploy it (make deploy) "
            "or pick its region (--region)"
        ) from err
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def orchestrator_of(stack_name: str, outputs: Mapping[str, str]) -> Deployed:
    """The orchestrator that the stack outputs `outputs` name."""
    mode = outputs.get(OUTPUT_MODE, PROVISIONED)
    output = OUTPUT_WORKFLOW_ARN if mode == SERVERLESS else OUTPUT_ENVIRONMENT
    if not outputs.get(output):
        raise OrchestratorError(
            f"stack {stack_name} ({mode}) has no output {output}; redeploy it with this version"
        )
    return Deployed(mode, outputs[output])


def deployed(stack_name: str, cloudformation: Any) -> Deployed:
    """The orchestrator of the deployed stack `stack_name`, from its outputs."""
    return orchestrator_of(stack_name, stack_outputs(stack_name, cloudformation))


def serverless_params(conf: Mapping[str, Any]) -> dict[str, str]:
    """The run's params as MWAA Serverless takes them (strings: the workflow's ``params`` are a string
    map): a list of dates comma-separated, no value as ""."""
    params = {}
    for key, value in conf.items():
        if isinstance(value, list | tuple):
            params[key] = ",".join(str(v) for v in value)
        else:
            params[key] = "" if value is None else str(value)
    return params


class ServerlessWorkflowRuns:
    """Start and follow runs of one MWAA Serverless workflow (the same interface as ``MwaaDagRuns``).

    :param client: a boto3 ``mwaa-serverless`` client.
    :param workflow_arn: the stack's ``ServerlessWorkflowArn`` output.
    """

    def __init__(self, client: Any, workflow_arn: str, dag_id: str = names.DAG_ID):
        self.client = client
        self.workflow_arn = workflow_arn
        self.dag_id = dag_id
        self.environment = workflow_arn

    def ensure_unpaused(self, unpause: bool) -> None:
        """A workflow has no pause switch: a StartWorkflowRun always starts a run."""

    def trigger(self, conf: dict[str, Any], run_id: str) -> str:
        """StartWorkflowRun with the params as OverrideParameters; `run_id` is its idempotency token
        (a repeated trigger with the same id starts no second run). Returns the service's RunId."""
        try:
            response = self.client.start_workflow_run(
                WorkflowArn=self.workflow_arn, ClientToken=run_id, OverrideParameters=serverless_params(conf)
            )
        except ClientError as err:
            raise OrchestratorError(
                f"StartWorkflowRun on {self.workflow_arn} failed: {_message(err)}"
            ) from err
        return str(response["RunId"])

    def _run_detail(self, run_id: str) -> dict[str, Any]:
        try:
            response = self.client.get_workflow_run(WorkflowArn=self.workflow_arn, RunId=run_id)
        except ClientError as err:
            raise OrchestratorError(
                f"GetWorkflowRun {run_id} on {self.workflow_arn} failed: {_message(err)}"
            ) from err
        return response["RunDetail"]

    def run_state(self, run_id: str) -> str:
        return str(self._run_detail(run_id)["RunState"])

    def failure_details(self, run_id: str) -> list[str]:
        """What the service says of a run that did not succeed (GetWorkflowRun's ErrorMessage)."""
        message = self._run_detail(run_id).get("ErrorMessage")
        return [f"the service says: {message}"] if message else []

    def follow(
        self,
        run_id: str,
        poll_seconds: float = 30,
        timeout_seconds: float = 3 * 3600,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll until the run ends (printing each new state); ``success`` or ``failed``."""

        def look() -> RunProgress:
            state = self.run_state(run_id)
            return RunProgress(state, FINAL_RUN_STATES.get(state), {f"workflow run {run_id}": state})

        return follow_run(
            look, run_id, poll_seconds=poll_seconds, timeout_seconds=timeout_seconds, sleep=sleep, clock=clock
        )


@dataclass(frozen=True)
class RunProgress:
    """One look at a run: its state, its result once it ended, and what to show (name -> state)."""

    state: str
    # ``success`` or ``failed`` once the run ended; None while it goes on.
    result: str | None
    shown: Mapping[str, str]


# Looks that may fail in a row before a follow gives up. One failed call must not end the follow of a
# run that goes on: an InvokeRestApi that outlives its 10 s fails ("Accessing the Apache Airflow
# REST API", MWAA user guide), and botocore retries no RestApiServerException (a 400 in its model).
MAX_FAILED_LOOKS = 5


def follow_run(
    look: Callable[[], RunProgress],
    run_id: str,
    *,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout_error: Callable[[str], Exception] = OrchestratorError,
    look_errors: tuple[type[Exception], ...] = (OrchestratorError,),
) -> str:
    """Look at run `run_id` every `poll_seconds` until it ends, printing each shown state that changed;
    its result. After `timeout_seconds`, raises ``timeout_error(message)``. A look that raises one of
    `look_errors` is tried again at the next poll, up to `MAX_FAILED_LOOKS` in a row. The one follow
    loop of both orchestrators (`ServerlessWorkflowRuns`, ``ops.trigger.MwaaDagRuns``)."""
    deadline = clock() + timeout_seconds
    shown: Mapping[str, str] = {}
    failed_looks = 0
    while True:
        try:
            progress = look()
        except look_errors as err:
            failed_looks += 1
            if failed_looks >= MAX_FAILED_LOOKS:
                raise
            print(f"  could not read run {run_id} ({err}); trying again in {poll_seconds:.0f} s")
        else:
            failed_looks = 0
            for name, state in progress.shown.items():
                if shown.get(name) != state:
                    print(f"  {name}: {state}")
            shown = progress.shown
            if progress.result is not None:
                return progress.result
        if clock() >= deadline:
            state = progress.state if failed_looks == 0 else "unread"
            raise timeout_error(f"run {run_id} still {state} after {timeout_seconds:.0f} s")
        sleep(poll_seconds)


def _message(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Message", str(err))
