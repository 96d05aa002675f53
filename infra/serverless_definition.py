"""The MWAA Serverless workflow definition (dag-factory YAML), written from `music_pipeline.workflow`,
and its check against the service's schema.

- `workflow_definition`: the YAML document as a dict (one DAG, the workflow's tasks with the same
  retries, timeouts and dependencies as the provisioned DAG). Timedeltas use dag-factory's
  ``__type__: datetime.timedelta`` form, as AWS's converter writes them. Settings are not in it: each
  task gets the SSM prefix of the pipeline's Variables (``op_kwargs``), a plain string with no
  account, region or credential, so the document is the same bytes for every deploy of an environment.
- `schema_errors`: what AWS's converter checks before a YAML reaches the service (its vendored
  ``serverless/validator_schema.yaml``: allowed keys per section and the operator allowlist), with
  the operators documented since added (serverless/SOURCE.md).

MWAA Serverless limits the definition respects (user guide, "Apache Airflow Parameter Support",
docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/supported-airflow-parameters.html; AWS
agent-toolkit-for-aws authoring-mwaa-workflow skill, references/yaml-schema.md): ``schedule`` is a cron
expression or null; ``catchup``, ``max_active_runs``, ``tags``, ``description`` and every callback are
ignored, so none is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from music_contract import names, reprocess
from music_pipeline import workflow

SCHEMA_FILE = Path(__file__).resolve().parent / "serverless" / "validator_schema.yaml"
PYTHON_OPERATOR = "airflow.providers.standard.operators.python.PythonOperator"
GLUE_OPERATOR = "music_pipeline.serverless.ServerlessGlueJobOperator"
ENTRY_POINTS_MODULE = "music_pipeline.serverless"
# Documented since the converter's 0.1.4 allowlist (custom-code-operators.html).
DOCUMENTED_CODE_OPERATORS = frozenset(
    {
        "airflow.providers.standard.operators.python.PythonOperator",
        "airflow.operators.python.PythonOperator",
        "airflow.providers.standard.operators.bash.BashOperator",
        "airflow.operators.bash.BashOperator",
    }
)
START_DATE = "2026-01-01"  # the provisioned DAG's
# MWAA Serverless params are a string map (the schema's ``params: map(str(), str())``); StartWorkflowRun
# OverrideParameters replaces them per run. Empty: the normal run (run_params reads "" as unset and
# recompute_dates as comma-separated dates).
WORKFLOW_PARAMS = {
    reprocess.PARAM_RECOMPUTE_DATES: "",
    reprocess.PARAM_REPLAY_FROM: "",
    reprocess.PARAM_REPLAY_TO: "",
}


def timedelta_value(value: timedelta) -> dict[str, Any]:
    """dag-factory's typed form of a timedelta (what AWS's converter writes)."""
    return {"__type__": "datetime.timedelta", "seconds": value.total_seconds()}


def _retry_args() -> dict[str, Any]:
    return {
        "retries": workflow.RETRIES,
        "retry_delay": timedelta_value(workflow.RETRY_DELAY),
        # The multiplier (Airflow >= 3.1 takes a float; the 0.1.4 schema's bool is Airflow 3.0's, where
        # any true value doubles: 2.0 means doubling under both).
        "retry_exponential_backoff": workflow.RETRY_EXPONENTIAL_BACKOFF,
        "max_retry_delay": timedelta_value(workflow.MAX_RETRY_DELAY),
    }


def workflow_definition(
    *, variables_prefix: str, glue_job_name: str, glue_timeout_minutes: int, schedule: str | None = None
) -> dict[str, Any]:
    """The workflow YAML as a dict: ``{dag_id: {...}}``.

    :param variables_prefix: SSM prefix of the pipeline's Variables (``ResourceNames.airflow_variables_prefix``).
    :param glue_job_name: the stack's Glue job (``ResourceNames.glue_job``: no token in it).
    :param glue_timeout_minutes: the Glue job's timeout; `workflow.glue_task_timeout` refuses one the
        workflow cannot wait for.
    :param schedule: a cron expression, or None (manual runs only).
    """
    glue_timeout = workflow.glue_task_timeout(glue_timeout_minutes)  # refuses what the tries cannot cover
    settings = {"variables_prefix": variables_prefix}
    tasks: dict[str, dict[str, Any]] = {}
    for spec in workflow.TASKS:
        if spec.callable_name is None:
            task: dict[str, Any] = {
                "operator": GLUE_OPERATOR,
                "job_name": glue_job_name,
                "op_kwargs": settings,
                "execution_timeout": timedelta_value(glue_timeout),
            }
        else:
            task = {
                "operator": PYTHON_OPERATOR,
                "python_callable": f"{ENTRY_POINTS_MODULE}.{spec.callable_name}",
                "op_kwargs": settings,
                "execution_timeout": timedelta_value(spec.execution_timeout),
            }
        task.update(_retry_args())
        if spec.upstream:
            task["dependencies"] = sorted(spec.upstream)
        tasks[spec.task_id] = task
    return {
        names.DAG_ID: {
            "dag_id": names.DAG_ID,
            "schedule": schedule,
            "start_date": START_DATE,
            "default_args": {"owner": workflow.OWNER},
            "params": dict(WORKFLOW_PARAMS),
            "tasks": tasks,
        }
    }


class _PlainDumper(yaml.SafeDumper):
    """A safe dumper that writes a value shared by several tasks out in full at each place, never as
    an anchor and alias (``&id001`` / ``*id001``): the YAML reads as written, task by task."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def workflow_yaml(definition: dict[str, Any]) -> str:
    """The definition as YAML text (keys in a fixed order: the same definition, the same bytes)."""
    return yaml.dump(definition, Dumper=_PlainDumper, sort_keys=True, default_flow_style=False)


def _schema_sections() -> dict[str, dict[str, Any]]:
    """The schema's ``dag`` and ``task`` sections (key -> rule), as the converter reads them."""
    sections: dict[str, dict[str, Any]] = {}
    for part in SCHEMA_FILE.read_text().split("---"):
        data = yaml.safe_load(part)
        if isinstance(data, dict):
            sections.update({k: v for k, v in data.items() if isinstance(v, dict)})
    return sections


def schema_operators() -> frozenset[str]:
    """The operator allowlist of the vendored schema (its ``task.operator`` enum)."""
    rule = _schema_sections()["task"]["operator"]
    return frozenset(part.strip().strip('"') for part in rule.split(",") if part.strip().startswith('"'))


def allowed_operators(code_package_operators: Iterable[str] = ()) -> frozenset[str]:
    """The schema's operators, the documented code operators and the code package's own operators."""
    return schema_operators() | DOCUMENTED_CODE_OPERATORS | frozenset(code_package_operators)


def schema_errors(definition: dict[str, Any], code_package_operators: Iterable[str] = ()) -> list[str]:
    """Every key the schema does not allow and every operator not on the allowlist, named by path
    (empty: the definition passes). Checks as the converter's ``ArgumentValidator`` does."""
    sections = _schema_sections()
    operators = allowed_operators(code_package_operators)
    errors = []
    for dag_key, dag in definition.items():
        for key in dag:
            if key not in sections["dag"]:
                errors.append(f"{dag_key}.{key}: not a key MWAA Serverless accepts for a DAG")
        for key in dag.get("default_args") or {}:
            if key not in sections["dag"]["default_args"]:
                errors.append(f"{dag_key}.default_args.{key}: not an accepted default_args key")
        for task_id, task in (dag.get("tasks") or {}).items():
            for key in task:
                if key not in sections["task"]:
                    errors.append(
                        f"{dag_key}.tasks.{task_id}.{key}: not a key MWAA Serverless accepts for a task"
                    )
            if task.get("operator") not in operators:
                errors.append(
                    f"{dag_key}.tasks.{task_id}.operator: {task.get('operator')!r} is not on the allowlist"
                )
    return errors
