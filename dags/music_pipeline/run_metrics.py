"""Per-run CloudWatch metrics (docs/DESIGN.md, "Pipeline metrics"), published by `run_etl_job` once
its Glue run succeeded: the data-quality counts of the run's report, the Glue run's ExecutionTime
and DPU-seconds, and the KPI freshness age.

Metrics are observability, not the pipeline: `publish_after_success` never raises. A failure (no
report, an API error, a missing permission) is a logged warning and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from music_contract import layout, metrics, names
from music_contract.quality import STATUS_SUCCEEDED, DataQualityReport

log = logging.getLogger(__name__)

UNIT_COUNT = "Count"
UNIT_SECONDS = "Seconds"
UNIT_NONE = "None"


@dataclass(frozen=True)
class Datum:
    name: str
    value: float
    unit: str


def quality_data(report: DataQualityReport) -> list[Datum]:
    """The data-quality counts of one run (unit Count)."""
    return [
        Datum(metrics.METRIC_ROWS_READ, report.rows_read, UNIT_COUNT),
        Datum(metrics.METRIC_ROWS_ACCEPTED, report.rows_accepted, UNIT_COUNT),
        Datum(metrics.METRIC_ROWS_REJECTED, report.rows_rejected, UNIT_COUNT),
        Datum(metrics.METRIC_DUPLICATE_ROWS, report.duplicates_dropped, UNIT_COUNT),
    ]


# DPUs of one worker (Glue developer guide, "Defining job properties for Spark jobs": a G.1X worker
# maps to 1 DPU, G.2X to 2, ...).
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}


def run_dpus(job_run: Mapping[str, Any]) -> float | None:
    """The DPUs a run had: ``MaxCapacity`` (Glue sets it from the worker type and count), else
    NumberOfWorkers x the worker type's DPUs; None when neither is known."""
    if job_run.get("MaxCapacity") is not None:
        return float(job_run["MaxCapacity"])
    per_worker = DPU_PER_WORKER.get(job_run.get("WorkerType") or "")
    if per_worker is not None and job_run.get("NumberOfWorkers"):
        return per_worker * int(job_run["NumberOfWorkers"])
    return None


def glue_run_data(job_run: Mapping[str, Any]) -> list[Datum]:
    """ExecutionTime (Seconds) and DPU-seconds of a GetJobRun ``JobRun``.

    Glue fills ``DPUSeconds`` only for Flex runs and auto-scaled jobs (Glue API, JobRun.DPUSeconds);
    otherwise DPU-seconds are ExecutionTime x the run's DPUs (`run_dpus`), as DESIGN.md says.
    """
    seconds = job_run.get("ExecutionTime")
    if seconds is None:
        log.warning("Glue run %s reports no ExecutionTime: no Glue metrics", job_run.get("Id"))
        return []
    data = [Datum(metrics.METRIC_GLUE_EXECUTION_SECONDS, float(seconds), UNIT_SECONDS)]
    dpu_seconds = job_run.get("DPUSeconds")
    dpus = run_dpus(job_run)
    if dpu_seconds is None and dpus is not None:
        dpu_seconds = float(seconds) * dpus
    if dpu_seconds is None:
        log.warning("Glue run %s reports neither DPUSeconds nor its capacity", job_run.get("Id"))
    else:
        data.append(Datum(metrics.METRIC_GLUE_DPU_SECONDS, float(dpu_seconds), UNIT_COUNT))
    return data


def freshness_hours(newest_date: str, now: datetime) -> float:
    """Hours from the end (24:00 UTC) of `newest_date` to `now`; 0 while that day is not over."""
    day_end = datetime.combine(date.fromisoformat(newest_date) + timedelta(days=1), datetime.min.time(), UTC)
    return max(0.0, round((now - day_end).total_seconds() / 3600, 3))


def freshness_data(report: DataQualityReport, now: datetime) -> list[Datum]:
    """The KPI freshness age: from the newest date this succeeded run completed in the table.

    A run completes every date it affected; a run that only recomputed or replayed old dates reports
    an older age, which the alarm ignores: it takes the Minimum over its period (infra/monitoring/construct.py).
    A date after `now` (an accepted but future-dated `listen_time`, a client clock ahead) says nothing
    about how fresh the table is: it would publish 0 and hide staleness, so it is left out.
    """
    today = now.astimezone(UTC).date().isoformat()
    # The smoke test's reserved date says nothing about how fresh the real KPIs are.
    dates = [day for day in report.dates_affected if day <= today and day != metrics.SMOKE_TEST_DATE]
    if not dates:
        return []
    return [Datum(metrics.METRIC_KPI_FRESHNESS_HOURS, freshness_hours(max(dates), now), UNIT_NONE)]


# How much earlier than its Glue run's StartedOn a report may say it started (two clocks: the Glue
# service's and the driver's). An earlier attempt's report started before its own run ended, and
# the retry's run started at least the retry delay later (minutes).
REPORT_CLOCK_SLACK = timedelta(seconds=60)


class ReportNotThisRun(ValueError):
    """The report at the run's key is not the succeeded report of the Glue run that just succeeded."""


def check_report_of_run(report: DataQualityReport, job_run: Mapping[str, Any]) -> None:
    """Raise `ReportNotThisRun` unless `report` is a succeeded report written by `job_run`.

    The key is per DAG run, so an earlier attempt's report (failed, or succeeded before the task
    was cleared) is still there when this run could not write its own.
    """
    if report.status != STATUS_SUCCEEDED:
        raise ReportNotThisRun(f"its status is {report.status!r} (an earlier attempt's report)")
    run_started = job_run.get("StartedOn")
    if isinstance(run_started, datetime):
        started = datetime.fromisoformat(report.started_at)
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        run_started = run_started if run_started.tzinfo else run_started.replace(tzinfo=UTC)
        if started < run_started - REPORT_CLOCK_SLACK:
            raise ReportNotThisRun(
                f"it started at {report.started_at}, before Glue run {job_run.get('Id')} started "
                f"({run_started.isoformat()}): an earlier attempt's report"
            )


def metric_data(data: list[Datum], environment: str, timestamp: datetime) -> list[dict[str, Any]]:
    """PutMetricData's ``MetricData``: every datum with the ``Environment`` dimension."""
    dimensions = [{"Name": metrics.METRIC_DIMENSION_ENVIRONMENT, "Value": environment}]
    return [
        {
            "MetricName": d.name,
            "Dimensions": dimensions,
            "Timestamp": timestamp,
            "Value": d.value,
            "Unit": d.unit,
        }
        for d in data
    ]


def read_report(s3: Any, bucket: str, run_id: str) -> DataQualityReport:
    key = layout.report_key(layout.sanitize_run_id(run_id))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return DataQualityReport.from_json(body)


def publish_after_success(glue_client: Any, job_name: str, glue_run_id: str, dag_run_id: str) -> None:
    """Publish the run's metrics; log a warning and return on any failure (never raises)."""
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        from music_pipeline import tasks, variables

        environment = variables.optional(names.VAR_ENVIRONMENT_NAME)
        if not environment:
            log.warning("Variable %s not set: no pipeline metrics published", names.VAR_ENVIRONMENT_NAME)
            return
        now = datetime.now(UTC)
        report = read_report(tasks.s3_client(), variables.required(names.VAR_BUCKET_NAME), dag_run_id)
        job_run = glue_client.get_job_run(JobName=job_name, RunId=glue_run_id)["JobRun"]
        check_report_of_run(report, job_run)
        data = [*quality_data(report), *glue_run_data(job_run), *freshness_data(report, now)]
        cloudwatch = AwsBaseHook(aws_conn_id=names.AWS_CONN_ID, client_type="cloudwatch").get_conn()
        cloudwatch.put_metric_data(
            Namespace=metrics.METRIC_NAMESPACE, MetricData=metric_data(data, environment, now)
        )
        log.info(
            "Published %d metrics to %s (%s=%s): %s",
            len(data),
            metrics.METRIC_NAMESPACE,
            metrics.METRIC_DIMENSION_ENVIRONMENT,
            environment,
            {d.name: d.value for d in data},
        )
    except Exception as err:  # metrics must never fail the pipeline run
        log.warning("Could not publish the pipeline metrics of run %s: %s", dag_run_id, err, exc_info=True)
