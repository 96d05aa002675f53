"""A throw-away Airflow for local runs: its own home, a SQLite metadata DB, this repository's DAGs.

Airflow reads its settings when first imported, so call `use_airflow_home` before anything
imports airflow (this module itself imports nothing of Airflow at load).
"""

from __future__ import annotations

import copy
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from music_contract import names

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "dags"
# The DAG file: the one file of DAGS_FOLDER the DAG processor parses (dags/.airflowignore).
DAG_FILE = DAGS_FOLDER / f"{names.DAG_ID}.py"
# Seconds between two polls of the deferred Glue wait in local runs (MWAA: a minute): in `dag.test()`,
# which has no scheduler, and in a local Airflow (`make airflow`), where the first poll that can see
# the job finished comes LIVE_POLL_SECONDS after the task deferred. Sooner, the trigger can fire before
# the scheduler has drained the worker's own success event for the deferral; Airflow 3.3 then takes
# that stale event for an externally killed task and retries it (apache/airflow#67287, #72716).
LOCAL_POLL_SECONDS = 1
LIVE_POLL_SECONDS = 10
# What MWAA gets as plugins.zip (the triggers); Airflow puts this folder on sys.path, as on MWAA.
PLUGINS_FOLDER = REPO_ROOT / "plugins"


def airflow_environment(home: Path, logging_level: str = "INFO") -> dict[str, str]:
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": logging_level,
        # dag-factory (the serverless workflow) sends usage data to a remote endpoint unless told not to.
        "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
    }


def use_airflow_home(home: Path, logging_level: str = "INFO") -> None:
    """Point Airflow at `home` (must run before airflow is imported)."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(airflow_environment(home, logging_level))


def reset_metadata_db() -> None:
    """Create (or empty) the metadata database Airflow is configured with."""
    from airflow.utils import db

    db.resetdb()


def load_dag() -> Any:
    """The production DAG, parsed the way the DAG processor parses it (import errors raise)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    if bag.import_errors:
        raise RuntimeError(f"the DAG file does not import: {bag.import_errors}")
    return bag.get_dag(names.DAG_ID)


def run_dag_test(dag: Any, conf: dict | None = None) -> Any:
    """One `dag.test()` run with `conf` as its params; returns the DagRun.

    `dag.test()` runs every task in this process on the DAG's own task objects, and the run's conf is
    merged into each task's params in place (on MWAA each try is a fresh process that parses the DAG
    again). The params are restored afterwards, so one run's conf never leaks into the next run of a
    DAG object loaded once (the test fixtures share one).
    """
    saved = {task.task_id: copy.deepcopy(task.params) for task in dag.tasks}
    try:
        return dag.test(run_conf=conf)
    finally:
        for task in dag.tasks:
            task.params = saved[task.task_id]


def make_fast(dag: Any, retries: int = 0, poll_seconds: int = LOCAL_POLL_SECONDS) -> None:
    """Tune a loaded DAG for a local `dag.test()`: `retries` tries with no delay between them, and the
    deferred Glue wait polled every `poll_seconds` (the production DAG waits minutes for both)."""
    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = timedelta(0)
        task.retry_exponential_backoff = 0
        if hasattr(task, "waiter_delay"):  # the provider's deferred Glue wait
            task.waiter_delay, task.waiter_max_attempts = poll_seconds, 3600
