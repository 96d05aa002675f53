"""The DAG's run params: the schemas Airflow checks when a run is created, the cross-param rules
the first task checks, and a recompute run that lists, checks and archives no raw file."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from local_run.glue_local import local_glue_jobs
from music_contract import layout, names, reprocess
from music_pipeline import run_params
from music_pipeline.run_params import Mode
from tests.dags.test_dag_runs import ALL_TASKS, glue_succeeds


def _validated(conf: dict) -> dict:
    """What Airflow does with a trigger's conf: the DAG's params, updated and validated."""
    params = ParamsDict(run_params.dag_params())
    params.update(conf)
    return params.validate()


def test_the_normal_run_has_no_params_set(loaded_dag):
    assert set(loaded_dag.params) == {
        reprocess.PARAM_RECOMPUTE_DATES,
        reprocess.PARAM_REPLAY_FROM,
        reprocess.PARAM_REPLAY_TO,
    }
    assert run_params.run_request(_validated({})) == run_params.RunRequest(Mode.NORMAL)


@pytest.mark.parametrize(
    ("conf", "name"),
    [
        ({reprocess.PARAM_RECOMPUTE_DATES: ["2026-02-30"]}, reprocess.PARAM_RECOMPUTE_DATES),
        ({reprocess.PARAM_RECOMPUTE_DATES: ["26-01-01"]}, reprocess.PARAM_RECOMPUTE_DATES),
        ({reprocess.PARAM_RECOMPUTE_DATES: "2026-01-01"}, reprocess.PARAM_RECOMPUTE_DATES),
        ({reprocess.PARAM_RECOMPUTE_DATES: ["2026-01-01", "2026-01-01"]}, reprocess.PARAM_RECOMPUTE_DATES),
        (
            {reprocess.PARAM_RECOMPUTE_DATES: [f"2026-01-{d:02d}" for d in range(1, 32)] + ["2026-02-01"]},
            reprocess.PARAM_RECOMPUTE_DATES,
        ),
        ({reprocess.PARAM_REPLAY_FROM: "yesterday"}, reprocess.PARAM_REPLAY_FROM),
        ({reprocess.PARAM_REPLAY_TO: "2026-13-01"}, reprocess.PARAM_REPLAY_TO),
    ],
    ids=["no-such-day", "not-iso", "not-a-list", "repeated", "too-many", "from-not-a-date", "to-no-month"],
)
def test_a_bad_param_fails_when_the_run_is_created_naming_it(conf, name):
    with pytest.raises(ParamValidationError, match=rf"Invalid input for param {name}:"):
        _validated(conf)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        (
            {reprocess.PARAM_RECOMPUTE_DATES: ["2026-01-01"], reprocess.PARAM_REPLAY_FROM: "2026-01-01"},
            r"recompute_dates and replay_from/replay_to: one kind",
        ),
        ({reprocess.PARAM_REPLAY_FROM: "2026-01-01"}, r"^replay_to: a replay needs both"),
        ({reprocess.PARAM_REPLAY_TO: "2026-01-01"}, r"^replay_from: a replay needs both"),
        (
            {reprocess.PARAM_REPLAY_FROM: "2026-01-02", reprocess.PARAM_REPLAY_TO: "2026-01-01"},
            r"^replay_to: 2026-01-01 is before replay_from 2026-01-02",
        ),
        (
            {reprocess.PARAM_REPLAY_FROM: "2026-01-01", reprocess.PARAM_REPLAY_TO: "2026-02-01"},
            r"^replay_from..replay_to: 32 days, at most 31",
        ),
    ],
    ids=["both-modes", "no-replay-to", "no-replay-from", "range-reversed", "range-too-long"],
)
def test_params_that_make_no_run_fail_naming_the_param(conf, message):
    with pytest.raises(ValueError, match=message):
        run_params.run_request(_validated(conf))


def test_requests_of_each_mode():
    recompute = run_params.run_request(
        _validated({reprocess.PARAM_RECOMPUTE_DATES: ["2026-01-02", "2026-01-01"]})
    )
    assert recompute == run_params.RunRequest(Mode.RECOMPUTE, recompute_dates=("2026-01-01", "2026-01-02"))
    replay = run_params.run_request(
        _validated({reprocess.PARAM_REPLAY_FROM: "2026-01-31", reprocess.PARAM_REPLAY_TO: "2026-02-01"})
    )
    assert replay == run_params.RunRequest(Mode.REPLAY, replay_days=(date(2026, 1, 31), date(2026, 2, 1)))


@pytest.mark.usefixtures("airflow_db")
def test_a_recompute_run_starts_glue_with_the_dates_and_touches_no_raw_file(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    emulated_stack.put(
        "raw_data/waiting.csv", emulated_stack.STREAMS_CSV
    )  # for the next normal run: left alone

    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag(conf={reprocess.PARAM_RECOMPUTE_DATES: ["2024-06-26", "2024-06-25"]})

    assert result.states == dict.fromkeys(ALL_TASKS, "success")
    [run] = glue.runs
    assert run.arguments == {
        names.ARG_RECOMPUTE_DATES: "2024-06-25,2024-06-26",
        names.ARG_RUN_ID: layout.sanitize_run_id(result.run_id),
        names.ARG_DATABASE_NAME: "music_streams_test",
    }
    assert emulated_stack.keys(layout.MANIFESTS_PREFIX) == []
    assert emulated_stack.keys(layout.ARCHIVE_PREFIX) == []
    assert emulated_stack.keys(layout.RAW_PREFIX) == ["raw_data/waiting.csv"]


@pytest.mark.usefixtures("airflow_db")
def test_params_that_make_no_run_fail_the_first_task_and_start_nothing(emulated_stack, run_dag):
    emulated_stack.put_reference_files()
    with local_glue_jobs(glue_succeeds) as glue:
        result = run_dag(
            conf={reprocess.PARAM_REPLAY_FROM: "2026-01-02", reprocess.PARAM_REPLAY_TO: "2026-01-01"}
        )
    assert result.states["validate_data_files"] == "failed"
    assert glue.runs == []
