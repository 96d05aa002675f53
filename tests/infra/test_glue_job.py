"""infra/glue_job.py: the Glue job, its code, security configuration, role and policy.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from music_contract import names as contract_names
from tests.infra.policy_documents import as_list, assert_no_wildcard_actions, policy_of, statement, statements

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_glue_security_configuration_encrypts_s3_logs_and_bookmarks(each_env):
    encryption = each_env.only("AWS::Glue::SecurityConfiguration")["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def test_glue_job_version_capacity_and_concurrency(each_env):
    job = each_env.only("AWS::Glue::Job")
    config = each_env.config
    assert job["Name"] == f"music-streams-{each_env.env}-compute-kpis"
    assert job["GlueVersion"] == "5.1"
    assert job["Command"]["Name"] == "glueetl"
    assert job["Command"]["PythonVersion"] == "3"
    assert job["WorkerType"] == config.glue_worker_type
    assert job["NumberOfWorkers"] == config.glue_number_of_workers
    assert job["Timeout"] == config.glue_timeout_minutes
    assert job["ExecutionClass"] == config.glue_execution_class == "STANDARD"  # Flex only when asked
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    # A run started while another is still going (STOPPING after a kill) waits as WAITING.
    assert job["JobRunQueuingEnabled"] is True
    assert job["SecurityConfiguration"] == each_env.only("AWS::Glue::SecurityConfiguration")["Name"]


def test_prod_runs_more_glue_workers_than_dev(dev, prod):
    assert prod.only("AWS::Glue::Job")["NumberOfWorkers"] > dev.only("AWS::Glue::Job")["NumberOfWorkers"]


def test_glue_job_default_arguments(each_env):
    args = each_env.only("AWS::Glue::Job")["DefaultArguments"]
    assert args[contract_names.ARG_KPI_TABLE] == f"music-streams-{each_env.env}-genre-kpis"
    assert args[contract_names.ARG_DATABASE_NAME] == each_env.config.database_name
    assert args[contract_names.ARG_MAX_REJECT_RATIO] == str(contract_names.DEFAULT_MAX_REJECT_RATIO)
    assert "-data-" in json.dumps(args[contract_names.ARG_DATA_BUCKET])
    assert args["--enable-metrics"] == args["--enable-observability-metrics"] == "true"
    # Glue 5 logs in real time on its own; the flag was a Glue 2-4 option (monitor-continuous-logging.html).
    assert "--enable-continuous-cloudwatch-log" not in args
    assert "--enable-auto-scaling" not in args  # off unless glue_auto_scaling is set
    assert args["--custom-logGroup-prefix"] == f"/aws-glue/jobs/music-streams-{each_env.env}-compute-kpis"


def test_glue_script_is_the_repositorys_script_asset(each_env):
    location = json.dumps(each_env.only("AWS::Glue::Job")["Command"]["ScriptLocation"])
    staged = each_env.asset_path(location)
    assert staged.read_bytes() == (REPO_ROOT / "glue_scripts" / "compute_kpis.py").read_bytes()


def test_glue_libraries_zip_holds_exactly_the_packages_the_job_imports(each_env):
    extra = json.dumps(each_env.only("AWS::Glue::Job")["DefaultArguments"]["--extra-py-files"])
    assert ".zip" in extra
    names = zipfile.ZipFile(each_env.asset_path(extra)).namelist()
    assert "music_contract/__init__.py" in names
    if (REPO_ROOT / "glue_scripts" / "music_kpis" / "__init__.py").is_file():
        assert "music_kpis/__init__.py" in names
    # Only what the job imports: no Airflow task code (music_pipeline) rides along.
    assert {name.split("/", 1)[0] for name in names} == {"music_contract", "music_kpis"}
    shipped = {name for name in names if name.endswith(".py")}
    expected = {
        path.relative_to(folder.parent).as_posix()
        for folder in (REPO_ROOT / "music_contract", REPO_ROOT / "glue_scripts" / "music_kpis")
        for path in folder.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert shipped == expected
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_glue_role_is_scoped_to_this_pipeline(each_env):
    policy = policy_of(each_env, each_env.stack.glue_job.policy)
    assert_no_wildcard_actions(policy)
    dynamodb = statement(policy, "WriteKpiItems")
    assert dynamodb["Resource"] == {
        "Fn::GetAtt": [each_env.logical_id(each_env.stack.kpi_store.table), "Arn"]
    }
    code = statement(policy, "ReadJobCode")
    assert "*" not in json.dumps(code["Resource"])  # exactly the two asset objects
    assert statement(policy, "PublishJobMetrics")["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "Glue"}
    }


def test_the_glue_role_has_no_catalog_access_the_job_does_not_use(each_env):
    """The job reads and writes the curated tables by S3 path, never through the Glue Data Catalog."""
    policy = policy_of(each_env, each_env.stack.glue_job.policy)
    actions = [a for s in statements(policy) for a in as_list(s["Action"])]
    assert actions
    assert not [a for a in actions if a.startswith("glue:")]
    job_code = "\n".join(p.read_text() for p in (REPO_ROOT / "glue_scripts").rglob("*.py"))
    assert "from_catalog" not in job_code
    assert 'client("glue")' not in job_code


def test_glue_cheaper_execution_is_opt_in(tmp_path):
    """Flex and auto scaling reach the job only when their keys are set (both off by default)."""
    from infra.application import build_app
    from infra.config import cdk_context

    _, stack = build_app(
        context={**cdk_context(), "env": "prod", "glue_execution_class": "FLEX", "glue_auto_scaling": "true"},
        outdir=str(tmp_path),
        nag=False,
    )
    job = stack.glue_job.job
    assert job.execution_class == "FLEX"
    assert job.default_arguments["--enable-auto-scaling"] == "true"
    assert job.number_of_workers == 10  # the most an auto-scaled run may use
