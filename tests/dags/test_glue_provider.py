"""The Amazon provider internals `run_etl_job` and its trigger still rely on, named one by one.

`RunGlueJobOperator` (dags/music_pipeline/glue.py) runs none of ``GlueJobOperator.execute``: it
starts or rejoins the run through `ExistingGlueJobHook` and defers straight to
`StoppableGlueJobCompleteTrigger` (plugins/music_triggers/glue.py). What remains borrowed from the
provider is listed here; an upgrade that changes any of it fails this file, naming the part to re-check.
"""

from __future__ import annotations

import inspect
import json
from importlib.metadata import version
from pathlib import Path

import pytest
from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
from airflow.providers.amazon.aws.links.glue import GlueJobRunDetailsLink
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.triggers.base import AwsBaseWaiterTrigger
from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

PROVIDER_VERSION = "9.34.0"  # requirements.txt; the version whose source these pins were read from


def test_the_pinned_provider_is_the_one_installed():
    assert version("apache-airflow-providers-amazon") == PROVIDER_VERSION


def test_the_hook_methods_the_job_hook_overrides_are_the_ones_initialize_job_calls():
    """`ExistingGlueJobHook` refuses to create or update the job by overriding these two."""
    source = inspect.getsource(GlueJobHook.initialize_job)
    assert "self.get_or_create_glue_job()" in source
    assert "self.create_or_update_glue_job()" in source


def test_the_operator_attributes_the_operator_reads_are_set_by_the_providers_init():
    """`RunGlueJobOperator.execute` reads these attributes of ``GlueJobOperator.__init__``."""
    operator = GlueJobOperator(
        task_id="t", job_name="j", deferrable=True, waiter_delay=7, waiter_max_attempts=3
    )
    for name in (
        "run_job_kwargs",
        "verbose",
        "stop_job_run_on_kill",
        "waiter_delay",
        "waiter_max_attempts",
        "openlineage_inject_parent_job_info",
        "openlineage_inject_transport_info",
    ):
        assert hasattr(operator, name), f"GlueJobOperator no longer sets {name}"
    assert (operator.deferrable, operator.waiter_delay, operator.waiter_max_attempts) == (True, 7, 3)
    assert any(isinstance(link, GlueJobRunDetailsLink) for link in GlueJobOperator.operator_extra_links)
    persist = inspect.signature(GlueJobRunDetailsLink.persist).parameters
    assert {"context", "operator", "region_name", "aws_partition"} <= set(persist)


def test_the_trigger_attributes_the_stoppable_trigger_sets_are_the_ones_the_base_trigger_reads():
    """`StoppableGlueJobCompleteTrigger.__init__` adds its own argument to ``serialized_fields`` and
    its EXPIRED acceptor through ``waiter_config_overrides`` (the Glue trigger's __init__ takes neither)."""
    trigger = GlueJobCompleteTrigger(job_name="j", run_id="r")
    assert isinstance(trigger, AwsBaseWaiterTrigger)
    trigger.serialized_fields["extra"] = 1
    assert trigger.serialize()[1]["extra"] == 1
    assert "config_overrides=self.waiter_config_overrides" in inspect.getsource(AwsBaseWaiterTrigger.run)
    assert "waiter_config_overrides" not in inspect.signature(GlueJobCompleteTrigger.__init__).parameters


def test_the_waiter_file_the_trigger_reads_has_the_job_complete_acceptors():
    waiters = json.loads(Path(GlueJobHook(aws_conn_id=None).waiter_path).read_text())
    acceptors = waiters["waiters"]["job_complete"]["acceptors"]
    assert {a["argument"] for a in acceptors} == {"JobRun.JobRunState"}
    assert "EXPIRED" not in {a["expected"] for a in acceptors}  # the trigger adds its acceptor


class _Hook:
    """The few hook calls `execute` makes, recorded (the DAG tests run the real hook against moto)."""

    conn_region_name, conn_partition = "eu-west-1", "aws"

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start_or_rejoin(self, arguments, run_kwargs, *, rejoin):
        self.calls.append((dict(arguments), rejoin))
        return "jr_1", False


class _TaskInstance:
    try_number = 1

    def __init__(self) -> None:
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.xcoms[key] = value


def _deferred(monkeypatch, operator, ti=None):
    """`operator.execute` on a recorded hook, up to its deferral (the TaskDeferred raised)."""
    from airflow.sdk.exceptions import TaskDeferred

    from music_contract import names

    monkeypatch.setenv(f"AIRFLOW_VAR_{names.VAR_DATABASE_NAME.upper()}", "music_streams")
    operator.job_name = "the-job"
    operator.__dict__["hook"] = _Hook()  # the cached hook property
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"run_id": "manual__2026-11-25", "ti": ti or _TaskInstance(), "params": {}})
    return deferred.value


def test_the_operator_defers_straight_to_the_stoppable_trigger(monkeypatch):
    from music_contract import names
    from music_pipeline.glue import RunGlueJobOperator
    from music_triggers.glue import StoppableGlueJobCompleteTrigger

    operator = RunGlueJobOperator(task_id="run_etl_job", manifest_key="manifests/m.json", poll_seconds=30)
    ti = _TaskInstance()
    deferred = _deferred(monkeypatch, operator, ti)

    trigger = deferred.trigger
    assert type(trigger) is StoppableGlueJobCompleteTrigger
    assert (trigger.job_name, trigger.run_id, trigger.stop_job_run_on_kill, trigger.waiter_delay) == (
        "the-job", "jr_1", True, 30,
    )  # fmt: skip
    assert (deferred.method_name, deferred.kwargs) == ("execute_complete", {"job_name": "the-job"})
    assert operator.hook.calls == [({**operator.script_args}, False)]
    assert operator.script_args[names.ARG_MANIFEST_KEY] == "manifests/m.json"
    assert ti.xcoms["glue_job_run_id"] == "jr_1"


def test_the_glue_poll_seconds_variable_sets_the_poll_and_keeps_the_whole_wait(monkeypatch):
    """What `make airflow` sets (docs/configuration.md): a poll a second, still four hours of waiting."""
    from music_contract import names
    from music_pipeline.glue import RunGlueJobOperator

    monkeypatch.setenv(f"AIRFLOW_VAR_{names.VAR_GLUE_POLL_SECONDS.upper()}", "1")
    operator = RunGlueJobOperator(task_id="run_etl_job", manifest_key="manifests/m.json")
    trigger = _deferred(monkeypatch, operator).trigger
    assert (trigger.waiter_delay, trigger.attempts) == (1, 4 * 3600)


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "soon"])
def test_a_bad_glue_poll_seconds_variable_fails_the_task_naming_it(monkeypatch, value):
    from music_contract import names
    from music_pipeline.glue import RunGlueJobOperator

    monkeypatch.setenv(f"AIRFLOW_VAR_{names.VAR_GLUE_POLL_SECONDS.upper()}", value)
    operator = RunGlueJobOperator(task_id="run_etl_job", manifest_key="manifests/m.json")
    with pytest.raises(
        ValueError, match=rf"Variable 'glue_poll_seconds' is {value!r}: a whole number of seconds"
    ):
        _deferred(monkeypatch, operator)
