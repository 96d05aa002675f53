"""`make airflow`'s second DAG bundle: the MWAA Serverless workflow beside the DAG.

The workflow YAML the stack writes (`infra.serverless_definition`, via `local_run.serverless_run`),
under the DAG id ``<dag id>_serverless`` (one Airflow lists one DAG per id), the unpacked code
package, a loader that dag-factory 1.1.0 runs, and the Variables as the SSM parameters the stack
writes: the same workflow `make demo DEMO_ARGS="--orchestration serverless"` runs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

LOCAL_DAG_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
SERVERLESS_BUNDLE = "serverless-workflow"
# The workflow's DAG id here: the YAML's own id is the DAG's, and one Airflow lists one DAG per id.
SERVERLESS_DAG_SUFFIX = "_serverless"
# The bundle's DAG file: dag-factory loads the workflow YAML with the task code of the code package
# (`code_path`: first on the components' PYTHONPATH, as the service's worker imports the package's root).
SERVERLESS_LOADER = '''"""The MWAA Serverless workflow YAML, loaded by dag-factory (written by `make airflow`)."""
from pathlib import Path

from dagfactory import load_yaml_dags

HERE = Path(__file__).resolve().parent

load_yaml_dags(globals_dict=globals(), config_filepath=str(HERE / "workflow.yaml"))
'''


def write_serverless_bundle(stack, bundle: Path) -> str:
    """The serverless workflow as a DAG bundle in `bundle` (the YAML under the id `<dag id>_serverless`,
    the unpacked code package, the loader, an .airflowignore keeping the package out of parsing), and
    its Variables as SSM parameters; returns the DAG id."""
    import yaml

    from infra.serverless_definition import workflow_yaml
    from local_run.serverless_run import put_ssm_variables, write_workflow
    from music_contract import names

    shutil.rmtree(bundle, ignore_errors=True)
    yaml_file, _ = write_workflow(stack, bundle)
    dag_id = names.DAG_ID + SERVERLESS_DAG_SUFFIX
    body = yaml.safe_load(yaml_file.read_text())[names.DAG_ID]
    yaml_file.write_text(workflow_yaml({dag_id: {**body, "dag_id": dag_id}}))
    (bundle / "serverless_workflow.py").write_text(SERVERLESS_LOADER)
    (bundle / ".airflowignore").write_text("code\n")
    put_ssm_variables(stack)
    return dag_id


def code_path(bundle: Path, environ: dict[str, str]) -> str:
    """``PYTHONPATH`` for the Airflow components: the bundle's unpacked code package first."""
    return os.pathsep.join(filter(None, [str(bundle / "code"), environ.get("PYTHONPATH", "")]))


def dag_bundles(serverless_bundle: Path) -> str:
    """``[dag_processor] dag_bundle_config_list``: the DAG folder (as MWAA gets it) and the workflow."""
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": LOCAL_DAG_BUNDLE, "kwargs": {}},
            {
                "name": SERVERLESS_BUNDLE,
                "classpath": LOCAL_DAG_BUNDLE,
                "kwargs": {"path": str(serverless_bundle)},
            },
        ]
    )
