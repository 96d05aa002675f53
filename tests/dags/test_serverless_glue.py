"""The MWAA Serverless Glue task (`ServerlessGlueJobOperator`) against moto server: it waits on its
worker inside the task cap, a retry rejoins the run still going or takes the result of one that
succeeded meanwhile, and it never starts a second run for one DAG run."""

from __future__ import annotations

import dataclasses
import itertools
from unittest import mock

import boto3
import pytest
from moto.glue.models import glue_backends

from local_run.emulator import FAKE_ACCOUNT_ID, REGION
from local_run.resources import create_local_stack, load_config
from music_contract import layout, names
from music_pipeline import serverless, workflow
from music_pipeline.glue import GlueWaitError

DAG_RUN_ID = "manual__2026-12-06T03.00.00.000000Z"
_environments = itertools.count(1)


@pytest.fixture
def stack(moto_server):
    config = dataclasses.replace(load_config(), env_name=f"slsglue{next(_environments)}")
    stack = create_local_stack(moto_server, config)
    ssm = boto3.client("ssm")
    for key, value in stack.airflow_variables.items():
        ssm.put_parameter(
            Name=f"{stack.names.airflow_variables_prefix}/{key}", Value=value, Type="String", Overwrite=True
        )
    return stack


def _operator(stack) -> serverless.ServerlessGlueJobOperator:
    return serverless.ServerlessGlueJobOperator(
        task_id=workflow.RUN_ETL_JOB,
        job_name=stack.names.glue_job,
        op_kwargs={"variables_prefix": stack.names.airflow_variables_prefix},
        poll_seconds=0,
    )


def _context(try_number: int) -> dict:
    ti = mock.Mock(try_number=try_number)
    return {"ti": ti, "run_id": DAG_RUN_ID, "params": {}}


def _start_run(stack, state: str) -> str:
    glue = boto3.client("glue")
    run_id = glue.start_job_run(
        JobName=stack.names.glue_job, Arguments={names.ARG_RUN_ID: layout.sanitize_run_id(DAG_RUN_ID)}
    )["JobRunId"]
    run = glue_backends[FAKE_ACCOUNT_ID][REGION].get_job(stack.names.glue_job).get_job_run(run_id)
    run._transitions, run.status = [], state
    return run_id


def _runs(stack) -> list[dict]:
    return boto3.client("glue").get_job_runs(JobName=stack.names.glue_job)["JobRuns"]


@pytest.fixture(autouse=True)
def manifest_key():
    with mock.patch.object(serverless, "_manifest_key", return_value="manifests/run.json"):
        yield


def test_a_retry_rejoins_the_run_still_going_and_waits_for_its_end(stack):
    run_id = _start_run(stack, "RUNNING")
    moto_run = glue_backends[FAKE_ACCOUNT_ID][REGION].get_job(stack.names.glue_job).get_job_run(run_id)

    def glue_finishes(_seconds):
        moto_run.status = "SUCCEEDED"

    with mock.patch.object(serverless.time, "sleep", glue_finishes):
        assert _operator(stack).execute(_context(try_number=2)) == run_id
    assert len(_runs(stack)) == 1


def test_a_retry_takes_the_result_of_a_run_that_succeeded_meanwhile(stack):
    run_id = _start_run(stack, "SUCCEEDED")
    assert _operator(stack).execute(_context(try_number=2)) == run_id
    assert len(_runs(stack)) == 1


def test_a_try_ends_inside_the_task_cap_with_the_run_left_going(stack):
    _start_run(stack, "RUNNING")
    no_wait = mock.patch.object(workflow, "GLUE_WAIT_PER_TRY", workflow.GLUE_WAIT_PER_TRY * 0)
    with no_wait, pytest.raises(GlueWaitError, match="the retry rejoins the run"):
        _operator(stack).execute(_context(try_number=2))
    assert [r["JobRunState"] for r in _runs(stack)] == ["RUNNING"]


def test_the_wait_per_try_fits_the_task_timeout_the_yaml_sets():
    assert workflow.GLUE_WAIT_PER_TRY < workflow.glue_task_timeout(60) == workflow.SERVERLESS_TASK_CAP
