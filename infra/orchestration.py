"""Orchestration: the VPC, the MWAA execution role, the Airflow variables and connection in SSM,
the DAG, plugins.zip and requirements.txt upload, and the ``AWS::MWAA::Environment`` itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Fn, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.config import ConfigError, PipelineConfig, ResourceNames
from infra.log_groups import encrypted_log_group
from infra.packaging import DAG_UPLOAD_EXCLUDES, python_packages, write_library_zip
from infra.pipeline_settings import airflow_variables, aws_connection, mwaa_airflow_configuration_options
from music_pipeline import contract

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
class OrchestrationProps:
    """``source_bucket``: MWAA's DAG/requirements bucket; ``data_bucket``, ``glue_job_*``,
    ``alert_topic``: what the DAG works with (and the execution role may touch); ``dags_dir``: the
    folder uploaded to ``dags/``; ``mwaa_requirements_file``: the requirements.txt MWAA installs;
    ``plugins_dir``: the folder whose packages become ``plugins.zip`` (the triggers)."""

    config: PipelineConfig
    names: ResourceNames
    key: kms.IKey
    data_bucket: s3.IBucket
    source_bucket: s3.IBucket
    glue_job_name: str
    glue_job_arn: str
    glue_script_location: str
    alert_topic: sns.ITopic
    # The alert topic's own key: the DAG's failure callback publishes to the encrypted topic.
    alert_key: kms.IKey
    removal_policy: RemovalPolicy
    dags_dir: Path
    mwaa_requirements_file: Path
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


class Orchestration(Construct):
    """Exposes ``vpc``, ``security_group``, ``role``, ``environment`` (the CfnEnvironment),
    ``variable_parameters`` (contract variable name -> SSM parameter) and ``connection_parameter``."""

    def __init__(self, scope: Construct, construct_id: str, props: OrchestrationProps) -> None:
        super().__init__(scope, construct_id)
        config, names = props.config, props.names
        self._build_network(props)
        self._build_parameters(props)
        self.role = self._build_execution_role(props)

        # Deployments run their Lambda in the VPC's private subnets (egress through the NAT).
        deploy_options = {
            "destination_bucket": props.source_bucket,
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
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
            sources=[s3deploy.Source.asset(str(props.dags_dir), exclude=list(DAG_UPLOAD_EXCLUDES))],
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

        # The stack owns MWAA's log groups (retention, key); MWAA writes to the existing groups
        # instead of creating unencrypted ones that never expire. Deleted with the stack: their
        # names are fixed, so a retained group would block the next create of this environment.
        self.log_groups = {
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
        logging = mwaa.CfnEnvironment.LoggingConfigurationProperty(
            **{
                log_type: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                    enabled=True, log_level="INFO"
                )
                for log_type in MWAA_LOG_TYPES
            }
        )
        self.environment = mwaa.CfnEnvironment(
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
            dag_s3_path=DAGS_PREFIX,
            requirements_s3_path=requirements_key,
            requirements_s3_object_version=requirements_version,
            plugins_s3_path=plugins_key,
            plugins_s3_object_version=plugins_version,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                security_group_ids=[self.security_group.security_group_id],
                subnet_ids=self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids,
            ),
            logging_configuration=logging,
            airflow_configuration_options=mwaa_airflow_configuration_options(names),
            weekly_maintenance_window_start="SUN:03:00",
        )
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

    def _build_network(self, props: OrchestrationProps) -> None:
        config = props.config
        # Without an env, the stack spreads over the first two AZs of the region (Fn::GetAZs).
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                # Holds only the NAT gateways; nothing there gets a public IP by itself.
                ec2.SubnetConfiguration(
                    name="public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
        )
        # S3 (DAGs, requirements, data) stays off the NAT gateway: the gateway endpoint is free.
        self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
        )
        flow_logs = encrypted_log_group(
            self,
            "FlowLogs",
            key=props.key,
            retention_days=config.log_retention_days,
            removal_policy=props.removal_policy,
        )
        # Confused-deputy conditions as the VPC Flow Logs guide documents them (flow-logs-iam-role.html).
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}:vpc-flow-log/*"
                    },
                },
            ),
        )
        iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            roles=[flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[flow_logs.log_group_arn],
                )
            ],
        )
        # The role is immutable to CDK, so the flow log adds no inline policy of its own.
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                flow_logs, flow_log_role.without_policy_updates()
            ),
        )
        # MWAA's components (scheduler, workers, webserver, its VPC endpoints) talk to each other.
        self.security_group = ec2.SecurityGroup(
            self,
            "MwaaSecurityGroup",
            vpc=self.vpc,
            description=f"{props.names.mwaa_environment}: MWAA components, self-referencing",
            allow_all_outbound=True,
        )
        # MWAA needs HTTPS (webserver, its VPC endpoints) and PostgreSQL (metadata database).
        for port, purpose in ((443, "HTTPS"), (5432, "metadata database")):
            self.security_group.add_ingress_rule(
                self.security_group, ec2.Port.tcp(port), f"MWAA components: {purpose}"
            )

    def _build_parameters(self, props: OrchestrationProps) -> None:
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

    def _build_execution_role(self, props: OrchestrationProps) -> iam.Role:
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
        statements = [
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
        ]
        # A customer-managed policy rather than an inline one (NIST IAMNoInlinePolicy).
        self.execution_policy = iam.ManagedPolicy(
            self, "ExecutionPolicy", statements=statements, roles=[role]
        )
        return role
