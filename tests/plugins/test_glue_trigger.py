"""The deferred Glue wait on its own (plugins/music_triggers/glue.py): the states that end it, its
serialized form, and the triggerer importing it from the unpacked plugins.zip as on MWAA.

The trigger stopping a Glue run when a user kills the deferred task (a DAG run in the metadata DB,
the triggerer's own cancel path) is in tests/dags/test_dag_glue_faults.py; the provider internals
it relies on are pinned in tests/dags/test_glue_provider.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import botocore.session
from botocore.waiter import WaiterModel

from infra.packaging import library_zip_bytes, python_packages
from music_contract import names
from music_triggers.glue import StoppableGlueJobCompleteTrigger, job_complete_acceptors

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_deferred_wait_ends_on_expired_instead_of_polling_for_hours():
    """EXPIRED is a JobRunState (botocore's Glue model) the provider's `job_complete` waiter lacks."""
    trigger = StoppableGlueJobCompleteTrigger(job_name="job", run_id="jr_1", aws_conn_id=names.AWS_CONN_ID)
    config = json.loads(Path(trigger.hook().waiter_path).read_text())
    config["waiters"]["job_complete"].update(trigger.waiter_config_overrides or {})
    acceptors = WaiterModel(config).get_waiter("job_complete").acceptors
    outcome = {a.expected: a.state for a in acceptors}
    assert outcome["EXPIRED"] == "failure"
    assert (outcome["SUCCEEDED"], outcome["FAILED"]) == ("success", "failure")  # the provider's, kept
    # Every JobRunState botocore knows ends the wait or is polled on purpose.
    states = botocore.session.get_session().get_service_model("glue").shape_for("JobRunState").enum
    assert set(states) - set(outcome) <= {"WAITING"}


def test_a_state_the_providers_waiter_already_ends_on_is_not_added_twice(tmp_path):
    """Once a provider upgrade adds an EXPIRED acceptor, the trigger keeps the provider's alone."""
    provider_acceptors = [
        {"matcher": "path", "argument": "JobRun.JobRunState", "expected": state, "state": outcome}
        for state, outcome in (("SUCCEEDED", "success"), ("EXPIRED", "retry"))
    ]
    waiters = tmp_path / "glue.json"
    waiters.write_text(json.dumps({"waiters": {"job_complete": {"acceptors": provider_acceptors}}}))

    assert job_complete_acceptors(SimpleNamespace(waiter_path=str(waiters))) == provider_acceptors


def test_the_trigger_round_trips_through_its_serialized_form():
    trigger = StoppableGlueJobCompleteTrigger(
        job_name="job", run_id="jr_1", aws_conn_id="aws_conn", stop_job_run_on_kill=False
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "music_triggers.glue.StoppableGlueJobCompleteTrigger"
    again = StoppableGlueJobCompleteTrigger(**kwargs)
    assert (again.job_name, again.run_id, again.stop_job_run_on_kill) == ("job", "jr_1", False)


def test_the_triggerer_imports_the_trigger_from_the_unpacked_plugins_zip_alone(tmp_path):
    """As on MWAA: plugins.zip unpacked into $AIRFLOW_HOME/plugins, dags/ and plugins/ not on the path."""
    home = tmp_path / "airflow"
    with zipfile.ZipFile(io.BytesIO(library_zip_bytes(python_packages(REPO_ROOT / "plugins")))) as archive:
        archive.extractall(home / "plugins")
    classpath, _ = StoppableGlueJobCompleteTrigger(job_name="j", run_id="r").serialize()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "PYTHONPATH"}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    code = (
        "from airflow.jobs.triggerer_job_runner import TriggerRunner\n"
        "import sys\n"
        f"trigger = TriggerRunner().get_trigger_by_classpath({classpath!r})\n"
        "print(sys.modules[trigger.__module__].__file__)\n"
        "print(trigger.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "music_triggers.glue"
    # From the unpacked plugins.zip, not the project's editable install (sys.path entries win).
    loaded_from = Path(done.stdout.strip().splitlines()[-2])
    assert loaded_from == home / "plugins" / "music_triggers" / "glue.py"
