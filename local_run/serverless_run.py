"""One local run of the MWAA Serverless workflow (``make demo DEMO_ARGS="--orchestration serverless"``).

What the service gets is what runs here: the workflow YAML the stack writes
(`infra.serverless_definition`), loaded by dag-factory 1.1.0 into Airflow 3.3.1, and the code package
the stack uploads (`infra.packaging.serverless_code_packages`), unpacked and put first on the import
path while the project's own copies of ``music_pipeline`` and ``music_contract`` (the editable
install, ``dags/``, the repository root) are taken off it: the task code imports from the package
alone, and the run checks that it did. The Variables come from SSM parameters in the emulator, as
the stack writes them (no ``AIRFLOW_VAR_*``). The local substitutions are the provisioned run's
(`local_run.pipeline`): Glue runs on local Spark, no retries, polls every second.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

import music_contract as contract
from infra.packaging import library_zip_bytes, serverless_code_packages
from infra.serverless_definition import workflow_definition, workflow_yaml
from local_run import glue_local
from local_run.airflow_home import DAGS_FOLDER, LOCAL_POLL_SECONDS, REPO_ROOT, make_fast, run_dag_test
from local_run.glue_script_runner import GlueScriptRunner
from local_run.pipeline import LocalPipeline, RunOutcome
from local_run.resources import LocalStack

CODE_PACKAGE_NAMES = ("music_pipeline", "music_contract")


def write_workflow(stack: LocalStack, out_dir: Path) -> tuple[Path, Path]:
    """The workflow YAML and the unpacked code package under `out_dir`: (yaml file, code folder)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = stack.names
    definition = workflow_definition(
        variables_prefix=names.airflow_variables_prefix,
        glue_job_name=names.glue_job,
        glue_timeout_minutes=stack.config.glue_timeout_minutes,
    )
    yaml_file = out_dir / "workflow.yaml"
    yaml_file.write_text(workflow_yaml(definition))
    code_dir = out_dir / "code"
    zipfile.ZipFile(io.BytesIO(library_zip_bytes(serverless_code_packages(REPO_ROOT)))).extractall(code_dir)
    return yaml_file, code_dir


def _is_project_copy(entry: str) -> bool:
    return entry in ("", ".") or Path(entry).resolve() in (DAGS_FOLDER.resolve(), REPO_ROOT.resolve())


def _is_editable_finder(finder: object) -> bool:
    module = getattr(finder, "__module__", "") or type(finder).__module__
    return module.startswith("__editable__") or type(finder).__module__.startswith("__editable__")


@contextmanager
def code_package_only(code_dir: Path) -> Iterator[None]:
    """Within the block, ``music_pipeline`` and ``music_contract`` import from `code_dir` only."""
    saved_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in CODE_PACKAGE_NAMES}
    saved_path, saved_meta_path = list(sys.path), list(sys.meta_path)
    for name in saved_modules:
        del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_editable_finder(f)]
    sys.path[:] = [str(code_dir), *(p for p in sys.path if not _is_project_copy(p))]
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] in CODE_PACKAGE_NAMES]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:], sys.meta_path[:] = saved_path, saved_meta_path
        importlib.invalidate_caches()


def imported_from(code_dir: Path) -> dict[str, str]:
    """Where the loaded task packages came from; raises if any came from elsewhere."""
    found = {name: sys.modules[name].__file__ or "" for name in CODE_PACKAGE_NAMES if name in sys.modules}
    outside = {n: f for n, f in found.items() if not Path(f).resolve().is_relative_to(code_dir.resolve())}
    if outside or len(found) != len(CODE_PACKAGE_NAMES):
        raise RuntimeError(f"task code not imported from the code package {code_dir}: {found}")
    return found


def put_ssm_variables(stack: LocalStack) -> None:
    """The Variables as the stack writes them for the workflow: SSM parameters under the prefix."""
    ssm = boto3.client("ssm")
    for key, value in stack.airflow_variables.items():
        ssm.put_parameter(
            Name=f"{stack.names.airflow_variables_prefix}/{key}", Value=value, Type="String", Overwrite=True
        )
    for key in stack.airflow_variables:  # the workflow never reads AIRFLOW_VAR_*
        os.environ.pop(f"AIRFLOW_VAR_{key.upper()}", None)


class ServerlessLocalPipeline(LocalPipeline):
    """`LocalPipeline` whose runs are the MWAA Serverless workflow's (see module doc)."""

    def __init__(self, stack: LocalStack, glue_runner: GlueScriptRunner, work_dir: Path):
        super().__init__(stack, glue_runner)
        self.yaml_file, self.code_dir = write_workflow(stack, work_dir.resolve())

    def run(self, conf: dict | None = None) -> RunOutcome:
        put_ssm_variables(self.stack)
        with code_package_only(self.code_dir):
            from dagfactory import load_yaml_dags

            loaded: dict = {}
            load_yaml_dags(globals_dict=loaded, config_filepath=str(self.yaml_file))
            dag = loaded[contract.DAG_ID]
            imported_from(self.code_dir)
            make_fast(dag)
            for task in dag.tasks:
                if hasattr(task, "poll_seconds"):  # the serverless Glue wait polls on the worker
                    task.poll_seconds = LOCAL_POLL_SECONDS
            # The seam the local Glue runner replaces is the package's own `music_pipeline.glue`.
            previous, glue_local.glue = glue_local.glue, sys.modules["music_pipeline.glue"]
            try:
                with glue_local.local_glue_jobs(
                    self.glue_runner, self.stack.names.account, self.stack.names.region
                ):
                    dag_run = run_dag_test(dag, conf)
            finally:
                glue_local.glue = previous
            task_states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        outcome = RunOutcome(dag_run.run_id, str(dag_run.state), task_states)
        outcome.archived_keys = self.archived_keys(outcome.safe_run_id)
        outcome.quality_report = self.quality_report(outcome.safe_run_id)
        return outcome
