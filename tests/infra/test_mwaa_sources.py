"""infra/mwaa_sources.py: the DAG folder, requirements.txt and plugins.zip MWAA reads from its source
bucket. The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from infra.mwaa_sources import IMAGE_CONSTRAINTS_LINE

REPO_ROOT = Path(__file__).resolve().parents[2]


def _pinned_upload(each_env, prefix: str, mwaa_property: str) -> Path:
    """The staged file the environment's ``<mwaa_property>S3Path`` names, after checking that the
    environment pins the exact S3 version the (non-extracting) deployment wrote under `prefix`."""
    env = each_env.only("AWS::MWAA::Environment")
    (deployment_id,) = [
        logical_id
        for logical_id, r in each_env.resources("Custom::CDKBucketDeployment").items()
        if r["Properties"]["DestinationBucketKeyPrefix"] == prefix
    ]
    assert env[f"{mwaa_property}S3ObjectVersion"] == {
        "Fn::Select": [0, {"Fn::GetAtt": [deployment_id, "SourceObjectVersionIds"]}]
    }
    assert prefix in json.dumps(env[f"{mwaa_property}S3Path"])
    deployment = each_env.template["Resources"][deployment_id]["Properties"]
    assert deployment["Extract"] is False
    assert deployment["OutputObjectVersionIds"] is True
    return each_env.asset_path(json.dumps(deployment["SourceObjectKeys"]))


def test_requirements_are_pinned_by_the_deployed_object_version(each_env):
    staged = _pinned_upload(each_env, "requirements/", "Requirements").read_text()
    # Installed against the image's own constraints: no download at an MWAA component's start.
    assert IMAGE_CONSTRAINTS_LINE in staged.splitlines()
    assert "://" not in staged
    # MWAA installs the same Amazon provider (and extras) the project pins and tests against.
    pinned = [
        line.strip()
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if line.startswith("apache-airflow-providers-amazon")
    ]
    assert pinned
    assert pinned[0] in staged.splitlines()


def test_plugins_zip_holds_the_trigger_the_dag_defers_to_pinned_by_object_version(each_env):
    from music_triggers.glue import StoppableGlueJobCompleteTrigger

    staged = _pinned_upload(each_env, "plugins/", "Plugins")
    with zipfile.ZipFile(staged) as archive:
        names = archive.namelist()
        module = archive.read("music_triggers/glue.py")
    # The triggerer imports the class by the path the operator serializes; the zip holds that one source.
    classpath, _ = StoppableGlueJobCompleteTrigger(job_name="j", run_id="r").serialize()
    assert classpath == "music_triggers.glue.StoppableGlueJobCompleteTrigger"
    assert module == (REPO_ROOT / "plugins" / "music_triggers" / "glue.py").read_bytes()
    assert sorted(names) == ["music_triggers/__init__.py", "music_triggers/glue.py"]
    # The operator defers to this class (tests/dags/test_glue_provider.py, the deferral test).
    assert StoppableGlueJobCompleteTrigger.__module__ == "music_triggers.glue"
    # One source: no trigger class is defined under dags/ (the DAG package imports music_triggers).
    dag_sources = [p.read_text() for p in (REPO_ROOT / "dags").rglob("*.py")]
    assert not [text for text in dag_sources if "Trigger):" in text or "Trigger, " in text]


def test_dag_folder_upload_is_pruned_and_clean(each_env):
    deployments = [
        r["Properties"]
        for r in each_env.resources("Custom::CDKBucketDeployment").values()
        if r["Properties"]["DestinationBucketKeyPrefix"] == "dags/"
    ]
    assert len(deployments) == 1
    assert deployments[0]["Prune"] is True
    staged = each_env.asset_path(json.dumps(deployments[0]["SourceObjectKeys"]))
    files = [p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()]
    # The shared contract rides beside the DAG's package, byte for byte the repository's.
    assert "music_pipeline/__init__.py" in files
    for source in (REPO_ROOT / "music_contract").rglob("*.py"):
        shipped = staged / "music_contract" / source.relative_to(REPO_ROOT / "music_contract")
        assert shipped.read_bytes() == source.read_bytes()
    ignored = (staged / ".airflowignore").read_text().split()
    assert {"music_pipeline/", "music_contract/"} <= set(ignored)
    assert ".airflowignore" in files  # MWAA's DAG processor parses only the DAG file
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f]
    assert not [f for f in files if f.rsplit("/", 1)[-1].startswith("README")]
    dag_file = REPO_ROOT / "dags" / "music_streaming_pipeline_dynamo.py"
    if dag_file.exists():
        assert dag_file.name in files
