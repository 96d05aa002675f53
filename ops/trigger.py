"""``make trigger``: trigger the deployed DAG through MWAA's ``InvokeRestApi`` and follow it to the end.

    make trigger                                   # dev environment, empty conf
    make trigger TRIGGER_ARGS="--env prod --conf '{\\"note\\": \\"backfill\\"}'"
    make recompute DATES=2026-11-20,2026-11-21     # --recompute-dates: the DAG's recompute_dates param
    make replay FROM=2026-11-20 TO=2026-11-21      # --replay-from/--replay-to: replay_from/replay_to
    python -m ops.trigger --env dev --unpause

The calls go to Airflow 3's REST API v2 (MWAA adds the ``/api/v2`` prefix) with your AWS credentials.
``airflow:InvokeRestApi`` is authorized on the Airflow role the call acts as (resource type
``rbac-role``: ``arn:aws:airflow:<region>:<account>:role/<environment name>/<Airflow role>``, e.g.
``.../role/music-streams-dev-airflow/User``; Service Authorization Reference for MWAA), not on the
environment ARN. MWAA limits ``Path`` to 64 characters, which is why the run is followed through the
list endpoints (filtered by run id) rather than ``/dags/<dag>/dagRuns/<run id>``. Exit code: 0 when
the run succeeded, 1 when it failed or timed out.

The run id goes into a query string (``run_id_pattern``), so it is made of ``A-Za-z0-9._-`` only:
Airflow's default ``manual__2026-11-25T17:18:46+00:00`` would arrive with its ``+`` read as a space.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.config import CDK_JSON, ConfigError, PipelineConfig, stack_name
from music_contract import layout, names, reprocess
from ops import aws_errors, orchestrators

MAX_PATH_CHARS = 64  # InvokeRestApi's limit on Path
FINISHED_RUN_STATES = frozenset({"success", "failed"})


class TriggerError(RuntimeError):
    """The REST call failed, or the run could not be followed; the message says which and why."""


def default_run_id(now: datetime | None = None) -> str:
    """``manual__<UTC time to the microsecond>``: unique per trigger, only ``A-Za-z0-9._-``."""
    return f"manual__{(now or datetime.now(UTC)):%Y-%m-%dT%H.%M.%S.%fZ}"


def check_run_id(run_id: str) -> str:
    """The run id, if it is made of ``A-Za-z0-9._-`` only (it travels in a query string)."""
    if not run_id or layout.sanitize_run_id(run_id) != run_id:
        raise ValueError(f"--run-id {run_id!r}: use only letters, digits, '.', '_' and '-'")
    return run_id


def mwaa_environment_name(env: str, cdk_json: Path = CDK_JSON) -> str:
    """The MWAA environment name the stack gives environment `env` (from ``cdk.json`` context)."""
    config = PipelineConfig.load(env, cdk_json=cdk_json)
    # The environment name does not depend on account or region.
    return config.names(account="", region="").mwaa_environment


class MwaaDagRuns:
    """Trigger and follow runs of one DAG through ``InvokeRestApi``.

    :param mwaa_client: a boto3 ``mwaa`` client.
    :param environment: the MWAA environment name.
    :param dag_id: the DAG to trigger.
    """

    def __init__(self, mwaa_client: Any, environment: str, dag_id: str = names.DAG_ID):
        self.client = mwaa_client
        self.environment = environment
        self.dag_id = dag_id

    def call(self, method: str, path: str, body: dict | None = None, query: dict | None = None) -> Any:
        """One REST API v2 call; returns the JSON response, raises `TriggerError` on an HTTP error."""
        if len(path) > MAX_PATH_CHARS:
            raise TriggerError(
                f"REST path {path!r} is longer than InvokeRestApi's {MAX_PATH_CHARS} characters"
            )
        request: dict[str, Any] = {"Name": self.environment, "Path": path, "Method": method}
        if body is not None:
            request["Body"] = body
        if query:
            request["QueryParameters"] = query
        try:
            response = self.client.invoke_rest_api(**request)
        except ClientError as err:
            status = err.response.get("RestApiStatusCode", "")
            detail = err.response.get("RestApiResponse") or err.response.get("Error", {}).get("Message", "")
            raise TriggerError(
                f"{method} {path} on MWAA environment {self.environment!r} failed {status}: {detail}"
            ) from err
        return response.get("RestApiResponse", {})

    def ensure_unpaused(self, unpause: bool) -> None:
        """New DAGs start paused on MWAA: a run of a paused DAG would wait forever."""
        dag = self.call("GET", f"/dags/{self.dag_id}")
        if not dag.get("is_paused"):
            return
        if not unpause:
            raise TriggerError(
                f"DAG {self.dag_id} is paused: unpause it in the Airflow UI, or with make trigger TRIGGER_ARGS=--unpause"
            )
        self.call("PATCH", f"/dags/{self.dag_id}", body={"is_paused": False})
        print(f"unpaused {self.dag_id}")

    def trigger(self, conf: dict[str, Any], run_id: str) -> str:
        """Start run `run_id` (no logical date: the DAG has no schedule); returns its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": conf, "dag_run_id": check_run_id(run_id)}
        return self.call("POST", f"/dags/{self.dag_id}/dagRuns", body=body)["dag_run_id"]

    def run_state(self, run_id: str) -> str:
        query = {"run_id_pattern": run_id, "order_by": "-run_after", "limit": 10}
        runs = self.call("GET", f"/dags/{self.dag_id}/dagRuns", query=query).get("dag_runs", [])
        for run in runs:
            if run.get("dag_run_id") == run_id:
                return str(run["state"])
        raise TriggerError(f"run {run_id} of {self.dag_id} not found on {self.environment}")

    def task_states(self, run_id: str) -> dict[str, str]:
        body = {"dag_ids": [self.dag_id], "dag_run_ids": [run_id]}
        instances = self.call("POST", "/dags/~/dagRuns/~/taskInstances/list", body=body)
        return {ti["task_id"]: str(ti.get("state") or "none") for ti in instances.get("task_instances", [])}

    def failure_details(self, run_id: str) -> list[str]:
        """The tasks of a run that did not succeed that failed (or never ran because one did)."""
        states = self.task_states(run_id)
        failed = sorted(task for task, state in states.items() if state in ("failed", "upstream_failed"))
        return [f"failed task(s): {', '.join(f'{t} ({states[t]})' for t in failed)}"] if failed else []

    def follow(
        self,
        run_id: str,
        poll_seconds: float = 30,
        timeout_seconds: float = 3 * 3600,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll until the run finishes (printing task state changes); returns its final state."""

        def look() -> orchestrators.RunProgress:
            state = self.run_state(run_id)
            result = state if state in FINISHED_RUN_STATES else None
            return orchestrators.RunProgress(state, result, self.task_states(run_id))

        return orchestrators.follow_run(
            look,
            run_id,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            sleep=sleep,
            clock=clock,
            timeout_error=lambda message: TriggerError(f"{message}; follow it in the UI"),
            look_errors=(TriggerError,),
        )


def reprocess_conf(recompute_dates: str | None, replay_from: str | None, replay_to: str | None) -> dict:
    """The DAG params of a recompute or a replay, checked here with the DAG's own rules
    (`music_contract.reprocess`) so a bad date fails before any call; Airflow checks them again."""
    conf: dict[str, Any] = {}
    if recompute_dates is not None:
        conf[reprocess.PARAM_RECOMPUTE_DATES] = list(reprocess.parse_recompute_dates(recompute_dates))
    if replay_from is not None or replay_to is not None:
        reprocess.replay_days(replay_from, replay_to)
        conf |= {reprocess.PARAM_REPLAY_FROM: replay_from, reprocess.PARAM_REPLAY_TO: replay_to}
    if reprocess.PARAM_RECOMPUTE_DATES in conf and reprocess.PARAM_REPLAY_FROM in conf:
        raise ValueError(
            "recompute_dates and replay_from/replay_to: one kind of reprocessing per run, not both"
        )
    return conf


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make trigger", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    parser.add_argument("--conf", default="{}", help="run conf, a JSON object (default: {})")
    parser.add_argument(
        "--run-id",
        help="the run id, only A-Za-z0-9._- (default: manual__<UTC time>, e.g. manual__2026-11-25T18.00.00.000000Z)",
    )
    parser.add_argument("--region", help="AWS region of the environment (default: your AWS configuration)")
    parser.add_argument("--unpause", action="store_true", help="unpause the DAG first if it is paused")
    parser.add_argument("--poll-seconds", type=float, default=30)
    parser.add_argument("--timeout-minutes", type=float, default=180)
    parser.add_argument("--no-wait", action="store_true", help="trigger and return without following")
    parser.add_argument(
        "--recompute-dates",
        help="recompute these dates' KPIs from the curated events (YYYY-MM-DD,YYYY-MM-DD,...)",
    )
    parser.add_argument("--replay-from", help="replay the raw files archived from this day (YYYY-MM-DD)")
    parser.add_argument("--replay-to", help="... to this day, included (YYYY-MM-DD)")
    args = parser.parse_args(argv)
    try:
        args.conf = json.loads(args.conf)
    except json.JSONDecodeError as err:
        parser.error(f"--conf is not valid JSON: {err}")
    if not isinstance(args.conf, dict):
        parser.error('--conf must be a JSON object, e.g. \'{"key": "value"}\'')
    try:
        args.conf.update(reprocess_conf(args.recompute_dates, args.replay_from, args.replay_to))
    except ValueError as err:
        parser.error(str(err))
    try:
        args.run_id = check_run_id(args.run_id) if args.run_id is not None else default_run_id()
    except ValueError as err:
        parser.error(str(err))
    return args


def main(
    argv: list[str] | None = None,
    mwaa_client: Any = None,
    serverless_client: Any = None,
    cloudformation: Any = None,
) -> int:
    """Trigger and follow a run. Unless a client is given, the deployed stack's outputs say which
    orchestrator runs it (ops.orchestrators): an MWAA environment or an MWAA Serverless workflow.
    AWS setup errors (region, credentials, stack, access) are one line (ops.aws_errors)."""
    args = parse_args(argv)
    try:
        config = PipelineConfig.load(args.env)
        environment = mwaa_environment_name(args.env)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stack = stack_name(config)
    region = args.region
    try:
        given = mwaa_client or cloudformation  # a client given (tests) carries its region
        region = given.meta.region_name if given else aws_errors.resolve_region(args.region)
        runs = _dag_runs(config, region, environment, mwaa_client, serverless_client, cloudformation)
        runs.ensure_unpaused(args.unpause)
        run_id = runs.trigger(args.conf, args.run_id)
        print(f"triggered {runs.dag_id} run {run_id} on {runs.environment}")
        if args.no_wait:
            return 0
        state = runs.follow(run_id, args.poll_seconds, args.timeout_minutes * 60)
        print(f"run {run_id}: {state}")
        if state != "success":
            for line in [*runs.failure_details(run_id), f"task logs: {task_log_group(config, runs)}"]:
                print(f"  {line}")
    except Exception as err:
        line = aws_errors.explain(err, stack=stack, region=region)
        if line is None and not isinstance(err, TriggerError | orchestrators.OrchestratorError):
            raise
        print(f"error: {line or err}", file=sys.stderr)
        return 1
    return 0 if state == "success" else 1


def task_log_group(config: PipelineConfig, runs: Any) -> str:
    """The CloudWatch log group of the run's task logs, for the orchestrator that ran it."""
    names_ = config.names(account="", region="")  # neither name depends on account or region
    if isinstance(runs, orchestrators.ServerlessWorkflowRuns):
        return f"CloudWatch log group {names_.serverless_log_group}"
    return f"CloudWatch log group {names_.mwaa_log_group('Task')}"


def _dag_runs(
    config: PipelineConfig,
    region: str | None,
    environment: str,
    mwaa_client: Any,
    serverless_client: Any,
    cloudformation: Any,
) -> MwaaDagRuns | orchestrators.ServerlessWorkflowRuns:
    """The runs API of the deployed orchestrator (a given client decides it, else the stack's outputs)."""
    import boto3

    if mwaa_client is not None:
        return MwaaDagRuns(mwaa_client, environment)
    cloudformation = cloudformation or boto3.client("cloudformation", region_name=region)
    deployed = orchestrators.deployed(stack_name(config), cloudformation)
    if deployed.mode == orchestrators.SERVERLESS:
        client = serverless_client or boto3.client("mwaa-serverless", region_name=region)
        return orchestrators.ServerlessWorkflowRuns(client, deployed.target)
    return MwaaDagRuns(boto3.client("mwaa", region_name=region), deployed.target)


if __name__ == "__main__":
    sys.exit(main())
