"""A throw-away Airflow for local runs: its own home, a SQLite metadata DB, this repository's DAGs.

Airflow reads its settings when first imported, so call `use_airflow_home` before anything
imports airflow (this module itself imports nothing of Airflow at load).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "dags"
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
