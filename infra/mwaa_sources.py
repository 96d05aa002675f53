"""What MWAA reads from its source bucket: the DAG folder (``dags/``, pruned), ``requirements.txt`` and
``plugins.zip``, each uploaded by a BucketDeployment that runs in the VPC's private subnets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Fn, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import ConfigError
from infra.log_groups import encrypted_log_group
from infra.packaging import DAG_UPLOAD_EXCLUDES, dag_folder_bundle, python_packages, write_library_zip

DAGS_PREFIX = "dags"
REQUIREMENTS_PREFIX = "requirements"
PLUGINS_PREFIX = "plugins"


@dataclass(frozen=True)
class MwaaSourcesProps:
    """What is uploaded, where to, and where the uploading Lambda runs."""

    # MWAA's source bucket: dags/, requirements/ and plugins/ are uploaded there.
    source_bucket: s3.IBucket
    # The deployment Lambda runs in the VPC's private subnets (egress through the NAT).
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    # Encrypts the deployments' log group; kept this many days.
    key: kms.IKey
    log_retention_days: int
    # The folder uploaded to dags/ (pruned), and the packages uploaded beside its own (music_contract).
    dags_dir: Path
    dag_folder_packages: tuple[Path, ...]
    # The requirements.txt MWAA installs (`check_requirements_constraints`).
    requirements_file: Path
    # The repository's copy of Airflow ``airflow_version``'s constraints, which MWAA's image applies.
    constraints_file: Path
    airflow_version: str
    # The folder whose packages become plugins.zip (the triggers the DAG defers to).
    plugins_dir: Path


@dataclass(frozen=True)
class MwaaSourceLocations:
    """Where the environment finds its sources: the S3 paths (and pinned object versions) of
    ``AWS::MWAA::Environment``."""

    dag_s3_path: str
    requirements_s3_path: str
    requirements_s3_object_version: str
    plugins_s3_path: str
    plugins_s3_object_version: str


# MWAA's image sets AIRFLOW_CONSTRAINTS_FILE to its copy of its Airflow version's constraints
# (aws/amazon-mwaa-docker-images, images/airflow/3.3.1/Dockerfiles/Dockerfile.base), and pip expands
# ``${VAR}`` in a requirements file (pip, "Requirements File Format", environment variables).
IMAGE_CONSTRAINTS_LINE = '--constraint "${AIRFLOW_CONSTRAINTS_FILE}"'
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)", flags=re.M)


def _pins(text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements or constraints text, by normalised name."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in _PIN.findall(text)}


def check_requirements_constraints(
    requirements_file: Path, airflow_version: str, constraints_file: Path
) -> None:
    """Refuse an MWAA requirements file that MWAA could not install offline or against its constraints.

    - Its constraint line must be `IMAGE_CONSTRAINTS_LINE`. Every MWAA component installs the file at
      every start (the image's ``mwaa/utils/user_requirements.py``): a constraints URL is a download
      each time, and a private web server cannot reach one ("When you create an environment with
      private web server access, you must package all of your dependencies", MWAA user guide,
      configuring-networking.html). With the image's file and every package already in the image,
      pip installs nothing and reads no index.
    - `constraints_file`, the repository's copy of those constraints (``make lock`` resolves
      against it), must be Airflow `airflow_version`'s, and every ``name==version`` pin of the
      requirements must be its version: another would fail MWAA's install.
    """
    text = requirements_file.read_text()
    lines = [line.strip() for line in text.splitlines() if re.match(r"\s*(-c|--constraint)\b", line)]
    if lines != [IMAGE_CONSTRAINTS_LINE]:
        raise ConfigError(
            f"{requirements_file}: its one constraint line must be {IMAGE_CONSTRAINTS_LINE} (the MWAA "
            f"image's constraints, read without a download), found {lines or 'none'}"
        )
    if not constraints_file.is_file():
        raise ConfigError(f"airflow_version {airflow_version}: no constraints copy {constraints_file}")
    constraints = constraints_file.read_text()
    source = re.search(r"constraints-(\d+\.\d+\.\d+)/", constraints)
    if source is None or source.group(1) != airflow_version:
        raise ConfigError(
            f"{constraints_file}: not the constraints of Airflow {airflow_version} (airflow_version)"
        )
    allowed = _pins(constraints)
    wrong = {name: version for name, version in _pins(text).items() if allowed.get(name, version) != version}
    if wrong:
        raise ConfigError(
            f"{requirements_file}: pins that Airflow {airflow_version}'s constraints refuse "
            f"({constraints_file.name}): {', '.join(f'{n}=={v} (constraint {allowed[n]})' for n, v in wrong.items())}"
        )


def _deploy_options(scope: Construct, props: MwaaSourcesProps) -> dict:
    """What every upload shares: the bucket, the Lambda's VPC, size and (encrypted) log group."""
    return {
        "destination_bucket": props.source_bucket,
        "vpc": props.vpc,
        "vpc_subnets": props.subnets,
        "memory_limit": 512,
        "ephemeral_storage_size": Size.mebibytes(1024),
        "log_group": encrypted_log_group(
            scope,
            "DeploymentLogs",
            key=props.key,
            retention_days=props.log_retention_days,
            removal_policy=RemovalPolicy.DESTROY,
        ),
    }


class MwaaSources(Construct):
    """Exposes ``locations`` (`MwaaSourceLocations`) and the ``dags_deployment``,
    ``requirements_deployment`` and ``plugins_deployment``; ``deployments`` holds all three."""

    def __init__(self, scope: Construct, construct_id: str, props: MwaaSourcesProps) -> None:
        super().__init__(scope, construct_id)
        check_requirements_constraints(props.requirements_file, props.airflow_version, props.constraints_file)
        self._deploy_options = _deploy_options(self, props)
        self.dags_deployment = s3deploy.BucketDeployment(
            self,
            "DagsDeployment",
            sources=[
                s3deploy.Source.asset(
                    str(dag_folder_bundle(props.dags_dir, props.dag_folder_packages)),
                    exclude=list(DAG_UPLOAD_EXCLUDES),
                )
            ],
            destination_key_prefix=f"{DAGS_PREFIX}/",
            prune=True,  # a DAG deleted locally disappears from MWAA too
            **self._deploy_options,
        )
        # requirements.txt and plugins.zip are copied as-is (extract=False), so each deployment can
        # report the S3 version id of the object it wrote; the environment pins that version, and a
        # changed file (new asset, new key and version) updates the environment on the next deploy.
        self.requirements_deployment, requirements_key, requirements_version = self._pinned_upload(
            "Requirements", props.requirements_file, REQUIREMENTS_PREFIX
        )
        # plugins.zip: the triggers the DAG defers to (MWAA's triggerer imports them from the plugins
        # folder, not from dags/). Built byte-for-byte reproducibly, so a deploy changes the object
        # (and restarts the environment) only when the code changed.
        plugins_zip = write_library_zip(python_packages(props.plugins_dir), name="mwaa-plugins")
        self.plugins_deployment, plugins_key, plugins_version = self._pinned_upload(
            "Plugins", plugins_zip, PLUGINS_PREFIX
        )
        self.deployments = (self.dags_deployment, self.requirements_deployment, self.plugins_deployment)
        self.locations = MwaaSourceLocations(
            dag_s3_path=DAGS_PREFIX,
            requirements_s3_path=requirements_key,
            requirements_s3_object_version=requirements_version,
            plugins_s3_path=plugins_key,
            plugins_s3_object_version=plugins_version,
        )

    def _pinned_upload(
        self, name: str, path: Path, prefix: str
    ) -> tuple[s3deploy.BucketDeployment, str, str]:
        """Upload one file unextracted under `prefix`/; the deployment, the key and S3 version it wrote."""
        asset = s3_assets.Asset(self, f"Mwaa{name}", path=str(path))
        deployment = s3deploy.BucketDeployment(
            self,
            f"{name}Deployment",
            sources=[s3deploy.Source.bucket(asset.bucket, asset.s3_object_key)],
            destination_key_prefix=f"{prefix}/",
            extract=False,
            prune=False,  # keep earlier versions' objects: a rollback must still find them
            **self._deploy_options,
        )
        # The asset key has no folder (default synthesizer), so its name is the deployed name.
        key = Fn.join("", [f"{prefix}/", Fn.select(0, deployment.object_keys)])
        return deployment, key, Fn.select(0, deployment.object_version_ids)
