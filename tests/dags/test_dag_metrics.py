"""Per-run CloudWatch metrics: a real ``dag.test()`` run publishes its report's counts, the Glue
run's time and DPU-seconds and the KPI freshness to moto's CloudWatch; a metrics failure is a warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_run.glue_local import local_glue_jobs
from music_contract import layout, metrics
from music_contract import names as contract_names
from music_contract.manifest import Manifest, StreamObject
from music_contract.quality import STATUS_FAILED, STATUS_SUCCEEDED, DataQualityReport, FileQuality
from music_pipeline import run_metrics
from tests.dags.conftest import glue_processes_its_manifest

pytestmark = pytest.mark.usefixtures("airflow_db")


def manifest_streams(emulated_stack, arguments) -> list[StreamObject]:
    body = emulated_stack.read(arguments[contract_names.ARG_MANIFEST_KEY])
    return list(Manifest.from_json(body).streams)


ALL_TASKS = ["validate_data_files", "validate_columns", "run_etl_job", "archive_raw_data"]


def metric_values(emulated_stack, start: datetime) -> dict[str, list[float]]:
    """Every datum of the pipeline namespace with this test stack's Environment dimension, by metric name."""
    dimension = {"Name": metrics.METRIC_DIMENSION_ENVIRONMENT, "Value": emulated_stack.env_name}
    listed = emulated_stack.cloudwatch.list_metrics(
        Namespace=metrics.METRIC_NAMESPACE, Dimensions=[dimension]
    )
    names = sorted({m["MetricName"] for m in listed["Metrics"]})
    queries = [
        {
            "Id": f"m{i}",
            "Label": name,
            "MetricStat": {
                "Metric": {
                    "Namespace": metrics.METRIC_NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [dimension],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
        }
        for i, name in enumerate(names)
    ]
    if not queries:
        return {}
    result = emulated_stack.cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=datetime.now(UTC) + timedelta(minutes=5)
    )
    return {r["Label"]: r["Values"] for r in result["MetricDataResults"]}


def test_a_succeeded_run_publishes_its_report_glue_time_and_freshness(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)
    reports: list[DataQualityReport] = []

    def glue_writes_its_report(job_name, arguments):
        run_id = arguments[contract_names.ARG_RUN_ID]
        report = DataQualityReport(
            run_id=run_id,
            manifest_key=arguments[contract_names.ARG_MANIFEST_KEY],
            max_reject_ratio=0.05,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            status=STATUS_SUCCEEDED,
            rows_read=17,
            rows_accepted=11,
            rows_rejected=4,
            duplicates_dropped=2,
            dates_affected=["2024-06-24", "2024-06-25"],
            files=[FileQuality(s.key, s.etag) for s in manifest_streams(emulated_stack, arguments)],
        )
        emulated_stack.put(layout.report_key(run_id), report.to_json())
        reports.append(report)

    start = datetime.now(UTC) - timedelta(minutes=1)
    with local_glue_jobs(glue_writes_its_report) as glue:
        result = run_dag()
    end = datetime.now(UTC)

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    [report] = reports
    [run] = glue.runs
    job_run = emulated_stack.glue.get_job_run(JobName=emulated_stack.glue_job, RunId=run.job_run_id)["JobRun"]
    values = metric_values(emulated_stack, start)
    assert values[metrics.METRIC_ROWS_READ] == [report.rows_read]
    assert values[metrics.METRIC_ROWS_ACCEPTED] == [report.rows_accepted]
    assert values[metrics.METRIC_ROWS_REJECTED] == [report.rows_rejected]
    assert values[metrics.METRIC_DUPLICATE_ROWS] == [report.duplicates_dropped]
    assert values[metrics.METRIC_GLUE_EXECUTION_SECONDS] == [job_run["ExecutionTime"]]
    assert "DPUSeconds" not in job_run  # moto, like Glue for a non-Flex run: the fallback applies
    # moto reports the job's workers (G.1X x 2), not the MaxCapacity Glue derives from them.
    assert "MaxCapacity" not in job_run
    workers = run_metrics.DPU_PER_WORKER[job_run["WorkerType"]] * job_run["NumberOfWorkers"]
    assert values[metrics.METRIC_GLUE_DPU_SECONDS] == [job_run["ExecutionTime"] * workers]
    [age] = values[metrics.METRIC_KPI_FRESHNESS_HOURS]
    newest_day_end = datetime(2024, 6, 26, tzinfo=UTC)  # 24:00 UTC of the newest date affected
    # The age is published rounded to 3 decimals (run_metrics.freshness_hours): bound it likewise.
    assert (
        round((start - newest_day_end).total_seconds() / 3600, 3)
        <= age
        <= round((end - newest_day_end).total_seconds() / 3600, 3)
    )


def test_a_metrics_failure_is_a_warning_and_the_run_succeeds(emulated_stack, run_dag, caplog, monkeypatch):
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)

    def unreadable(*args, **kwargs):
        raise RuntimeError("NoSuchKey: the report cannot be read")

    monkeypatch.setattr(run_metrics, "read_report", unreadable)
    start = datetime.now(UTC) - timedelta(minutes=1)
    with (
        caplog.at_level("WARNING", logger="music_pipeline.run_metrics"),
        local_glue_jobs(glue_processes_its_manifest),
    ):
        result = run_dag()

    assert result.states == dict.fromkeys(ALL_TASKS, "success")  # archived all the same
    warnings = [r.getMessage() for r in caplog.records if r.name == "music_pipeline.run_metrics"]
    assert any("Could not publish the pipeline metrics" in w and "NoSuchKey" in w for w in warnings), warnings
    assert metric_values(emulated_stack, start) == {}


def test_glue_dpu_seconds_come_from_glue_when_it_reports_them():
    data = run_metrics.glue_run_data(
        {"Id": "jr_1", "ExecutionTime": 100, "DPUSeconds": 250.0, "MaxCapacity": 10.0}
    )
    assert {d.name: d.value for d in data} == {
        metrics.METRIC_GLUE_EXECUTION_SECONDS: 100.0,
        metrics.METRIC_GLUE_DPU_SECONDS: 250.0,
    }
    fallback = run_metrics.glue_run_data({"Id": "jr_2", "ExecutionTime": 100, "MaxCapacity": 10.0})
    assert {d.name: d.value for d in fallback}[metrics.METRIC_GLUE_DPU_SECONDS] == 1000.0
    workers = run_metrics.glue_run_data(
        {"Id": "jr_3", "ExecutionTime": 100, "WorkerType": "G.2X", "NumberOfWorkers": 5}
    )
    assert {d.name: d.value for d in workers}[metrics.METRIC_GLUE_DPU_SECONDS] == 1000.0
    only_time = run_metrics.glue_run_data({"Id": "jr_4", "ExecutionTime": 100, "WorkerType": "Z.9X"})
    assert [d.name for d in only_time] == [metrics.METRIC_GLUE_EXECUTION_SECONDS]


def test_freshness_counts_from_the_end_of_the_newest_day_utc():
    assert run_metrics.freshness_hours("2024-06-25", datetime(2024, 6, 26, 6, 30, tzinfo=UTC)) == 6.5
    assert run_metrics.freshness_hours("2024-06-25", datetime(2024, 6, 25, 18, 0, tzinfo=UTC)) == 0.0


def test_a_future_date_is_left_out_of_the_freshness_age():
    now = datetime(2024, 6, 26, 6, 30, tzinfo=UTC)
    report = DataQualityReport("r", "m", 0.05, now.isoformat(), dates_affected=["2024-06-25", "2031-01-01"])
    [age] = run_metrics.freshness_data(report, now)
    assert age.value == 6.5  # from 2024-06-25, not 0 from the future date
    only_future = DataQualityReport("r", "m", 0.05, now.isoformat(), dates_affected=["2031-01-01"])
    assert run_metrics.freshness_data(only_future, now) == []


@pytest.mark.parametrize("earlier", ["failed", "succeeded_before_this_run"])
def test_metrics_come_only_from_this_runs_succeeded_report(emulated_stack, run_dag, caplog, earlier):
    """The run could not write its report: the key holds an earlier attempt's, which is not published."""
    emulated_stack.put_reference_files()
    emulated_stack.put("raw_data/streams1.csv", emulated_stack.STREAMS_CSV)

    def glue_leaves_an_earlier_report(job_name, arguments):
        run_id = arguments[contract_names.ARG_RUN_ID]
        before = datetime.now(UTC) - timedelta(minutes=20)
        status = STATUS_FAILED if earlier == "failed" else STATUS_SUCCEEDED
        report = DataQualityReport(
            run_id, arguments[contract_names.ARG_MANIFEST_KEY], 0.05, before.isoformat(timespec="seconds"),
            status=status, rows_read=17, rows_accepted=11, dates_affected=["2024-06-25"],
        )  # fmt: skip
        if earlier == "failed":
            report.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        emulated_stack.put(layout.report_key(run_id), report.to_json())

    start = datetime.now(UTC) - timedelta(minutes=1)
    with (
        caplog.at_level("WARNING", logger="music_pipeline.run_metrics"),
        local_glue_jobs(glue_leaves_an_earlier_report),
    ):
        result = run_dag()

    assert result.states["run_etl_job"] == "success"
    warnings = [r.getMessage() for r in caplog.records if r.name == "music_pipeline.run_metrics"]
    assert any("earlier attempt" in w for w in warnings), warnings
    assert metric_values(emulated_stack, start) == {}


def _report(dates: list[str]) -> DataQualityReport:
    report = DataQualityReport(
        run_id="r", manifest_key="m", max_reject_ratio=0.05, started_at="2026-11-26T00:00:00Z"
    )
    report.dates_affected = dates
    return report


def test_the_smoke_test_date_never_moves_the_freshness_age():
    now = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    # make smoke's run (docs/DESIGN.md, "Smoke test"): no freshness datum, so no alarm moves.
    assert run_metrics.freshness_data(_report([metrics.SMOKE_TEST_DATE]), now) == []
    # Beside real dates it is left out: the age is the real newest date's.
    mixed = run_metrics.freshness_data(_report([metrics.SMOKE_TEST_DATE, "2026-11-25"]), now)
    assert [(d.name, d.value) for d in mixed] == [(metrics.METRIC_KPI_FRESHNESS_HOURS, 6.0)]
