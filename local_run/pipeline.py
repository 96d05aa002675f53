"""One local run of the production DAG: real Airflow (`dag.test()`), moto server, local Glue.

The DAG file is the one MWAA runs. The only local substitutions live here:
- Glue job runs execute the real Glue script on local Spark (`local_run.glue_local` holds the
  moto job run, `local_run.glue_script_runner` runs the script);
- task retries are off, because `dag.test()` would sit out the production 5-minute retry delay
  (the DAG's retry behaviour is covered by the DAG tests);
- the deferred Glue wait polls every second instead of every minute (a local run takes seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from local_run.airflow_home import load_dag, make_fast, run_dag_test
from local_run.glue_local import local_glue_jobs
from local_run.glue_script_runner import GlueScriptRunner
from local_run.resources import LocalStack
from music_contract import layout
from ops.report import sources


@dataclass
class RunOutcome:
    """What one DAG run did, read back from Airflow and the emulated bucket."""

    run_id: str
    state: str
    task_states: dict[str, str]
    archived_keys: list[str] = field(default_factory=list)
    quality_report: dict | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def safe_run_id(self) -> str:
        return layout.sanitize_run_id(self.run_id)


class LocalPipeline:
    """Upload files to the emulated bucket and run the DAG on them, as many times as needed.

    :param stack: the emulated resources (`local_run.resources.create_local_stack`).
    :param glue_runner: what executes a Glue job run (usually a `GlueScriptRunner`).
    """

    def __init__(self, stack: LocalStack, glue_runner: GlueScriptRunner):
        self.stack = stack
        self.glue_runner = glue_runner
        self.bucket = stack.names.data_bucket

    def upload(self, root: Path, keys: Iterable[str]) -> list[str]:
        """Upload `root/<key>` to the bucket under `<key>`, as the data producer would."""
        s3 = boto3.client("s3")
        uploaded = []
        for key in keys:
            s3.upload_file(str(root / key), self.bucket, key)
            uploaded.append(key)
        return uploaded

    def run(self, conf: dict | None = None) -> RunOutcome:
        """Trigger one run of the DAG (with `conf`, its params) and wait for it to end; never raises
        for a failed run."""
        self.stack.apply_airflow_variables()
        dag = load_dag()
        make_fast(dag)
        with local_glue_jobs(self.glue_runner, self.stack.names.account, self.stack.names.region):
            dag_run = run_dag_test(dag, conf)
        task_states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
        outcome = RunOutcome(dag_run.run_id, str(dag_run.state), task_states)
        outcome.archived_keys = self.archived_keys(outcome.safe_run_id)
        outcome.quality_report = self.quality_report(outcome.safe_run_id)
        return outcome

    def archived_keys(self, safe_run_id: str) -> list[str]:
        """Keys this run archived (`archived_data/YYYY/MM/DD/run_id=<id>/...`)."""
        marker = f"/run_id={safe_run_id}/"
        return [key for key in sources.read_archived_keys(self.bucket) if marker in key]

    def quality_report(self, safe_run_id: str) -> dict | None:
        """The run's `reports/run_id=<id>/data_quality.json`, if the job wrote one."""
        try:
            body = boto3.client("s3").get_object(Bucket=self.bucket, Key=layout.report_key(safe_run_id))[
                "Body"
            ]
        except ClientError:
            return None
        return json.loads(body.read())

    def raw_keys(self) -> list[str]:
        """Every stream file still waiting under `raw_data/`."""
        paginator = boto3.client("s3").get_paginator("list_objects_v2")
        return sorted(
            obj["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=layout.RAW_PREFIX)
            for obj in page.get("Contents", [])
        )
