"""Fixtures of the DAG tests: a fresh bucket, Glue job and alert topic per test on the shared moto
server, the DAG loaded once, and a helper that runs it with ``dag.test()`` on the shared Airflow DB."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import boto3
import pytest

from local_run.airflow_home import load_dag, make_fast, run_dag_test
from local_run.resources import create_local_stack, load_config
from music_contract import layout, names
from music_contract.manifest import Manifest
from music_contract.quality import STATUS_SUCCEEDED, DataQualityReport, FileQuality

USERS_CSV = (
    "user_id,user_name,user_age,user_country,created_at\n1,ann,30,NO,2024-01-01\n2,bob,40,SE,2024-01-02\n"
)
SONGS_CSV = (
    "id,track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,"
    "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre\n"
    '0,t1,"A, B",alb,"Song ""One""",50,200000,False,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,120,4,pop\n'
)
STREAMS_CSV = "user_id,track_id,listen_time\n1,t1,2024-06-25 10:00:00\n2,t1,2024-06-25 11:00:00\n"


def glue_processes_its_manifest(job_name: str, arguments: dict[str, str]) -> None:
    """A Glue script that processes nothing but reports, as the real job does, that it processed every
    file of its manifest (status succeeded): what `archive_raw_data` requires before it archives."""
    if names.ARG_MANIFEST_KEY not in arguments:
        return  # a recompute: no manifest, nothing to archive
    s3 = boto3.client("s3")
    bucket, manifest_key = arguments[names.ARG_DATA_BUCKET], arguments[names.ARG_MANIFEST_KEY]
    manifest = Manifest.from_json(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    run_id = arguments[names.ARG_RUN_ID]
    report = DataQualityReport(run_id, manifest_key, 0.05, datetime.now(UTC).isoformat(timespec="seconds"))
    report.status = STATUS_SUCCEEDED
    report.files = [FileQuality(stream.key, stream.etag) for stream in manifest.streams]
    s3.put_object(Bucket=bucket, Key=layout.report_key(run_id), Body=report.to_json().encode())


@dataclass
class EmulatedStack:
    """One test's AWS resources and the clients to inspect them."""

    STREAMS_CSV: ClassVar[str] = STREAMS_CSV  # a valid two-row stream batch
    bucket: str
    glue_job: str
    topic_arn: str
    queue_url: str
    s3: Any
    glue: Any
    sqs: Any
    cloudwatch: Any
    env_name: str  # the Environment dimension of the run's metrics

    def put(self, key: str, body: str | bytes) -> str:
        """Upload an object; returns its ETag."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)["ETag"]

    def put_reference_files(self) -> None:
        self.put(layout.USERS_KEY, USERS_CSV)
        self.put(layout.SONGS_KEY, SONGS_CSV)

    def put_many(self, keys: list[str], body: str = STREAMS_CSV) -> None:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda k: self.put(k, body), keys))

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return sorted(
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        )

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def alerts(self) -> list[dict[str, str]]:
        """Failure alerts published to the topic (delivered to the test's SQS queue)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        # The local stack's queue takes raw delivery: each body is the alert's message itself.
        return [{"Message": m["Body"]} for m in messages.get("Messages", [])]


@pytest.fixture
def emulated_stack(moto_server, monkeypatch) -> EmulatedStack:
    """A fresh emulated stack per test: the bucket, KPI table, Glue job and alert topic exactly as the
    local run builds them from the stack's configuration (`local_run.resources`), under a unique
    environment name; the DAG's Variables set."""
    config = dataclasses.replace(
        load_config(), env_name=f"t{uuid.uuid4().hex[:10]}", database_name="music_streams_test"
    )
    stack = create_local_stack(moto_server, config)
    for name, value in stack.airflow_variables.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", value)
    clients = {
        service: boto3.client(service, endpoint_url=moto_server.endpoint_url, region_name=moto_server.region)
        for service in ("s3", "glue", "sqs", "cloudwatch")
    }
    return EmulatedStack(
        stack.names.data_bucket,
        stack.names.glue_job,
        stack.alert_topic_arn,
        stack.alert_queue_url,
        clients["s3"],
        clients["glue"],
        clients["sqs"],
        clients["cloudwatch"],
        config.env_name,
    )


@pytest.fixture(scope="session")
def loaded_dag(airflow_db):
    """The DAG as the DAG processor loads it (no import errors)."""
    return load_dag()


@dataclass
class DagRunResult:
    states: dict[str, str]
    run_id: str
    dag_state: str
    tries: dict[str, int]  # task id -> the try the task ended on


@pytest.fixture
def run_dag(loaded_dag) -> Iterator[Callable[..., DagRunResult]]:
    """Run the DAG once with ``dag.test()``: no retries unless asked, 1-second Glue polls."""
    dag = loaded_dag
    saved = {t.task_id: (t.retries, t.retry_delay, t.retry_exponential_backoff) for t in dag.tasks}

    def run(retries: int = 0, conf: dict | None = None) -> DagRunResult:
        make_fast(dag, retries=retries)
        dag_run = run_dag_test(dag, conf)
        instances = dag_run.get_task_instances()
        return DagRunResult(
            states={ti.task_id: str(ti.state) for ti in instances},
            run_id=dag_run.run_id,
            dag_state=str(dag_run.state),
            tries={ti.task_id: ti.try_number for ti in instances},
        )

    yield run
    for t in dag.tasks:
        t.retries, t.retry_delay, t.retry_exponential_backoff = saved[t.task_id]
