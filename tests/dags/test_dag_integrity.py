"""The DAG file: loads cleanly, touches nothing at parse time, has the contract's shape."""

from __future__ import annotations

import socket
from datetime import timedelta
from unittest import mock

import pytest

from local_run.airflow_home import DAG_FILE, DAGS_FOLDER
from music_contract import names
from music_pipeline.alerts import publish_failure_alert

TASK_ORDER = ["validate_data_files", "validate_columns", "run_etl_job", "archive_raw_data"]


def _forbidden(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} touched while parsing the DAG file")

    return fail


def test_parsing_touches_no_variable_connection_database_or_network():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Connection, Variable
    from airflow.sdk.bases.hook import BaseHook
    from sqlalchemy.engine import Engine

    with (
        mock.patch.object(Variable, "get", _forbidden("Variable.get")),
        mock.patch.object(Connection, "get", _forbidden("Connection.get")),
        mock.patch.object(BaseHook, "get_connection", _forbidden("BaseHook.get_connection")),
        mock.patch.object(Engine, "connect", _forbidden("the metadata database")),
        mock.patch.object(socket.socket, "connect", _forbidden("the network")),
    ):
        bag = DagBag(dag_folder=str(DAG_FILE))

    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    assert list(bag.dags) == [names.DAG_ID]


def test_exactly_one_file_under_dags_is_parsed_and_it_holds_the_dag():
    """dags/.airflowignore keeps the DAG processor off music_pipeline/ (task code, no DAGs)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.file import list_py_file_paths

    assert (DAGS_FOLDER / ".airflowignore").is_file()
    # safe_mode off: every Python file the ignore file lets through would be parsed.
    assert list_py_file_paths(DAGS_FOLDER, safe_mode=False) == [str(DAG_FILE)]
    python_files = sorted(DAGS_FOLDER.rglob("*.py"))
    assert len(python_files) > 1  # the package is there, and ignored

    bag = DagBag(dag_folder=str(DAGS_FOLDER), safe_mode=False)
    assert bag.import_errors == {}
    assert {dag_id: dag.fileloc for dag_id, dag in bag.dags.items()} == {names.DAG_ID: str(DAG_FILE)}


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FILE)).dags[names.DAG_ID]


def test_tasks_run_in_the_contract_order(dag):
    assert sorted(dag.task_ids) == sorted(TASK_ORDER)
    for position, task_id in enumerate(TASK_ORDER):
        upstream = dag.get_task(task_id).upstream_task_ids
        # Each task waits for the one before it; the manifest key (XCom) adds edges from the first only.
        assert upstream == set(TASK_ORDER[max(0, position - 1) : position]) | (
            {TASK_ORDER[0]} if position else set()
        ), task_id


def test_schedule_catchup_and_concurrency(dag):
    assert dag.schedule is None
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_every_task_retries_three_times_five_minutes_apart_and_alerts(dag):
    for task in dag.tasks:
        assert task.retries == 3, task.task_id
        assert task.retry_delay == timedelta(minutes=5), task.task_id
        assert publish_failure_alert in (task.on_failure_callback or []), task.task_id


def test_glue_wait_is_deferrable_and_never_redefines_the_job(dag):
    etl = dag.get_task("run_etl_job")
    assert etl.deferrable is True
    assert etl.update_config is False
    assert etl.aws_conn_id == names.AWS_CONN_ID


def test_the_deployed_glue_wait_polls_every_60_seconds_for_up_to_4_hours(dag):
    """MWAA's DAG: `glue_poll_seconds` is a local-only Variable the stack never writes (nor does its
    secrets backend look it up, tests/infra/test_pipeline_settings.py), so the operator's own poll holds."""
    etl = dag.get_task("run_etl_job")
    assert (etl.waiter_delay, etl.waiter_delay * etl.waiter_max_attempts) == (60, 4 * 3600)
    assert names.VAR_GLUE_POLL_SECONDS not in names.PIPELINE_VARIABLES


def test_glue_job_name_is_the_providers_templated_field_rendered_from_the_variable(dag):
    import jinja2

    from music_pipeline.glue import JOB_NAME_TEMPLATE, RunGlueJobOperator

    etl = dag.get_task("run_etl_job")
    assert "job_name" in RunGlueJobOperator.template_fields
    assert etl.job_name == JOB_NAME_TEMPLATE
    template = jinja2.Template(etl.job_name)
    assert template.render(var={"value": {names.VAR_GLUE_JOB_NAME: "compute-kpis"}}) == "compute-kpis"
    assert template.render(var={"value": {}}) == ""


def test_an_unset_glue_job_name_variable_fails_the_task_naming_it():
    from music_pipeline.glue import RunGlueJobOperator
    from music_pipeline.variables import MissingVariableError

    etl = RunGlueJobOperator(task_id="run_etl_job", manifest_key="manifests/run_id=r.json")
    etl.job_name = ""  # what the template renders to when the Variable is not set
    with pytest.raises(
        MissingVariableError, match=r"Variable 'glue_job_name' is not set .*AIRFLOW_VAR_GLUE_JOB_NAME"
    ):
        etl.execute({"run_id": "r", "ti": None})


def test_mwaas_dag_folder_with_the_contract_beside_the_package_still_parses_one_file(tmp_path):
    """What MWAA receives (infra/packaging.py): dags/ plus music_contract/; .airflowignore covers both."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.file import list_py_file_paths

    from infra.packaging import dag_folder_bundle, dag_folder_packages

    bundle = dag_folder_bundle(DAGS_FOLDER, dag_folder_packages(DAGS_FOLDER.parent), build_dir=tmp_path)
    assert (bundle / "music_contract" / "__init__.py").is_file()
    assert list_py_file_paths(bundle, safe_mode=False) == [str(bundle / DAG_FILE.name)]
    bag = DagBag(dag_folder=str(bundle), safe_mode=False)
    assert bag.import_errors == {}
    assert list(bag.dags) == [names.DAG_ID]
