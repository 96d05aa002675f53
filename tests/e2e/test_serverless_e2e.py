"""Both orchestrations on the same input: the provisioned DAG file and the MWAA Serverless YAML
(through dag-factory, task code from the built code package, Variables from SSM) write the same KPIs
and archive the same files; and `make smoke` passes against an emulated serverless deployment."""

from __future__ import annotations

import dataclasses
from datetime import date

import boto3
import pytest

from local_run.generate import generate_dataset
from local_run.glue_script_runner import GlueScriptRunner
from local_run.pipeline import LocalPipeline
from local_run.resources import create_local_stack, load_config, read_kpi_items, register_stack_outputs
from local_run.serverless_run import ServerlessLocalPipeline, serve_workflow_while
from music_pipeline import workflow
from ops import smoke
from ops.kpi_oracle import expected_items
from tests.e2e.test_local_airflow import _everything
from tests.e2e.test_pipeline_e2e import _comparable

pytestmark = pytest.mark.e2e


def test_provisioned_and_serverless_runs_write_the_same_kpis(moto_server, spark, airflow_db, tmp_path):
    root = tmp_path / "input"
    data = generate_dataset(
        root, days=2, streams=2_000, songs=200, users=100, seed=21, start=date(2026, 11, 20)
    )
    pipelines = {}
    for mode, env in (("provisioned", "e2eprov"), ("serverless", "e2esls")):
        stack = create_local_stack(moto_server, dataclasses.replace(load_config(), env_name=env))
        runner = GlueScriptRunner(spark, work_dir=tmp_path / f"glue-{mode}")
        pipelines[mode] = (
            ServerlessLocalPipeline(stack, runner, work_dir=tmp_path / "serverless")
            if mode == "serverless"
            else LocalPipeline(stack, runner)
        )
        pipelines[mode].upload(root, data.keys)

    outcomes = {mode: pipeline.run() for mode, pipeline in pipelines.items()}

    for mode, outcome in outcomes.items():
        assert outcome.succeeded, (mode, outcome.task_states)
        assert set(outcome.task_states) == {t.task_id for t in workflow.TASKS}
    items = {mode: _comparable(read_kpi_items(p.stack)) for mode, p in pipelines.items()}
    assert items["serverless"] == items["provisioned"] == expected_items(root, data.stream_keys)
    archived = {mode: sorted(k.rsplit("/", 1)[-1] for k in o.archived_keys) for mode, o in outcomes.items()}
    assert archived["serverless"] == archived["provisioned"]
    assert pipelines["serverless"].raw_keys() == []


def test_a_run_with_no_stream_file_is_skipped_not_failed(moto_server, spark, airflow_db, tmp_path):
    stack = create_local_stack(moto_server, dataclasses.replace(load_config(), env_name="e2eslsempty"))
    root = tmp_path / "input"
    data = generate_dataset(root, days=1, streams=10, songs=20, users=10, seed=1, start=date(2026, 11, 20))
    pipeline = ServerlessLocalPipeline(
        stack, GlueScriptRunner(spark, work_dir=tmp_path / "g"), tmp_path / "sls"
    )
    pipeline.upload(root, [k for k in data.keys if k not in data.stream_keys])  # reference files only

    outcome = pipeline.run()

    assert outcome.state == "success"
    assert set(outcome.task_states.values()) == {"skipped"}


def test_smoke_passes_on_a_serverless_deployment_and_leaves_it_as_found(
    moto_server, spark, airflow_db, tmp_path, capsys
):
    """`make smoke --env dev` against the emulated dev stack deployed with ``orchestration: serverless``:
    the mode comes from the stack's outputs, the run starts and is followed through the mwaa-serverless
    API (the emulator runs the workflow YAML), and cleanup restores every key and item."""
    config = dataclasses.replace(load_config("dev"), orchestration="serverless")
    stack = create_local_stack(moto_server, config)
    root = tmp_path / "input"
    data = generate_dataset(root, days=1, streams=10, songs=200, users=100, seed=3, start=date(2026, 11, 20))
    pipeline = ServerlessLocalPipeline(
        stack, GlueScriptRunner(spark, work_dir=tmp_path / "g"), tmp_path / "sls"
    )
    pipeline.upload(root, [k for k in data.keys if k not in data.stream_keys])  # reference files only
    register_stack_outputs(stack)
    session = boto3.session.Session(region_name=moto_server.region)
    before = _everything(session)

    argv = ["--env", "dev", "--poll-seconds", "1", "--timeout-minutes", "20"]
    code = serve_workflow_while(pipeline, lambda: smoke.main(argv, session=session))

    out = capsys.readouterr().out
    (tmp_path.parent / "smoke-serverless.txt").write_text(out)
    assert code == 0, out
    assert any(line.startswith("stack outputs") and "serverless" in line for line in out.splitlines()), out
    for step in ("write batch", "trigger", "follow", "KPI items", "archived", "data-quality report",
                 "no freshness datum", "cleanup"):  # fmt: skip
        assert any(line.startswith(step) and " PASS " in line for line in out.splitlines()), (step, out)
    assert "removed 0 object(s)" not in out
    assert _everything(session) == before
