"""Session-wide fixtures shared by every test folder: one moto server, one Spark session and
one Airflow metadata database per test session (each started only when a test asks for it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import time: point it at a throw-away home and metadata
# database before any test module imports airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server():
    """The emulated AWS for the whole session; boto3 and `aws_conn` point at it."""
    from local_run.emulator import running_emulator

    with running_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (the Glue job reuses it via getOrCreate)."""
    from music_kpis.session import local_spark_session

    session = local_spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def airflow_db():
    """One Airflow metadata database (SQLite) for every `dag.test()` run in the session."""
    from airflow.utils import db

    db.resetdb()
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
