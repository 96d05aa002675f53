"""The MWAA Serverless workflow (``orchestration: serverless``): the definition YAML and the code
package uploaded and pinned by S3 object version, the Variables in SSM, the execution role, a
stack-owned encrypted log group, the ``AWS::MWAAServerless::Workflow`` and the rule that sends a
failed or timed-out run to the alert topic. No VPC: the tasks call AWS APIs only.

Sources (MWAA Serverless user guide, docs.aws.amazon.com/mwaa/latest/mwaa-serverless-userguide/):
"Execution roles" (get-started-execution-role.html: one role per workflow, trusted by the service,
CloudWatch Logs to the customer's log group and KMS for the chosen key; the encryption choice is fixed
for an existing workflow); "Running custom code" (custom-code-operators.html: ``Code.S3Location``, a zip
whose root is importable). Run-status events: EventBridge events reference, "Amazon MWAA Serverless
events" (docs.aws.amazon.com/eventbridge/latest/ref/events-ref-airflow-serverless.html: source
``aws.airflow-serverless``, "MWAA Serverless Workflow Run Failed" / "... Timeout", durable delivery).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Fn, RemovalPolicy, Size
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_mwaaserverless as mwaaserverless
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.alerting import TopicTarget
from infra.config import PipelineConfig, ResourceNames
from infra.log_groups import encrypted_log_group
from infra.nag import acknowledge, objects_of
from infra.packaging import BUILD_DIR, serverless_code_packages, write_library_zip
from infra.pipeline_settings import airflow_variables
from infra.pipeline_task_permissions import alert_and_metric_statements, data_and_glue_statements
from infra.serverless_definition import workflow_definition, workflow_yaml
from music_contract import names as contract_names
from music_contract.alerts import EVENT_WORKFLOW_RUN_FAILED, chatbot_notification

WORKFLOW_PREFIX = "serverless"
SERVICE_PRINCIPAL = "airflow-serverless.amazonaws.com"
RUN_FAILURE_DETAIL_TYPES = ("MWAA Serverless Workflow Run Failed", "MWAA Serverless Workflow Run Timeout")


@dataclass(frozen=True)
class ServerlessWorkflowProps:
    """What the workflow works with."""

    config: PipelineConfig
    names: ResourceNames
    # The stack key: the uploads, the log group, the workflow's own data.
    key: kms.IKey
    data_bucket: s3.IBucket
    # Versioned bucket the definition and the code package are uploaded to.
    source_bucket: s3.IBucket
    glue_job_name: str
    glue_job_arn: str
    glue_script_location: str
    alert_topic: sns.ITopic
    alert_key: kms.IKey
    source_root: Path


def write_definition_file(text: str, build_dir: Path | None = None) -> Path:
    """The YAML in a content-addressed file (the asset, and so the object version, change with it)."""
    target_dir = build_dir or BUILD_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"workflow-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not target.exists():
        target.write_text(text)
    return target


def workflow_failure_message(names: ResourceNames) -> events.RuleTargetInput:
    """A failed or timed-out workflow run as the contract's Chatbot notification
    (`music_contract.alerts`). The run id is read from the event's ``detail``."""
    field = events.EventField.from_path
    run_id = field("$.detail.runId")
    detail_type = field("$.detail-type")
    title = f"[{names.env_name}] {detail_type}: {names.serverless_workflow}"
    return events.RuleTargetInput.from_object(
        chatbot_notification(
            notification_id=field("$.id"),
            title=title,
            description=f"Workflow `{names.serverless_workflow}` run `{run_id}`: {detail_type}",
            next_steps=[
                f"Task logs: CloudWatch log group {names.serverless_log_group}",
                f"aws mwaa-serverless get-workflow-run --workflow-arn <WorkflowArn output> --run-id {run_id}",
            ],
            keywords=[names.env_name, "airflow-serverless"],
            summary=f"[{names.env_name}] {names.serverless_workflow} run failed",
            event_type=EVENT_WORKFLOW_RUN_FAILED,
            related_resources=[field("$.resources[0]")],
            additional_context={"environment": names.env_name, "dagRunId": run_id},
        )
    )


class ServerlessWorkflow(Construct):
    """``workflow`` (the CfnWorkflow), ``role``, ``log_group``, ``failure_rule``, ``definition``."""

    def __init__(self, scope: Construct, construct_id: str, props: ServerlessWorkflowProps) -> None:
        super().__init__(scope, construct_id)
        config, names = props.config, props.names
        self.definition = workflow_definition(
            variables_prefix=names.airflow_variables_prefix,
            glue_job_name=names.glue_job,
            glue_timeout_minutes=config.glue_timeout_minutes,
            schedule=config.schedule or None,
        )
        self.variable_parameters = self._build_parameters(props)
        self.log_group = encrypted_log_group(
            self,
            "WorkflowLogs",
            key=props.key,
            retention_days=config.log_retention_days,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
            log_group_name=names.serverless_log_group,
        )
        definition_key, definition_version = self._pinned_upload(
            props, "Definition", write_definition_file(workflow_yaml(self.definition))
        )
        code_key, code_version = self._pinned_upload(
            props,
            "Code",
            write_library_zip(serverless_code_packages(props.source_root), name="serverless-code"),
        )
        self.role = self._build_role(props)
        self.workflow = self._build_workflow(
            props, (definition_key, definition_version), (code_key, code_version)
        )
        self.workflow.node.add_dependency(self.role)
        self.failure_rule = self._failure_rule(props)

    def _build_workflow(
        self, props: ServerlessWorkflowProps, definition: tuple[str, str], code: tuple[str, str]
    ) -> mwaaserverless.CfnWorkflow:
        """The workflow on its definition and code package, each (key, S3 version id)."""
        names = props.names
        definition_key, definition_version = definition
        code_key, code_version = code
        return mwaaserverless.CfnWorkflow(
            self,
            "Workflow",
            name=names.serverless_workflow,
            description=f"{contract_names.DAG_ID} ({names.env_name}): music/genre KPIs",
            role_arn=self.role.role_arn,
            definition_s3_location=mwaaserverless.CfnWorkflow.S3LocationProperty(
                bucket=props.source_bucket.bucket_name,
                object_key=definition_key,
                version_id=definition_version,
            ),
            code=mwaaserverless.CfnWorkflow.CodeProperty(
                s3_location=mwaaserverless.CfnWorkflow.CodeS3LocationProperty(
                    bucket=props.source_bucket.bucket_name, object_key=code_key, version_id=code_version
                )
            ),
            encryption_configuration=mwaaserverless.CfnWorkflow.EncryptionConfigurationProperty(
                type="CUSTOMER_MANAGED_KEY", kms_key_id=props.key.key_arn
            ),
            logging_configuration=mwaaserverless.CfnWorkflow.LoggingConfigurationProperty(
                log_group_name=self.log_group.log_group_name
            ),
        )

    @property
    def workflow_arn(self) -> str:
        return self.workflow.attr_workflow_arn

    def _build_parameters(self, props: ServerlessWorkflowProps) -> dict[str, ssm.StringParameter]:
        """The Variables the tasks read (`variables.from_ssm`), the same parameters as provisioned."""
        names = props.names
        values = airflow_variables(
            props.config,
            names,
            props.glue_job_name,
            glue_script_location=props.glue_script_location,
            alert_topic_arn=props.alert_topic.topic_arn,
        )
        return {
            variable: ssm.StringParameter(
                self,
                f"Variable-{variable}",
                parameter_name=f"{names.airflow_variables_prefix}/{variable}",
                string_value=value,
                description=f"Airflow Variable {variable} for {names.serverless_workflow}",
            )
            for variable, value in values.items()
        }

    def _pinned_upload(self, props: ServerlessWorkflowProps, name: str, path: Path) -> tuple[str, str]:
        """Upload one file unextracted under ``serverless/``; its key and the S3 version it wrote."""
        asset = s3_assets.Asset(self, f"{name}Asset", path=str(path))
        deployment = s3deploy.BucketDeployment(
            self,
            f"{name}Deployment",
            sources=[s3deploy.Source.bucket(asset.bucket, asset.s3_object_key)],
            destination_bucket=props.source_bucket,
            destination_key_prefix=f"{WORKFLOW_PREFIX}/",
            extract=False,
            prune=False,  # keep earlier versions' objects: a rollback must still find them
            memory_limit=512,
            ephemeral_storage_size=Size.mebibytes(1024),
            log_group=encrypted_log_group(
                self,
                f"{name}DeploymentLogs",
                key=props.key,
                retention_days=props.config.log_retention_days,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        key = Fn.join("", [f"{WORKFLOW_PREFIX}/", Fn.select(0, deployment.object_keys)])
        return key, Fn.select(0, deployment.object_version_ids)

    def _build_role(self, props: ServerlessWorkflowProps) -> iam.Role:
        names = props.names
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        workflow_arn = (
            f"arn:{Aws.PARTITION}:airflow-serverless:{region_account}:workflow/{names.serverless_workflow}*"
        )
        role = iam.Role(
            self,
            "ExecutionRole",
            description=f"MWAA Serverless workflow {names.serverless_workflow}",
            # Confused-deputy conditions: only this account's workflow of this name.
            assumed_by=iam.ServicePrincipal(SERVICE_PRINCIPAL).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": workflow_arn},
                }
            ),
        )
        policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            statements=[*self._service_statements(props), *self._task_statements(props)],
            roles=[role],
        )
        self._acknowledge_findings(props, policy)
        return role

    @staticmethod
    def _service_statements(props: ServerlessWorkflowProps) -> list[iam.PolicyStatement]:
        """What the service does with the role (execution-role guide): read the definition and the
        code package, write task logs to the workflow's log group, use the stack's keys."""
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        log_group = props.names.serverless_log_group
        return [
            iam.PolicyStatement(
                sid="ReadWorkflowSources",
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[props.source_bucket.arn_for_objects(f"{WORKFLOW_PREFIX}/*")],
            ),
            iam.PolicyStatement(
                sid="WriteWorkflowLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[f"arn:{Aws.PARTITION}:logs:{region_account}:log-group:{log_group}:*"],
            ),
            iam.PolicyStatement(
                sid="UseStackKeys",
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                resources=[props.key.key_arn, props.alert_key.key_arn],
            ),
        ]

    @staticmethod
    def _task_statements(props: ServerlessWorkflowProps) -> list[iam.PolicyStatement]:
        """What the tasks do, as the provisioned DAG: the data bucket, this Glue job, the pipeline's
        Variables, the alert topic and the metrics namespace."""
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        variables_prefix = props.names.airflow_variables_prefix
        return [
            *data_and_glue_statements(props.data_bucket, props.glue_job_arn),
            iam.PolicyStatement(
                sid="ReadPipelineVariables",
                actions=["ssm:GetParameter"],
                resources=[
                    f"arn:{Aws.PARTITION}:ssm:{region_account}:parameter{variables_prefix}/{name}"
                    for name in contract_names.PIPELINE_VARIABLES
                ],
            ),
            *alert_and_metric_statements(props.alert_topic.topic_arn),
        ]

    @staticmethod
    def _acknowledge_findings(props: ServerlessWorkflowProps, policy: iam.ManagedPolicy) -> None:
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[{objects_of(props.data_bucket)}]",
            "The workflow lists reference and raw files, writes manifests and moves raw files to archived_data/; "
            "the keys are data-driven, so the grant covers the bucket's objects with explicit actions only.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[{objects_of(props.source_bucket, WORKFLOW_PREFIX + '/')}]",
            "The service reads the workflow's definition and code package, content-addressed file names "
            "under serverless/ that change with every release (read-only actions).",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            f"{props.names.serverless_log_group}:*]",
            "Task log streams are created by run in the workflow's own log group; scoped to that group.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData supports no resource-level permission; limited to the pipeline's "
            "namespace by the cloudwatch:namespace condition.",
        )

    def _failure_rule(self, props: ServerlessWorkflowProps) -> events.Rule:
        """A failed or timed-out run, as the Chatbot custom notification the Glue rule and the
        provisioned DAG's callback send (one message shape on the topic)."""
        names = props.names
        rule = events.Rule(
            self,
            "WorkflowRunFailed",
            rule_name=names.serverless_failure_rule,
            description=f"{names.serverless_workflow}: a run failed or timed out",
            event_pattern=events.EventPattern(
                source=["aws.airflow-serverless"],
                detail_type=list(RUN_FAILURE_DETAIL_TYPES),
                resources=events.Match.prefix(
                    f"arn:{Aws.PARTITION}:airflow-serverless:{Aws.REGION}:{Aws.ACCOUNT_ID}:workflow/"
                    f"{names.serverless_workflow}"
                ),
            ),
        )
        rule.add_target(TopicTarget(props.alert_topic, workflow_failure_message(names)))
        _allow_rule_to_publish(props.alert_topic, names)
        return rule


def _allow_rule_to_publish(topic: sns.ITopic, names: ResourceNames) -> None:
    """The topic lets the failure rule publish, for this account and this rule only (as Alerting does
    for the Glue failure rule; the key already lets EventBridge use it for this topic)."""
    rule_arn = (
        f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{names.serverless_failure_rule}"
    )
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowPublishFromWorkflowFailureRule",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnEquals": {"aws:SourceArn": rule_arn},
            },
        )
    )


__all__ = ["ServerlessWorkflow", "ServerlessWorkflowProps"]
