"""The CloudWatch metrics of the pipeline (docs/DESIGN.md, "Pipeline metrics").

The stack alarms and graphs them; the MWAA execution role may publish to this namespace only."""

from __future__ import annotations

# CloudWatch metrics the DAG publishes once per run (docs/DESIGN.md "Pipeline metrics"); the MWAA
# execution role may call PutMetricData for this namespace only.
METRIC_NAMESPACE = "MusicStreams/Pipeline"
# Dimension every metric carries: the environment name (`env` of cdk.json).
METRIC_DIMENSION_ENVIRONMENT = "Environment"
# Per-run data-quality counts (unit Count) from the run's data-quality report.
METRIC_ROWS_READ = "RowsRead"
METRIC_ROWS_ACCEPTED = "RowsAccepted"
METRIC_ROWS_REJECTED = "RowsRejected"
METRIC_DUPLICATE_ROWS = "DuplicateRows"
# The run's Glue job: ExecutionTime (unit Seconds) and DPU-seconds (unit Count; Glue's
# JobRun.DPUSeconds, or ExecutionTime x MaxCapacity where Glue reports none).
METRIC_GLUE_EXECUTION_SECONDS = "GlueExecutionTime"
METRIC_GLUE_DPU_SECONDS = "GlueDPUSeconds"
# Age in hours (unit None; CloudWatch has no "Hours" unit) of the newest listen_date whose KPIs are
# complete in the table, measured from the end of that day (UTC) when the run ends.
METRIC_KPI_FRESHNESS_HOURS = "KpiFreshnessHours"
# The date `make smoke` writes its generated batch for (docs/DESIGN.md, "Smoke test"): far in the
# past, so it never mixes with real data, and left out of the freshness age, so a smoke run neither
# raises nor clears the freshness alarm.
SMOKE_TEST_DATE = "2000-01-01"
RUN_METRICS = (
    METRIC_ROWS_READ,
    METRIC_ROWS_ACCEPTED,
    METRIC_ROWS_REJECTED,
    METRIC_DUPLICATE_ROWS,
    METRIC_GLUE_EXECUTION_SECONDS,
    METRIC_GLUE_DPU_SECONDS,
)


def glue_job_run_console_url(region: str, job_name: str, job_run_id: str) -> str:
    """The Glue console's page of one job run (Glue Studio's job run details), the link Airflow's
    Amazon provider shows for a Glue run (apache/airflow providers/amazon, GlueJobRunDetailsLink:
    ``gluestudio/home?region=<region>#/job/<job name>/run/<run id>``). One format for the DAG's alerts
    and the stack's EventBridge alerts (the stack passes CDK tokens)."""
    return (
        f"https://{region}.console.aws.amazon.com/gluestudio/home?region={region}"
        f"#/job/{job_name}/run/{job_run_id}"
    )
