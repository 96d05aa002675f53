"""One local run of the MWAA Serverless workflow (``make demo DEMO_ARGS="--orchestration serverless"``).

What the service gets is what runs here: the workflow YAML the stack writes
(`infra.serverless_definition`), loaded by dag-factory 1.1.0 into Airflow 3.3.1, and the code package
the stack uploads (`infra.packaging.serverless_code_packages`), unpacked, with an import finder ahead
of every other that serves its packages (``music_pipeline``, ``music_contract``, ``music_triggers``)
from it alone (never the editable install, ``dags/``, ``plugins/`` or the checkout): the task code
imports from the package, and the run checks that it did. The Variables come from SSM parameters in
the emulator, as the stack writes them (no ``AIRFLOW_VAR_*``). The local substitutions are the provisioned run's
(`local_run.pipeline`): Glue runs on local Spark, no retries, polls every second.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import io
import os
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3

from infra.packaging import library_zip_bytes, serverless_code_packages
from infra.serverless_definition import workflow_definition, workflow_yaml
from local_run import glue_local
from local_run.airflow_home import LOCAL_POLL_SECONDS, REPO_ROOT, make_fast, run_dag_test
from local_run.glue_script_runner import GlueScriptRunner
from local_run.moto_mwaa_serverless import run_queued, serving_workflow
from local_run.pipeline import LocalPipeline, RunOutcome
from local_run.resources import LocalStack, serverless_workflow_arn
from music_contract import names as contract_names

T = TypeVar("T")
# The top-level packages of the code package, each served from it alone.
CODE_PACKAGE_NAMES = tuple(package.name for package in serverless_code_packages(REPO_ROOT))


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


class _CodePackageFinder(importlib.abc.MetaPathFinder):
    """Finds the code package's packages (`CODE_PACKAGE_NAMES`) and their modules in its folder
    only, as the service's worker does (the package's root is the import root); any other name falls
    through to the normal finders."""

    def __init__(self, code_dir: Path):
        self.code_dir = str(code_dir)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".")[0] not in CODE_PACKAGE_NAMES:
            return None
        # A top-level package is looked up in the code folder; a submodule in its package's __path__
        # (which then lies in the code folder too).
        return importlib.machinery.PathFinder.find_spec(
            fullname, [self.code_dir] if "." not in fullname else path
        )


@contextmanager
def code_package_only(code_dir: Path) -> Iterator[None]:
    """Within the block, the code package's packages import from `code_dir` only (a finder ahead of
    every other: the editable install, ``dags/``, ``plugins/`` and the checkout never answer)."""
    saved_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in CODE_PACKAGE_NAMES}
    for name in saved_modules:
        del sys.modules[name]
    finder = _CodePackageFinder(code_dir)
    sys.meta_path.insert(0, finder)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] in CODE_PACKAGE_NAMES]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
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
            dag = loaded[contract_names.DAG_ID]
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


def serve_workflow_while(pipeline: ServerlessLocalPipeline, client: Callable[[], T]) -> T:
    """`client()` (say ``make smoke``) on another thread, with the emulator's StartWorkflowRun on the
    stack's workflow ARN running `pipeline` here, on this (the main) thread, with the run's parameters
    as its conf, as MWAA Serverless runs it; returns what `client` returned (or raises what it raised)."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["value"] = client()
        except BaseException as err:  # re-raised on the calling thread
            outcome["error"] = err

    def run(parameters: Mapping[str, str]) -> str:
        return pipeline.run(dict(parameters) or None).state

    with serving_workflow(serverless_workflow_arn(pipeline.stack), run):
        worker = threading.Thread(target=call, name="workflow-client")
        worker.start()
        run_queued(until=lambda: not worker.is_alive())
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
