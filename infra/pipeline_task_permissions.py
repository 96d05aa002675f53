"""What the pipeline's tasks may do, whichever orchestrator runs them: the one list behind the MWAA
execution role (infra/mwaa_execution_role.py) and the MWAA Serverless workflow role
(infra/serverless_workflow.py). Each role adds how it reads its settings (SSM) and what its service
needs itself."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from music_contract import metrics


def data_and_glue_statements(data_bucket: s3.IBucket, glue_job_arn: str) -> list[iam.PolicyStatement]:
    """Read and archive the data bucket's objects, write manifests; run the CDK-owned Glue job."""
    return [
        iam.PolicyStatement(
            sid="ListDataBucket",
            actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[data_bucket.bucket_arn],
        ),
        iam.PolicyStatement(
            sid="ReadWriteDataObjects",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            resources=[data_bucket.arn_for_objects("*")],
        ),
        # The tasks start the job, follow its run and stop it when the task is killed; they never
        # create or change the job.
        iam.PolicyStatement(
            sid="RunGlueJob",
            actions=[
                "glue:GetJob",
                "glue:StartJobRun",
                "glue:GetJobRun",
                "glue:GetJobRuns",
                "glue:BatchStopJobRun",
            ],
            resources=[glue_job_arn],
        ),
    ]


def alert_and_metric_statements(alert_topic_arn: str) -> list[iam.PolicyStatement]:
    """Publish failure alerts to the stack's topic and the per-run metrics (docs/DESIGN.md, "Pipeline
    metrics") to the pipeline's namespace only: PutMetricData has no resource type, so the
    ``cloudwatch:namespace`` condition scopes it."""
    return [
        iam.PolicyStatement(sid="PublishAlerts", actions=["sns:Publish"], resources=[alert_topic_arn]),
        iam.PolicyStatement(
            sid="PublishPipelineMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": metrics.METRIC_NAMESPACE}},
        ),
    ]
