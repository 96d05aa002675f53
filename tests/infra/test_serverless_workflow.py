"""The MWAA Serverless workflow: one definition (music_pipeline.workflow) behind the provisioned DAG
and the serverless YAML, the YAML valid for the service, its code package self-contained."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from infra import serverless_definition as definition
from infra.packaging import library_zip_bytes, serverless_code_packages
from local_run.airflow_home import DAG_FILE
from music_contract import names, reprocess
from music_pipeline import workflow

REPO_ROOT = Path(__file__).resolve().parents[2]
# serverless/SOURCE.md: the converter 0.1.4's file, unchanged.
VENDORED_SCHEMA_SHA256 = "d20373e5b0d502dfb94736949c174273f8749825b08c859a8b4178a78135d983"
PREFIX = "/music-streams/dev/airflow/variables"


def _definition(**overrides):
    args = {
        "variables_prefix": PREFIX,
        "glue_job_name": "music-streams-dev-compute-kpis",
        "glue_timeout_minutes": 55,
    }
    return definition.workflow_definition(**{**args, **overrides})


def _code_package_operators() -> set[str]:
    from music_pipeline import serverless

    return {f"{serverless.__name__}.{serverless.ServerlessGlueJobOperator.__name__}"}


def test_the_vendored_schema_is_the_converters_file_unchanged():
    assert hashlib.sha256(definition.SCHEMA_FILE.read_bytes()).hexdigest() == VENDORED_SCHEMA_SHA256
    operators = definition.schema_operators()
    assert "airflow.providers.amazon.aws.operators.glue.GlueJobOperator" in operators
    assert definition.PYTHON_OPERATOR not in operators  # 0.1.4 predates code packages: added from the docs
    assert definition.PYTHON_OPERATOR in definition.allowed_operators()


def test_the_workflow_yaml_passes_the_services_schema_and_allowlist():
    assert definition.schema_errors(_definition(), _code_package_operators()) == []
    assert definition.schema_errors(_definition(schedule="15 3 * * *"), _code_package_operators()) == []


def test_the_schema_check_names_a_bad_key_and_an_operator_off_the_allowlist():
    bad = _definition()
    tasks = bad[names.DAG_ID]["tasks"]
    tasks[workflow.VALIDATE_COLUMNS]["on_failure_callback"] = "x.y"
    tasks[workflow.RUN_ETL_JOB]["operator"] = "somewhere.NotAllowedOperator"
    errors = definition.schema_errors(bad)  # without the code package: its operator is unknown too
    assert f"{names.DAG_ID}.tasks.{workflow.VALIDATE_COLUMNS}.on_failure_callback" in errors[0]
    assert any("somewhere.NotAllowedOperator" in e for e in errors)


def test_callbacks_and_ignored_dag_settings_are_not_written():
    dag = _definition()[names.DAG_ID]
    ignored = {"catchup", "max_active_runs", "tags", "description", "on_failure_callback"}
    assert not ignored & set(dag)
    assert not any("callback" in key for task in dag["tasks"].values() for key in task)


def test_the_yaml_is_the_same_bytes_for_the_same_definition():
    assert definition.workflow_yaml(_definition()) == definition.workflow_yaml(_definition())


def test_the_yaml_writes_every_task_out_in_full_without_anchors_or_aliases():
    text = definition.workflow_yaml(_definition())
    events = list(yaml.parse(text))
    assert not [e for e in events if isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)]
    assert yaml.safe_load(text) == _definition()


def test_a_glue_timeout_the_task_tries_cannot_cover_is_refused_naming_the_keys():
    longest = int(workflow.glue_wait_capacity().total_seconds() // 60)
    assert longest == workflow.RETRIES * 55
    assert _definition(glue_timeout_minutes=longest)  # prod's 120 fits too
    with pytest.raises(
        workflow.WorkflowLimitError, match=f"glue_timeout_minutes={longest + 1} with orchestration=serverless"
    ):
        _definition(glue_timeout_minutes=longest + 1)


def test_every_task_fits_the_serverless_task_cap():
    for task in _definition()[names.DAG_ID]["tasks"].values():
        assert task["execution_timeout"]["seconds"] <= workflow.SERVERLESS_TASK_CAP.total_seconds()


def _provisioned_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[names.DAG_ID]


@pytest.fixture(scope="module")
def serverless_dag(tmp_path_factory):
    """The YAML file as dag-factory 1.1.0 loads it (MWAA Serverless' format)."""
    from dagfactory import load_yaml_dags

    path = tmp_path_factory.mktemp("workflow") / "workflow.yaml"
    path.write_text(definition.workflow_yaml(_definition()))
    loaded: dict = {}
    load_yaml_dags(globals_dict=loaded, config_filepath=str(path))
    return loaded[names.DAG_ID]


def _shape(dag):
    return {
        task.task_id: {
            "upstream": sorted(task.upstream_task_ids),
            "retries": task.retries,
            "retry_delay": task.retry_delay,
            "retry_exponential_backoff": float(task.retry_exponential_backoff),
            "max_retry_delay": task.max_retry_delay,
            "owner": task.owner,
        }
        for task in dag.tasks
    }


def test_the_provisioned_dag_and_the_serverless_yaml_are_the_same_workflow(serverless_dag):
    provisioned, serverless = _shape(_provisioned_dag()), _shape(serverless_dag)
    assert serverless == provisioned
    assert set(provisioned) == {t.task_id for t in workflow.TASKS}
    assert provisioned[workflow.RUN_ETL_JOB]["retry_delay"] == timedelta(minutes=5)


def test_the_yaml_tasks_carry_the_definitions_timeouts_and_settings(serverless_dag):
    dag = serverless_dag
    glue = dag.get_task(workflow.RUN_ETL_JOB)
    assert glue.job_name == "music-streams-dev-compute-kpis"
    assert glue.execution_timeout == timedelta(minutes=60)
    assert glue.deferrable is False  # no triggerer for a plugin's trigger: the worker polls
    python_task = dag.get_task(workflow.VALIDATE_DATA_FILES)
    assert python_task.op_kwargs == {"variables_prefix": PREFIX}
    assert python_task.execution_timeout == workflow.PYTHON_TASK_TIMEOUT


def test_the_code_package_is_deterministic_and_holds_exactly_the_task_packages():
    packages = serverless_code_packages(REPO_ROOT)
    first, second = library_zip_bytes(packages), library_zip_bytes(packages)
    assert first == second
    roots = {name.split("/")[0] for name in zipfile.ZipFile(io.BytesIO(first)).namelist()}
    assert roots == {"music_pipeline", "music_contract", "music_triggers"}


# Runs in a fresh interpreter with the project's editable install taken off the import path and an
# empty plugins folder (Airflow puts its plugins folder on sys.path, and the repository's holds
# music_triggers): only the unpacked code package can provide what the entry points import.
_IMPORT_FROM_PACKAGE_ONLY = """
import importlib, json, sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p and p not in ("", ".")]
root, targets = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, root)
for target in targets:
    module_name, _, attribute = target.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), target
print(json.dumps({n: m.__file__ for n, m in sys.modules.items() if getattr(m, "__file__", None)}))
"""


def test_every_task_entry_point_imports_from_the_code_package_alone(tmp_path):
    package, plugins = tmp_path / "package", tmp_path / "plugins"
    plugins.mkdir()
    zipfile.ZipFile(io.BytesIO(library_zip_bytes(serverless_code_packages(REPO_ROOT)))).extractall(package)
    tasks = _definition()[names.DAG_ID]["tasks"].values()
    targets = [t["python_callable"] for t in tasks if "python_callable" in t]
    targets += [t["operator"] for t in tasks if t["operator"].startswith("music_pipeline.")]
    assert len(targets) == len(workflow.TASKS)
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_FROM_PACKAGE_ONLY, str(package), json.dumps(targets)],
        capture_output=True,
        text=True,
        cwd=package,
        env={**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    sources, venv = str(REPO_ROOT), str(REPO_ROOT / ".venv")
    from_checkout = {n: p for n, p in loaded.items() if p.startswith(sources) and not p.startswith(venv)}
    assert not from_checkout, f"imported from the repository, not the code package: {from_checkout}"
    assert loaded["music_pipeline"].startswith(str(package))


def test_serverless_string_params_ask_for_the_same_runs():
    from music_pipeline.run_params import Mode, run_request

    assert run_request(definition.WORKFLOW_PARAMS).mode is Mode.NORMAL
    recompute = run_request(
        {**definition.WORKFLOW_PARAMS, reprocess.PARAM_RECOMPUTE_DATES: "2026-11-20,2026-11-21"}
    )
    assert recompute.recompute_dates == ("2026-11-20", "2026-11-21")
    replay = run_request(
        {
            **definition.WORKFLOW_PARAMS,
            reprocess.PARAM_REPLAY_FROM: "2026-11-20",
            reprocess.PARAM_REPLAY_TO: "2026-11-21",
        }
    )
    assert replay.mode is Mode.REPLAY
    assert len(replay.replay_days) == 2
