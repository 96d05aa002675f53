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
    # The requirements.txt MWAA installs; its constraints must name ``airflow_version``.
    requirements_file: Path
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


def check_requirements_constraints(requirements_file: Path, airflow_version: str) -> None:
    """Refuse an MWAA requirements file whose Airflow constraints are not the environment's version.

    MWAA installs the file against the constraints it names; constraints of another Airflow
    version would let pip pick provider versions that Airflow release was never tested with.
    """
    text = requirements_file.read_text()
    found = re.findall(r"constraints-(\d+\.\d+\.\d+)/", text)
    if found != [airflow_version]:
        raise ConfigError(
            f"{requirements_file}: its --constraint line must name Airflow {airflow_version} "
            f"(airflow_version), found {found or 'no constraints line'}"
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
        check_requirements_constraints(props.requirements_file, props.airflow_version)
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
