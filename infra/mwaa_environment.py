"""The MWAA environment: its execution role, the Airflow variables and connection in SSM, the DAG,
plugins.zip and requirements.txt uploads, its owned log groups, and the ``AWS::MWAA::Environment``.
It runs in `infra/network.py`'s VPC."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Fn, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

import music_contract as contract
from infra.config import ConfigError, PipelineConfig, ResourceNames
from infra.log_groups import encrypted_log_group
from infra.nag import acknowledge, objects_of
from infra.network import Network
from infra.packaging import DAG_UPLOAD_EXCLUDES, dag_folder_bundle, python_packages, write_library_zip
from infra.pipeline_settings import airflow_variables, aws_connection, mwaa_airflow_configuration_options

DAGS_PREFIX = "dags"
REQUIREMENTS_PREFIX = "requirements"
PLUGINS_PREFIX = "plugins"
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
# What AWS's MWAA execution-role policy grants on the source bucket (mwaa-create-role.html).
MWAA_SOURCE_BUCKET_READ_ACTIONS = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]


@dataclass(frozen=True)
class MwaaEnvironmentProps:
    """What the environment runs, where, and what its DAG may touch."""

    # The environment: Airflow version, class, workers, webserver access, log retention.
    config: PipelineConfig
    # Resource names: the environment, its SSM prefix, its log groups.
    names: ResourceNames
    # Encrypts the environment, its log groups and (through the services) what it reads.
    key: kms.IKey
    # The network MWAA and the deployment Lambdas run in (private subnets, MWAA's security group).
    network: Network
    # The DAG's data: it lists raw files, writes manifests, archives processed files.
    data_bucket: s3.IBucket
    # MWAA's source bucket: dags/, requirements/ and plugins/ are uploaded there.
    source_bucket: s3.IBucket
    # The Glue job the DAG starts, follows and stops; its script's S3 URL becomes a variable.
    glue_job_name: str
    glue_job_arn: str
    glue_script_location: str
    # The alert topic the DAG's failure callback publishes to, and the topic's own key.
    alert_topic: sns.ITopic
    alert_key: kms.IKey
    # The folder uploaded to dags/ (pruned), and the packages uploaded beside its own (music_contract).
    dags_dir: Path
    dag_folder_packages: tuple[Path, ...]
    # The requirements.txt MWAA installs (its constraints must name ``airflow_version``).
    mwaa_requirements_file: Path
    # The folder whose packages become plugins.zip (the triggers the DAG defers to).
    plugins_dir: Path


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


class MwaaEnvironment(Construct):
    """Exposes ``role``, ``execution_policy``, ``environment`` (the CfnEnvironment), ``log_groups``,
    ``variable_parameters`` (contract variable name -> SSM parameter) and ``connection_parameter``."""

    def __init__(self, scope: Construct, construct_id: str, props: MwaaEnvironmentProps) -> None:
        super().__init__(scope, construct_id)
        self._build_parameters(props)
        self.role = self._build_execution_role(props)
        sources = self._upload_sources(props)
        self.log_groups = self._build_log_groups(props)
        self.environment = self._build_environment(props, sources)
        # MWAA parses DAGs, reads variables and writes logs as soon as it starts: upload, write
        # and grant first.
        self.environment.node.add_dependency(
            self.dags_deployment,
            self.plugins_deployment,
            self.execution_policy,
            self.connection_parameter,
            *self.variable_parameters.values(),
            *self.log_groups.values(),
        )
        self._acknowledge_findings(props)

    def _upload_sources(self, props: MwaaEnvironmentProps) -> dict[str, str]:
        """Upload dags/, requirements.txt and plugins.zip; the environment's S3 path properties."""
        config, network = props.config, props.network
        # Deployments run their Lambda in the VPC's private subnets (egress through the NAT).
        deploy_options = {
            "destination_bucket": props.source_bucket,
            "vpc": network.vpc,
            "vpc_subnets": network.private_subnets,
            "memory_limit": 512,
            "ephemeral_storage_size": Size.mebibytes(1024),
            "log_group": encrypted_log_group(
                self,
                "DeploymentLogs",
                key=props.key,
                retention_days=config.log_retention_days,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        }
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
            **deploy_options,
        )
        # requirements.txt and plugins.zip are copied as-is (extract=False), so each deployment can
        # report the S3 version id of the object it wrote; the environment pins that version, and a
        # changed file (new asset, new key and version) updates the environment on the next deploy.
        check_requirements_constraints(props.mwaa_requirements_file, config.airflow_version)
        self.requirements_deployment, requirements_key, requirements_version = self._pinned_upload(
            "Requirements", props.mwaa_requirements_file, REQUIREMENTS_PREFIX, deploy_options
        )
        # plugins.zip: the triggers the DAG defers to (MWAA's triggerer imports them from the plugins
        # folder, not from dags/). Built byte-for-byte reproducibly, so a deploy changes the object
        # (and restarts the environment) only when the code changed.
        plugins_zip = write_library_zip(python_packages(props.plugins_dir), name="mwaa-plugins")
        self.plugins_deployment, plugins_key, plugins_version = self._pinned_upload(
            "Plugins", plugins_zip, PLUGINS_PREFIX, deploy_options
        )
        return {
            "dag_s3_path": DAGS_PREFIX,
            "requirements_s3_path": requirements_key,
            "requirements_s3_object_version": requirements_version,
            "plugins_s3_path": plugins_key,
            "plugins_s3_object_version": plugins_version,
        }

    def _build_log_groups(self, props: MwaaEnvironmentProps) -> dict[str, logs.LogGroup]:
        """MWAA's log groups by log type (``task_logs``, ...), owned by the stack."""
        config, names = props.config, props.names
        # The stack owns MWAA's log groups (retention, key); MWAA writes to the existing groups
        # instead of creating unencrypted ones that never expire. Deleted with the stack: their
        # names are fixed, so a retained group would block the next create of this environment.
        return {
            log_type: encrypted_log_group(
                self,
                f"AirflowLogs{group_type}",
                key=props.key,
                retention_days=config.log_retention_days,
                removal_policy=RemovalPolicy.DESTROY,
                log_group_name=names.mwaa_log_group(group_type),
            )
            for log_type, group_type in MWAA_LOG_GROUP_TYPES.items()
        }

    def _build_environment(self, props: MwaaEnvironmentProps, sources: dict[str, str]) -> mwaa.CfnEnvironment:
        """The environment itself, reading ``sources`` (S3 paths and pinned object versions)."""
        config, names, network = props.config, props.names, props.network
        logging = mwaa.CfnEnvironment.LoggingConfigurationProperty(
            **{
                log_type: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                    enabled=True, log_level="INFO"
                )
                for log_type in MWAA_LOG_TYPES
            }
        )
        return mwaa.CfnEnvironment(
            self,
            "Environment",
            name=names.mwaa_environment,
            airflow_version=config.airflow_version,
            environment_class=config.mwaa_environment_class,
            min_workers=config.mwaa_min_workers,
            max_workers=config.mwaa_max_workers,
            webserver_access_mode=config.mwaa_webserver_access_mode,
            execution_role_arn=self.role.role_arn,
            kms_key=props.key.key_arn,
            source_bucket_arn=props.source_bucket.bucket_arn,
            **sources,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[network.security_group.security_group_id],
                subnet_ids=network.vpc.select_subnets(
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                ).subnet_ids,
            ),
            logging_configuration=logging,
            airflow_configuration_options=mwaa_airflow_configuration_options(names),
            weekly_maintenance_window_start="SUN:03:00",
        )

    def _pinned_upload(
        self, name: str, path: Path, prefix: str, deploy_options: dict
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
            **deploy_options,
        )
        # The asset key has no folder (default synthesizer), so its name is the deployed name.
        key = Fn.join("", [f"{prefix}/", Fn.select(0, deployment.object_keys)])
        return deployment, key, Fn.select(0, deployment.object_version_ids)

    def _build_parameters(self, props: MwaaEnvironmentProps) -> None:
        names = props.names
        values = airflow_variables(
            props.config,
            names,
            props.glue_job_name,
            glue_script_location=props.glue_script_location,
            alert_topic_arn=props.alert_topic.topic_arn,
        )
        self.variable_parameters: dict[str, ssm.StringParameter] = {
            variable: ssm.StringParameter(
                self,
                f"Variable-{variable}",
                parameter_name=f"{names.airflow_variables_prefix}/{variable}",
                string_value=value,
                description=f"Airflow Variable {variable} for {names.mwaa_environment}",
            )
            for variable, value in values.items()
        }
        self.connection_parameter = ssm.StringParameter(
            self,
            "AwsConnection",
            parameter_name=f"{names.airflow_connections_prefix}/{contract.AWS_CONN_ID}",
            string_value=json.dumps(aws_connection(Aws.REGION)),
            description=f"Airflow connection {contract.AWS_CONN_ID}: the execution role's credentials, no keys",
        )

    def _build_execution_role(self, props: MwaaEnvironmentProps) -> iam.Role:
        """MWAA's documented execution-role policy, scoped to this environment, plus the DAG's needs."""
        names = props.names
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        env_name = names.mwaa_environment
        environment_arn = f"arn:{Aws.PARTITION}:airflow:{region_account}:environment/{env_name}"
        # Confused-deputy conditions as MWAA's execution-role guide documents them (mwaa-create-role.html).
        trust_conditions = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": environment_arn},
        }
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com", conditions=trust_conditions),
                iam.ServicePrincipal("airflow-env.amazonaws.com", conditions=trust_conditions),
            ),
            description=f"{env_name}: MWAA execution role",
        )
        statements = [*self._mwaa_service_statements(props), *self._dag_statements(props)]
        # A customer-managed policy rather than an inline one (NIST IAMNoInlinePolicy).
        self.execution_policy = iam.ManagedPolicy(
            self, "ExecutionPolicy", statements=statements, roles=[role]
        )
        return role

    @staticmethod
    def _mwaa_service_statements(props: MwaaEnvironmentProps) -> list[iam.PolicyStatement]:
        """MWAA's documented execution-role policy (mwaa-create-role.html), scoped to this environment."""
        names = props.names
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        env_name = names.mwaa_environment
        return [
            iam.PolicyStatement(
                sid="PublishAirflowMetrics",
                actions=["airflow:PublishMetrics"],
                resources=[f"arn:{Aws.PARTITION}:airflow:{region_account}:environment/{env_name}"],
            ),
            iam.PolicyStatement(
                sid="ReadSourceBucket",
                # MWAA's documented execution-role policy, for this one bucket (mwaa-create-role.html).
                actions=MWAA_SOURCE_BUCKET_READ_ACTIONS,
                resources=[props.source_bucket.bucket_arn, props.source_bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="CheckPublicAccessBlock",
                actions=["s3:GetAccountPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
                resources=["*"],  # MWAA checks the account-level block, which has no bucket ARN
            ),
            iam.PolicyStatement(
                sid="WriteAirflowLogs",
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[f"arn:{Aws.PARTITION}:logs:{region_account}:log-group:airflow-{env_name}-*"],
            ),
            iam.PolicyStatement(
                sid="DescribeLogGroups",
                actions=["logs:DescribeLogGroups"],
                resources=["*"],  # a List action without resource-level permissions
            ),
            iam.PolicyStatement(
                sid="PublishMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # no resource type; scoped by namespace below
                conditions={"StringEquals": {"cloudwatch:namespace": ["AmazonMWAA", "AWS/MWAA"]}},
            ),
            iam.PolicyStatement(
                sid="UseCeleryQueue",
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                # MWAA owns the Celery queue in a service account; its name starts with airflow-celery-.
                resources=[f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:*:airflow-celery-*"],
            ),
            iam.PolicyStatement(
                sid="UseEnvironmentKeyThroughServices",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                resources=[props.key.key_arn, props.alert_key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"sqs.{Aws.REGION}.amazonaws.com",
                            f"s3.{Aws.REGION}.amazonaws.com",
                            f"sns.{Aws.REGION}.amazonaws.com",
                            f"ssm.{Aws.REGION}.amazonaws.com",
                        ]
                    }
                },
            ),
        ]

    @staticmethod
    def _dag_statements(props: MwaaEnvironmentProps) -> list[iam.PolicyStatement]:
        """What the DAG itself does: the data bucket, the Glue job, its secrets, its alerts."""
        names = props.names
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        return [
            # The DAG: read and archive the data bucket's objects, write manifests.
            iam.PolicyStatement(
                sid="ListDataBucket",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[props.data_bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadWriteDataObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[props.data_bucket.arn_for_objects("*")],
            ),
            # The DAG starts the CDK-owned Glue job, follows its run and stops it when the task is
            # killed; it never creates or changes the job.
            iam.PolicyStatement(
                sid="RunGlueJob",
                actions=[
                    "glue:GetJob",
                    "glue:StartJobRun",
                    "glue:GetJobRun",
                    "glue:GetJobRuns",
                    "glue:BatchStopJobRun",
                ],
                resources=[props.glue_job_arn],
            ),
            iam.PolicyStatement(
                sid="ReadAirflowSecrets",
                actions=["ssm:GetParameter", "ssm:GetParameters"],
                resources=[f"arn:{Aws.PARTITION}:ssm:{region_account}:parameter{names.ssm_prefix}/*"],
            ),
            iam.PolicyStatement(
                sid="PublishAlerts", actions=["sns:Publish"], resources=[props.alert_topic.topic_arn]
            ),
            # The per-run metrics (docs/DESIGN.md "Pipeline metrics"), to the pipeline's namespace only:
            # PutMetricData has no resource type; cloudwatch:namespace scopes it.
            iam.PolicyStatement(
                sid="PublishPipelineMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": contract.METRIC_NAMESPACE}},
            ),
        ]

    def _acknowledge_findings(self, props: MwaaEnvironmentProps) -> None:
        """The execution policy's wildcards cdk-nag reports, each with why it stays."""
        policy, names = self.execution_policy, props.names
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[{objects_of(props.data_bucket)}]",
            "The DAG lists reference and raw files, writes manifests and moves raw files to archived_data/; "
            "the keys are data-driven, so the grant covers the bucket's objects with explicit actions only.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[{objects_of(props.source_bucket)}]",
            "MWAA reads the DAG folder and requirements.txt from its source bucket (read-only actions).",
        )
        for action in MWAA_SOURCE_BUCKET_READ_ACTIONS:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[Action::{action}]",
                "AWS's documented MWAA execution-role policy grants s3:GetObject*, s3:GetBucket* and s3:List* "
                "on the source bucket; scoped to that one bucket and its objects.",
            )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            f"airflow-{names.mwaa_environment}-*]",
            "MWAA writes its five log types to log groups it names airflow-<environment>-<LogType>; scoped "
            "to this environment's prefix as the MWAA execution-role documentation prescribes.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:*:airflow-celery-*]",
            "The Celery queue lives in an MWAA-owned service account whose id is not known at deploy time; "
            "the queue name prefix airflow-celery- is the scope MWAA documents.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter"
            f"{names.ssm_prefix}/*]",
            "The SSM secrets backend looks up variables and connections by name under this environment's "
            "prefix; an absent name must return ParameterNotFound (a default), not AccessDenied.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "s3:GetAccountPublicAccessBlock, logs:DescribeLogGroups and cloudwatch:PutMetricData support no "
            "resource-level permissions; PutMetricData is limited to MWAA's namespaces by condition.",
        )
