"""The MWAA environment: the Airflow variables and connection it reads from SSM, its owned log groups,
and the ``AWS::MWAA::Environment``. Its execution role is `infra/mwaa_execution_role.py`'s, its DAG
folder, requirements.txt and plugins.zip `infra/mwaa_sources.py`'s; it runs in `infra/network.py`'s VPC."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IDependable

from infra.config import ResourceNames
from infra.log_groups import encrypted_log_group
from infra.mwaa_sources import MwaaSourceLocations
from infra.pipeline_settings import aws_connection, mwaa_airflow_configuration_options
from music_contract import names as contract_names

# The five Airflow log types MWAA can send to CloudWatch Logs, and the <Type> of the log group
# MWAA writes each to: airflow-<environment name>-<Type> (mwaa/latest/userguide/monitoring-airflow.html).
MWAA_LOG_GROUP_TYPES = {
    "dag_processing_logs": "DAGProcessing",
    "scheduler_logs": "Scheduler",
    "task_logs": "Task",
    "webserver_logs": "WebServer",
    "worker_logs": "Worker",
}
MWAA_LOG_TYPES = tuple(MWAA_LOG_GROUP_TYPES)


@dataclass(frozen=True)
class MwaaEnvironmentProps:
    """The environment's size and version, where it runs, and what it reads."""

    # Resource names: the environment, its SSM prefixes, its log groups.
    names: ResourceNames
    # The environment: Airflow version, class, workers, webserver access, log retention.
    airflow_version: str
    environment_class: str
    min_workers: int
    max_workers: int
    webserver_access_mode: str
    log_retention_days: int
    # Encrypts the environment and its log groups.
    key: kms.IKey
    # The role MWAA runs as (`infra/mwaa_execution_role.py`).
    execution_role: iam.IRole
    # MWAA's source bucket and where in it the uploads are (`infra/mwaa_sources.py`).
    source_bucket: s3.IBucket
    sources: MwaaSourceLocations
    # The private subnets MWAA runs in and its (self-referencing) security group.
    subnet_ids: Sequence[str]
    security_group: ec2.ISecurityGroup
    # The Airflow variables the DAG reads (contract name -> value), written to SSM.
    airflow_variables: Mapping[str, str]
    # What must be in place before MWAA starts: the uploads and the execution role's policy.
    start_after: tuple[IDependable, ...] = ()


class MwaaEnvironment(Construct):
    """Exposes ``environment`` (the CfnEnvironment), ``log_groups`` (log type -> group),
    ``variable_parameters`` (contract variable name -> SSM parameter) and ``connection_parameter``."""

    def __init__(self, scope: Construct, construct_id: str, props: MwaaEnvironmentProps) -> None:
        super().__init__(scope, construct_id)
        self._build_parameters(props)
        self.log_groups = self._build_log_groups(props)
        self.environment = self._build_environment(props)
        # MWAA parses DAGs, reads variables and writes logs as soon as it starts: upload, write
        # and grant first.
        self.environment.node.add_dependency(
            *props.start_after,
            self.connection_parameter,
            *self.variable_parameters.values(),
            *self.log_groups.values(),
        )

    def _build_parameters(self, props: MwaaEnvironmentProps) -> None:
        """The Airflow variables and the ``aws_conn`` connection, where the SSM secrets backend reads them."""
        names = props.names
        self.variable_parameters: dict[str, ssm.StringParameter] = {
            variable: ssm.StringParameter(
                self,
                f"Variable-{variable}",
                parameter_name=f"{names.airflow_variables_prefix}/{variable}",
                string_value=value,
                description=f"Airflow Variable {variable} for {names.mwaa_environment}",
            )
            for variable, value in props.airflow_variables.items()
        }
        self.connection_parameter = ssm.StringParameter(
            self,
            "AwsConnection",
            parameter_name=f"{names.airflow_connections_prefix}/{contract_names.AWS_CONN_ID}",
            string_value=json.dumps(aws_connection(Aws.REGION)),
            description=f"Airflow connection {contract_names.AWS_CONN_ID}: the execution role's credentials, no keys",
        )

    def _build_log_groups(self, props: MwaaEnvironmentProps) -> dict[str, logs.LogGroup]:
        """MWAA's log groups by log type (``task_logs``, ...), owned by the stack."""
        # The stack owns MWAA's log groups (retention, key); MWAA writes to the existing groups
        # instead of creating unencrypted ones that never expire. Deleted with the stack: their
        # names are fixed, so a retained group would block the next create of this environment.
        return {
            log_type: encrypted_log_group(
                self,
                f"AirflowLogs{group_type}",
                key=props.key,
                retention_days=props.log_retention_days,
                removal_policy=RemovalPolicy.DESTROY,
                log_group_name=props.names.mwaa_log_group(group_type),
            )
            for log_type, group_type in MWAA_LOG_GROUP_TYPES.items()
        }

    def _build_environment(self, props: MwaaEnvironmentProps) -> mwaa.CfnEnvironment:
        """The environment itself, reading its sources at their S3 paths and pinned object versions."""
        logging = mwaa.CfnEnvironment.LoggingConfigurationProperty(
            **{
                log_type: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                    enabled=True, log_level="INFO"
                )
                for log_type in MWAA_LOG_TYPES
            }
        )
        sources = props.sources
        return mwaa.CfnEnvironment(
            self,
            "Environment",
            name=props.names.mwaa_environment,
            airflow_version=props.airflow_version,
            environment_class=props.environment_class,
            min_workers=props.min_workers,
            max_workers=props.max_workers,
            webserver_access_mode=props.webserver_access_mode,
            execution_role_arn=props.execution_role.role_arn,
            kms_key=props.key.key_arn,
            source_bucket_arn=props.source_bucket.bucket_arn,
            dag_s3_path=sources.dag_s3_path,
            requirements_s3_path=sources.requirements_s3_path,
            requirements_s3_object_version=sources.requirements_s3_object_version,
            plugins_s3_path=sources.plugins_s3_path,
            plugins_s3_object_version=sources.plugins_s3_object_version,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[props.security_group.security_group_id],
                subnet_ids=list(props.subnet_ids),
            ),
            logging_configuration=logging,
            airflow_configuration_options=mwaa_airflow_configuration_options(props.names),
            weekly_maintenance_window_start="SUN:03:00",
        )
