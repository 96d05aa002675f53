"""The one stack: composes storage, KPI store, catalog, Glue job, alerting, network, MWAA,
monitoring and (with retained data) the failed-create cleanup, one construct per concern.

Environment-agnostic: no account or region is looked up at synth; names carry the
``AWS::AccountId``/``AWS::Region`` pseudo parameters, so one template deploys anywhere.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, CfnOutput, CfnResource, Stack, Tags
from constructs import Construct

from infra.alert_channels import AlertChannels, AlertChannelsProps
from infra.alerting import Alerting, AlertingProps
from infra.analytics import Analytics, AnalyticsProps
from infra.catalog import Catalog, CatalogProps
from infra.config import PROJECT, PipelineConfig, mwaa_constraints_file
from infra.failed_create_cleanup import FailedCreateCleanup, FailedCreateCleanupProps
from infra.glue_job import GlueJob, GlueJobProps
from infra.kpi_store import KpiStore, KpiStoreProps
from infra.monitoring import Monitoring, MonitoringProps
from infra.mwaa_environment import MwaaEnvironment, MwaaEnvironmentProps
from infra.mwaa_execution_role import MwaaExecutionRole, MwaaExecutionRoleProps
from infra.mwaa_sources import MwaaSources, MwaaSourcesProps
from infra.network import Network, NetworkProps
from infra.packaging import dag_folder_packages, glue_job_packages
from infra.pipeline_settings import airflow_variables
from infra.quicksight_dashboard import QuickSightDashboard, QuickSightDashboardProps
from infra.serverless_workflow import ServerlessWorkflow, ServerlessWorkflowProps
from infra.storage import Storage, StorageProps, retains_data

REPO_ROOT = Path(__file__).resolve().parents[1]
GLUE_SCRIPT = "compute_kpis.py"
MWAA_REQUIREMENTS = Path(__file__).resolve().parent / "mwaa" / "requirements.txt"
# CDK leaves a construct id of "Default" out of logical ids and construct addresses (made for
# refactoring: aws-cdk-lib's makeUniqueId and constructs' addressOf skip it). The constructs split
# out of the first layout's Catalog and Orchestration sit under "Default" at their former paths, so
# every resource keeps its logical id: a changed one would replace it (a named one would fail).
ID_LEFT_OUT_OF_LOGICAL_IDS = "Default"


def stack_tags(config: PipelineConfig) -> dict[str, str]:
    """The tags on the stack and on every resource in it."""
    return {"project": PROJECT, "environment": config.env_name}


class MusicStreamsStack(Stack):
    """The whole pipeline for one environment.

    :param config: the environment's configuration (``PipelineConfig.from_context``).
    :param source_root: the repository root holding ``dags/``, ``glue_scripts/`` and ``music_contract/`` (tests may
        point it elsewhere).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        source_root: Path = REPO_ROOT,
        **kwargs,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Music streaming KPI pipeline ({config.env_name}): S3, Glue, DynamoDB, MWAA",
            termination_protection=config.is_prod,
            # Stack tags (CloudFormation propagates them to every taggable resource, including
            # ones CDK cannot tag); explicit because @aws-cdk/core:explicitStackTags is on.
            tags=stack_tags(config),
            **kwargs,
        )
        self.config = config
        self.names = config.names(Aws.ACCOUNT_ID, Aws.REGION)
        # In dependency order: each construct takes values from the ones built before it.
        self.storage = self._build_storage(config)
        self.kpi_store = self._build_kpi_store(config)
        self.catalog = Catalog(
            self,
            "Catalog",
            CatalogProps(database_name=config.database_name, data_bucket=self.storage.data_bucket),
        )
        self.glue_job = self._build_glue_job(config, source_root)
        self.analytics = self._build_analytics(config)
        # Optional: only with a QuickSight principal (the account's one-time subscription done).
        self.quicksight = self._build_quicksight(config) if config.quicksight_principal_arn else None
        self.alerting = Alerting(
            self, "Alerting", AlertingProps(names=self.names, alert_email=config.alert_email)
        )
        self.alert_channels = self._build_alert_channels(config)
        self.serverless, self.network, self.mwaa = self._build_runtime(config, source_root)
        self.monitoring = self._build_monitoring(config)
        self.failed_create_cleanup = self._add_failed_create_cleanup()
        for key, value in stack_tags(config).items():
            Tags.of(self).add(key, value)
        self._add_outputs()

    def _build_storage(self, config: PipelineConfig) -> Storage:
        return Storage(
            self,
            "Storage",
            StorageProps(
                names=self.names,
                retain_data=retains_data(config),
                archive_transition_days=config.archive_transition_days,
                noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
                log_retention_days=config.log_retention_days,
            ),
        )

    def _build_kpi_store(self, config: PipelineConfig) -> KpiStore:
        return KpiStore(
            self,
            "KpiStore",
            KpiStoreProps(
                names=self.names,
                key=self.storage.key,
                removal_policy=self.storage.removal_policy,
                deletion_protection=config.is_prod,
            ),
        )

    def _build_glue_job(self, config: PipelineConfig, source_root: Path) -> GlueJob:
        return GlueJob(
            self.catalog,  # path Catalog/Default/...: the job's first-layout logical ids
            ID_LEFT_OUT_OF_LOGICAL_IDS,
            GlueJobProps(
                config=config,
                names=self.names,
                data_bucket=self.storage.data_bucket,
                kpi_table=self.kpi_store.table,
                key=self.storage.key,
                script_path=source_root / "glue_scripts" / GLUE_SCRIPT,
                library_packages=glue_job_packages(source_root),
            ),
        )

    def _build_analytics(self, config: PipelineConfig) -> Analytics:
        return Analytics(
            self,
            "Analytics",
            AnalyticsProps(
                names=self.names,
                database_name=config.database_name,
                scan_limit_mb=config.athena_scan_limit_mb,
                data_bucket=self.storage.data_bucket,
                key=self.storage.key,
                database=self.catalog.database,
            ),
        )

    def _build_quicksight(self, config: PipelineConfig) -> QuickSightDashboard:
        return QuickSightDashboard(
            self,
            "QuickSight",
            QuickSightDashboardProps(
                names=self.names,
                principal_arn=config.quicksight_principal_arn,
                database_name=config.database_name,
                workgroup_name=self.analytics.workgroup.ref,
                reader_policy=self.analytics.reader_policy,
            ),
        )

    def _build_alert_channels(self, config: PipelineConfig) -> AlertChannels:
        return AlertChannels(
            self,
            "AlertChannels",
            AlertChannelsProps(
                names=self.names,
                topic=self.alerting.topic,
                slack_workspace_id=config.slack_workspace_id,
                slack_channel_id=config.slack_channel_id,
                teams_tenant_id=config.teams_tenant_id,
                teams_team_id=config.teams_team_id,
                teams_channel_id=config.teams_channel_id,
                incident_webhook_url=config.incident_webhook_url,
            ),
        )

    def _build_monitoring(self, config: PipelineConfig) -> Monitoring:
        return Monitoring(
            self,
            "Monitoring",
            MonitoringProps(
                names=self.names,
                topic=self.alerting.topic,
                glue_job_name=self.glue_job.job_name,
                kpi_table=self.kpi_store.table,
                mwaa_environment_name=self.names.mwaa_environment,
                mwaa_environment=self.mwaa and self.mwaa.environment,
                freshness_alarm_hours=config.freshness_alarm_hours,
            ),
        )

    def _build_orchestration(
        self, config: PipelineConfig, source_root: Path
    ) -> tuple[Network, MwaaEnvironment]:
        """The network and the MWAA environment in it, with what the DAG works with."""
        # Both were one "Orchestration" construct: the network keeps its path, MWAA sits below it.
        network = Network(
            Construct(self, "Orchestration"),
            ID_LEFT_OUT_OF_LOGICAL_IDS,
            NetworkProps(
                names=self.names,
                vpc_cidr=config.vpc_cidr,
                nat_gateways=config.nat_gateways,
                log_retention_days=config.log_retention_days,
                key=self.storage.key,
                removal_policy=self.storage.removal_policy,
            ),
        )
        # The three MWAA constructs were one, at Orchestration/Default/Default: one below the other,
        # each with the id "Default" (a scope holds one), every resource keeps its path and logical id.
        self.mwaa_execution_role = MwaaExecutionRole(
            network, ID_LEFT_OUT_OF_LOGICAL_IDS, self._mwaa_execution_role_props()
        )
        self.mwaa_sources = MwaaSources(
            self.mwaa_execution_role,
            ID_LEFT_OUT_OF_LOGICAL_IDS,
            self._mwaa_sources_props(network, source_root),
        )
        mwaa = MwaaEnvironment(
            self.mwaa_sources, ID_LEFT_OUT_OF_LOGICAL_IDS, self._mwaa_environment_props(network)
        )
        return network, mwaa

    def _mwaa_execution_role_props(self) -> MwaaExecutionRoleProps:
        return MwaaExecutionRoleProps(
            environment_name=self.names.mwaa_environment,
            ssm_prefix=self.names.ssm_prefix,
            key=self.storage.key,
            source_bucket=self.storage.mwaa_source_bucket,
            data_bucket=self.storage.data_bucket,
            glue_job_arn=self.glue_job.job_arn,
            alert_topic_arn=self.alerting.topic.topic_arn,
            alert_key=self.alerting.key,
        )

    def _mwaa_sources_props(self, network: Network, source_root: Path) -> MwaaSourcesProps:
        return MwaaSourcesProps(
            source_bucket=self.storage.mwaa_source_bucket,
            vpc=network.vpc,
            subnets=network.private_subnets,
            key=self.storage.key,
            log_retention_days=self.config.log_retention_days,
            dags_dir=source_root / "dags",
            dag_folder_packages=dag_folder_packages(source_root),
            requirements_file=MWAA_REQUIREMENTS,
            constraints_file=mwaa_constraints_file(self.config.airflow_version),
            airflow_version=self.config.airflow_version,
            plugins_dir=source_root / "plugins",
        )

    def _mwaa_environment_props(self, network: Network) -> MwaaEnvironmentProps:
        config = self.config
        return MwaaEnvironmentProps(
            names=self.names,
            airflow_version=config.airflow_version,
            environment_class=config.mwaa_environment_class,
            min_workers=config.mwaa_min_workers,
            max_workers=config.mwaa_max_workers,
            webserver_access_mode=config.mwaa_webserver_access_mode,
            log_retention_days=config.log_retention_days,
            key=self.storage.key,
            execution_role=self.mwaa_execution_role.role,
            source_bucket=self.storage.mwaa_source_bucket,
            sources=self.mwaa_sources.locations,
            subnet_ids=[subnet.subnet_id for subnet in network.vpc.private_subnets],
            security_group=network.security_group,
            airflow_variables=airflow_variables(
                config,
                self.names,
                self.glue_job.job_name,
                glue_script_location=self.glue_job.script_location,
                alert_topic_arn=self.alerting.topic.topic_arn,
            ),
            start_after=(*self.mwaa_sources.deployments, self.mwaa_execution_role.policy),
        )

    def _build_runtime(
        self, config: PipelineConfig, source_root: Path
    ) -> tuple[ServerlessWorkflow | None, Network | None, MwaaEnvironment | None]:
        """orchestration=serverless: an MWAA Serverless workflow instead of the network and MWAA."""
        if config.is_serverless:
            return self._build_serverless(config, source_root), None, None
        return (None, *self._build_orchestration(config, source_root))

    def _build_serverless(self, config: PipelineConfig, source_root: Path) -> ServerlessWorkflow:
        return ServerlessWorkflow(
            self,
            "ServerlessWorkflow",
            ServerlessWorkflowProps(
                config=config,
                names=self.names,
                key=self.storage.key,
                data_bucket=self.storage.data_bucket,
                source_bucket=self.storage.mwaa_source_bucket,
                glue_job_name=self.glue_job.job_name,
                glue_job_arn=self.glue_job.job_arn,
                glue_script_location=self.glue_job.script_location,
                alert_topic=self.alerting.topic,
                alert_key=self.alerting.key,
                source_root=source_root,
            ),
        )

    def _add_failed_create_cleanup(self) -> FailedCreateCleanup | None:
        """With retained data, let a failed first create roll back (infra/failed_create_cleanup.py)."""
        if not self.storage.retain_data:
            return None  # dev: auto-deleted buckets and unprotected table roll back on their own
        cleanup = FailedCreateCleanup(
            self,
            "FailedCreateCleanup",
            FailedCreateCleanupProps(
                buckets=self.storage.deleted_buckets,
                tables=(self.kpi_store.table,),
                key=self.storage.key,
                log_retention_days=self.config.log_retention_days,
            ),
        )
        # Everything outside the data stores is created after the cleanup exists and deleted before
        # it runs: a resource that fails before it (a Chatbot channel, the QuickSight data source, the
        # Glue job) would otherwise roll back into the still-protected table (ROLLBACK_FAILED), and the
        # writers to the buckets (the uploads, MWAA) must be gone before it empties them.
        data_stores = {self.storage, self.kpi_store, cleanup}
        for child in self.node.children:
            if child not in data_stores and any(isinstance(c, CfnResource) for c in child.node.find_all()):
                child.node.add_dependency(cleanup.resource)
        # In the data stores, what the cleanup does not need: the bucket policies and the key's alias.
        for bucket in self.storage.buckets:
            bucket.policy.node.add_dependency(cleanup.resource)
        self.storage.key.node.find_child("Alias").node.add_dependency(cleanup.resource)
        return cleanup

    def _add_outputs(self) -> None:
        outputs = {
            "OrchestrationMode": (
                self.config.orchestration,
                "provisioned (MWAA environment) or serverless (MWAA Serverless)",
            ),
            "DataBucketName": (self.storage.data_bucket.bucket_name, "Data bucket (docs/DESIGN.md layout)"),
            "MwaaSourceBucketName": (
                self.storage.mwaa_source_bucket.bucket_name,
                "MWAA DAGs and requirements",
            ),
            "AccessLogsBucketName": (self.storage.access_logs_bucket.bucket_name, "S3 server access logs"),
            "KpiTableName": (self.kpi_store.table.table_name, "DynamoDB table with the KPIs"),
            "GlueDatabaseName": (self.config.database_name, "Glue database of the curated tables"),
            "GlueJobName": (self.glue_job.job_name, "Glue job the DAG starts"),
            "AlertTopicArn": (self.alerting.topic.topic_arn, "SNS topic for alarms and Glue failures"),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
            "AthenaWorkGroupName": (self.analytics.workgroup.ref, "Athena workgroup with the saved queries"),
        }
        if self.mwaa:
            outputs["MwaaEnvironmentName"] = (self.mwaa.environment.ref, "MWAA environment")
            outputs["MwaaWebserverUrl"] = (
                self.mwaa.environment.attr_webserver_url,
                "Airflow UI host (open it from the MWAA console)",
            )
        if self.serverless:
            outputs["ServerlessWorkflowArn"] = (self.serverless.workflow_arn, "MWAA Serverless workflow")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
