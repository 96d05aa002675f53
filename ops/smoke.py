"""``make smoke``: a deployed environment proves it works, end to end, and leaves nothing behind.

    make smoke                                    # dev: MusicStreams-dev in your AWS configuration's region
    make smoke SMOKE_ARGS="--env prod --allow-prod --region eu-west-1"
    make smoke SMOKE_ARGS="--keep"                # leave the smoke run's data to inspect

Reads where everything is from the stack's outputs (``MusicStreams-<env>``), then:

1. refuses to start when raw files wait in ``raw_data/`` (it would process real data), and in prod
   unless ``--allow-prod``;
2. writes a small generated batch whose events all fall on a reserved date far in the past
   (``SMOKE_TEST_DATE``, 2000-01-01), built from the deployment's own reference files;
3. triggers the pipeline and follows it (`pipeline_runs`, by the stack's ``OrchestrationMode`` output
   as `ops.orchestrators` reads it: provisioned MWAA through ``InvokeRestApi``, MWAA Serverless through
   StartWorkflowRun and GetWorkflowRun; or an Airflow API server given with ``--airflow-url``, the
   local `make airflow`);
4. checks the KPI items of that date against an independent computation over the batch
   (`ops.kpi_oracle`), that the batch was archived and the data-quality report written, and that
   the run published no freshness datum (the DAG leaves the reserved date out of it: no alarm moves);
5. removes, pass or fail (unless ``--keep``), everything the run wrote: the date's KPI items, its
   curated partitions, the archived batch, the run's manifest, report, quarantine and staging objects;
   but not while the run may still be writing (the follow timed out or failed): it then says so and
   leaves everything, as ``--keep`` does.

Prints a pass/fail table with the time of each step; exit code 0 when every step passed.
Permissions: cloudformation:DescribeStacks; s3:ListBucket, GetObject, PutObject, DeleteObject on the
data bucket; dynamodb:Query, BatchWriteItem on the table; airflow:InvokeRestApi (provisioned) or
airflow-serverless:StartWorkflowRun, GetWorkflowRun (serverless); cloudwatch:GetMetricStatistics.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from infra.config import ConfigError, PipelineConfig, stack_name
from music_contract import items, layout, metrics
from music_contract.items import DayInFlux
from music_contract.quality import STATUS_SUCCEEDED, DataQualityReport
from ops import aws_errors, orchestrators
from ops.kpi_oracle import expected_items
from ops.smoke_data import (
    SmokeError,
    archived_batches,
    clean_up,
    comparable,
    date_items,
    freshness_samples,
    keys_under,
    left_in_place,
    read_object,
    run_id_of,
    smoke_batch,
)
from ops.trigger import MwaaDagRuns, TriggerError

SMOKE_ROWS = 240
SMOKE_PREFIX = f"{layout.RAW_PREFIX}smoke/"
# Stack outputs smoke reads beside the orchestrator's (infra/stack.py).
OUTPUT_BUCKET, OUTPUT_TABLE = "DataBucketName", "KpiTableName"


class Refused(RuntimeError):
    """Smoke will not start here (prod without --allow-prod, raw files waiting)."""


@dataclass(frozen=True)
class Deployment:
    """Where one environment's parts are, from its stack's outputs: the bucket, the table and the
    orchestrator (`ops.orchestrators`: its mode, and the MWAA environment or the workflow ARN)."""

    stack: str
    env_name: str
    bucket: str
    table: str
    orchestrator: orchestrators.Deployed

    @property
    def orchestration(self) -> str:
        return self.orchestrator.mode

    @classmethod
    def from_stack(cls, cloudformation: Any, stack: str, env_name: str) -> Deployment:
        outputs = orchestrators.stack_outputs(stack, cloudformation)
        missing = [key for key in (OUTPUT_BUCKET, OUTPUT_TABLE) if not outputs.get(key)]
        if missing:
            raise SmokeError(
                f"stack {stack} has no output {', '.join(missing)}: redeploy it with this version"
            )
        orchestrator = orchestrators.orchestrator_of(stack, outputs)
        return cls(stack, env_name, outputs[OUTPUT_BUCKET], outputs[OUTPUT_TABLE], orchestrator)


class PipelineRuns(Protocol):
    """What smoke needs from an orchestration: start a run with a conf, follow it to its end."""

    def start(self, run_id: str) -> str: ...

    def wait(self, run_id: str, poll_seconds: float, timeout_seconds: float) -> str: ...


@dataclass
class DagRuns:
    """A `PipelineRuns` over Airflow's REST API v2 (`ops.trigger.MwaaDagRuns` or a subclass)."""

    api: MwaaDagRuns

    def start(self, run_id: str) -> str:
        self.api.ensure_unpaused(unpause=False)
        return self.api.trigger({}, run_id)

    def wait(self, run_id: str, poll_seconds: float, timeout_seconds: float) -> str:
        return self.api.follow(run_id, poll_seconds, timeout_seconds)


@dataclass
class WorkflowRuns:
    """A `PipelineRuns` over an MWAA Serverless workflow: smoke's run id is the StartWorkflowRun
    idempotency token, the service's RunId is what GetWorkflowRun follows."""

    api: orchestrators.ServerlessWorkflowRuns
    service_run_ids: dict[str, str] = field(default_factory=dict)

    def start(self, run_id: str) -> str:
        self.service_run_ids[run_id] = self.api.trigger({}, run_id)
        return self.service_run_ids[run_id]

    def wait(self, run_id: str, poll_seconds: float, timeout_seconds: float) -> str:
        return self.api.follow(self.service_run_ids[run_id], poll_seconds, timeout_seconds)


def pipeline_runs(deployment: Deployment, session: Any, airflow_url: str | None = None) -> PipelineRuns:
    """The one way smoke triggers and follows: by the deployment's orchestration mode (MWAA's
    ``InvokeRestApi`` or MWAA Serverless's StartWorkflowRun/GetWorkflowRun), or an Airflow API server
    reached directly (`--airflow-url`)."""
    if airflow_url:
        from ops.airflow_rest import AirflowRestDagRuns

        return DagRuns(AirflowRestDagRuns(airflow_url))
    target = deployment.orchestrator.target
    if deployment.orchestration == orchestrators.SERVERLESS:
        return WorkflowRuns(orchestrators.ServerlessWorkflowRuns(session.client("mwaa-serverless"), target))
    return DagRuns(MwaaDagRuns(session.client("mwaa"), target))


# --- the table -------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    passed: bool = False
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Steps:
    """The steps run so far, each timed; a failed step stops the checks (cleanup still runs)."""

    done: list[Step] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        step = Step(name)
        self.done.append(step)
        started = self.clock()
        try:
            yield step
            step.passed = True
        except Exception as err:
            step.detail = aws_errors.explain(err) or f"{err}" or type(err).__name__
            raise
        finally:
            step.seconds = self.clock() - started

    @property
    def passed(self) -> bool:
        return bool(self.done) and all(s.passed for s in self.done)

    def table(self) -> str:
        width = max(len(s.name) for s in self.done)
        lines = [f"{'step':<{width}}  result  seconds  detail", f"{'-' * width}  ------  -------  ------"]
        for s in self.done:
            lines.append(
                f"{s.name:<{width}}  {'PASS' if s.passed else 'FAIL':<6}  {s.seconds:7.1f}  {s.detail}"
            )
        return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------------


def default_run_id(now: datetime | None = None) -> str:
    return f"smoke__{(now or datetime.now(UTC)):%Y-%m-%dT%H.%M.%S.%fZ}"


@dataclass
class Options:
    env: str = "dev"
    region: str | None = None
    keep: bool = False
    allow_prod: bool = False
    airflow_url: str | None = None
    poll_seconds: float = 30
    timeout_minutes: float = 90
    rows: int = SMOKE_ROWS
    seed: int = 1


def refuse_while_raw_files_wait(s3: Any, bucket: str) -> None:
    """`Refused` when files wait in raw_data/: the run would process them (real data)."""
    waiting = keys_under(s3, bucket, layout.RAW_PREFIX)
    if waiting:
        raise Refused(
            f"{len(waiting)} raw file(s) wait in s3://{bucket}/{layout.RAW_PREFIX} (e.g. {waiting[0]}): "
            "smoke would process them; run it when the pipeline has processed them"
        )


def run_smoke(options: Options, session: Any, steps: Steps, run_id: str | None = None) -> None:
    """Every step into `steps`; raises `Refused` before writing anything when smoke must not run."""
    config = PipelineConfig.load(options.env)
    if config.is_prod and not options.allow_prod:
        raise Refused(f"--env {options.env} is production: pass --allow-prod to smoke-test it")
    stack = stack_name(config)
    s3, dynamodb = session.client("s3"), session.resource("dynamodb")
    with steps.step("stack outputs") as step:
        deployment = Deployment.from_stack(session.client("cloudformation"), stack, config.env_name)
        step.detail = (
            f"{stack}: bucket {deployment.bucket}, table {deployment.table}, {deployment.orchestration}"
        )
    refuse_while_raw_files_wait(s3, deployment.bucket)
    run_id = run_id or default_run_id()
    safe_run_id = layout.sanitize_run_id(run_id)
    raw_key = f"{SMOKE_PREFIX}{safe_run_id}.csv"
    runs = pipeline_runs(deployment, session, options.airflow_url)
    # Data points are counted per minute: count from the minute before, before and after the run.
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    freshness_before = freshness_samples(session, deployment.env_name, since)
    run_may_be_going = False  # from the trigger until the run is seen to end: no cleanup then
    try:
        with tempfile.TemporaryDirectory(prefix="smoke-") as scratch:
            root = Path(scratch)
            with steps.step("write batch") as step:
                step.detail = write_batch(s3, deployment.bucket, root, raw_key, options)
            with steps.step("trigger") as step:
                run_may_be_going = True
                started = runs.start(run_id)
                step.detail = f"run {run_id}" + (f" (service run {started})" if started != run_id else "")
            with steps.step("follow") as step:
                state = runs.wait(run_id, options.poll_seconds, options.timeout_minutes * 60)
                run_may_be_going = False
                step.detail = f"run {state}"
                if state != "success":
                    raise SmokeError(f"run {run_id} ended {state}")
            check_results(steps, s3, dynamodb, deployment, root, raw_key, options.rows)
            with steps.step("no freshness datum") as step:
                published = freshness_samples(session, deployment.env_name, since) - freshness_before
                if published:
                    raise SmokeError(f"the run published {published} freshness data point(s)")
                step.detail = f"{metrics.METRIC_KPI_FRESHNESS_HOURS} untouched since the run started"
    finally:
        if options.keep or run_may_be_going:
            print(left_in_place(deployment.bucket, deployment.table, run_id, raw_key, options.keep))
        else:
            with suppress(Exception), steps.step("cleanup") as step:  # the step records a failure
                step.detail = clean_up(
                    s3, dynamodb, deployment.bucket, deployment.table, safe_run_id, raw_key, since
                )


def write_batch(s3: Any, bucket: str, root: Path, raw_key: str, options: Options) -> str:
    """Upload the smoke batch to `raw_key`, keeping it and the songs file under `root` for the oracle."""
    songs = read_object(s3, bucket, layout.SONGS_KEY)
    users = read_object(s3, bucket, layout.USERS_KEY)
    batch = smoke_batch(songs, users, options.rows, options.seed)
    (root / layout.SONGS_KEY).parent.mkdir(parents=True)
    (root / layout.SONGS_KEY).write_bytes(songs)
    (root / raw_key).parent.mkdir(parents=True)
    (root / raw_key).write_text(batch)
    s3.put_object(Bucket=bucket, Key=raw_key, Body=batch.encode())
    return f"{options.rows} events on {metrics.SMOKE_TEST_DATE}: s3://{bucket}/{raw_key}"


def check_results(
    steps: Steps, s3: Any, dynamodb: Any, deployment: Deployment, root: Path, raw_key: str, rows: int
) -> None:
    """The KPI items, archive and data-quality report the run left, each a step."""
    with steps.step("KPI items") as step:
        expected = expected_items(root, [raw_key])
        found = comparable(
            items.current_items(date_items(dynamodb, deployment.table, metrics.SMOKE_TEST_DATE))
        )
        if found != expected:
            wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
            raise SmokeError(
                f"{len(wrong)} item(s) differ from the independent computation, e.g. {wrong[0]}: "
                f"expected {expected.get(wrong[0])}, found {found.get(wrong[0])}"
            )
        step.detail = f"{len(found)} item(s) of {metrics.SMOKE_TEST_DATE} equal the independent computation"
    with steps.step("archived") as step:
        archived = archived_batches(s3, deployment.bucket, raw_key)
        if keys_under(s3, deployment.bucket, raw_key) or len(archived) != 1:
            raise SmokeError(f"the batch is not archived once: {archived or 'nothing archived'}")
        step.detail = archived[0]
    with steps.step("data-quality report") as step:
        report = DataQualityReport.from_json(
            read_object(s3, deployment.bucket, layout.report_key(run_id_of(archived[0])))
        )
        counts = (report.status, report.rows_read, report.rows_accepted, report.rows_rejected)
        if counts != (STATUS_SUCCEEDED, rows, rows, 0):
            raise SmokeError(f"report says status, read, accepted, rejected = {counts}")
        step.detail = f"{report.rows_read} read, {report.rows_accepted} accepted, 0 rejected"


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="make smoke SMOKE_ARGS=...", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS configuration)")
    parser.add_argument("--keep", action="store_true", help="leave the smoke run's data to inspect")
    parser.add_argument("--allow-prod", action="store_true", help="smoke-test the prod environment too")
    parser.add_argument(
        "--airflow-url",
        help="trigger through this Airflow API server instead of MWAA (the local make airflow, e.g. http://127.0.0.1:8080)",
    )
    parser.add_argument("--poll-seconds", type=float, default=30)
    parser.add_argument("--timeout-minutes", type=float, default=90)
    args = parser.parse_args(argv)
    try:
        PipelineConfig.load(args.env)
    except ConfigError as err:
        parser.error(f"--env {args.env!r}: {err}")
    return Options(
        env=args.env, region=args.region, keep=args.keep, allow_prod=args.allow_prod,
        airflow_url=args.airflow_url, poll_seconds=args.poll_seconds, timeout_minutes=args.timeout_minutes,
    )  # fmt: skip


def main(argv: list[str] | None = None, session: Any = None) -> int:
    options = parse_args(argv)
    stack = stack_name(PipelineConfig.load(options.env))
    steps = Steps()
    region = options.region
    try:
        if session is None:
            import boto3

            region = aws_errors.resolve_region(options.region)
            session = boto3.session.Session(region_name=region)
        region = session.region_name
        run_smoke(options, session, steps)
    except Refused as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        line = aws_errors.explain(err, stack=stack, region=region)
        if line is None and not isinstance(
            err, SmokeError | TriggerError | orchestrators.OrchestratorError | DayInFlux
        ):
            raise
        if steps.done:
            print(steps.table())
        print(f"error: {line or err}", file=sys.stderr)
        return 1
    print(steps.table())
    print(f"smoke test of {stack} ({region}): {'PASSED' if steps.passed else 'FAILED'}")
    return 0 if steps.passed else 1


if __name__ == "__main__":
    sys.exit(main())
