"""Session-wide fixtures shared by every test folder: one moto server, one Spark session and
one Airflow metadata database per test session (each started only when a test asks for it)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import toolchain
from local_run.airflow_home import reset_metadata_db, use_airflow_home  # imports nothing of Airflow
from tests.jvm_options import CLIENT_COMPILER_ONLY

# Spark's JVM, jsii's Node and the CDK CLI, in this process and every one it starts: the pinned
# runtimes from .venv, also when pytest runs without make.
toolchain.use()
# Airflow reads its configuration at import time: point it at a throw-away home and metadata
# database before any test module imports airflow. Removed when the test session's process ends
# (after every fixture has stopped what it started).
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)
use_airflow_home(AIRFLOW_HOME)
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
    from music_kpis.session import DRIVER_JAVA_OPTIONS, local_spark_session

    java_options = f"{DRIVER_JAVA_OPTIONS} {CLIENT_COMPILER_ONLY}"
    session = local_spark_session(extra_conf={"spark.driver.extraJavaOptions": java_options})
    yield session
    session.stop()
    # py4j logs its connection shutdown at INFO while the interpreter is closing its streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def airflow_db():
    """One Airflow metadata database (SQLite) for every `dag.test()` run in the session."""
    reset_metadata_db()
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m selection reads the marks
def pytest_collection_modifyitems(items):
    """Every test on the Airflow metadata DB runs the whole DAG: mark it ``dag_run`` (make test-fast
    leaves those out), whichever fixture brought the DB in."""
    for item in items:
        if "airflow_db" in item.fixturenames:
            item.add_marker(pytest.mark.dag_run)
