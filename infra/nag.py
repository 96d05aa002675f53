"""Policy checks on every synth (CDK's Validations API): cdk-nag 3's AwsSolutions and NIST 800-53 R5
packs and AWS Control Tower's proactive controls (cfn-guard rules, cdklabs.cdk-validator-cfnguard).
The findings that cannot be fixed are acknowledged one finding at a time, with a reason, by the
construct that owns the policy or resource concerned (``_acknowledge_findings`` in each construct);
this module holds the packs, `acknowledge`, and the acknowledgements of what aws-cdk-lib itself adds
(the BucketDeployment handler, the custom-resource providers), which no construct of ours owns.

Fixed rather than acknowledged: KMS everywhere it is accepted, TLS-only buckets and topic, access
logs, versioning, PITR, flow logs, customer-managed (not inline) policies with explicit actions,
MWAA ports limited to 443/5432, no public IPs on launch, alarm actions, log retention.
"""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

# The CDK bootstrap's asset bucket (default synthesizer), as cdk-nag renders it in finding ids.
CDK_ASSETS_OBJECTS = "arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*"
BUCKET_DEPLOYMENT_PREFIX = "Custom::CDKBucketDeployment"
# The packs' names, as they prefix rule ids and acknowledgements.
NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5")
# The cfn-guard plugin's name; its rule ids are the guard rules' names (snake_case, ending in _check).
GUARD_PACK = "cdk-validator-cfnguard"
POLICY_PACKS = (*NAG_PACKS, GUARD_PACK)
_GUARD_RULE_ID = re.compile(r"[a-z0-9_]+_check")


def add_nag_checks(app: App) -> None:
    """Register both packs on the app: synth fails on any finding not acknowledged here."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        NIST80053R5Checks(app),
        # AWS Control Tower's proactive controls (CloudFormation Guard rules) on the same synth.
        CfnGuardValidator(control_tower_rules_enabled=True),
    )


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (``Rule`` or ``Rule[FindingId]``, or a cfn-guard rule name) on one
    construct and its children.

    The id is recorded as ``<pack>::<rule>``, the form the validation report asks for.
    """
    pack = next((p for p in NAG_PACKS if rule_id.startswith(f"{p}-")), None)
    if pack is None and _GUARD_RULE_ID.fullmatch(rule_id):
        pack = GUARD_PACK
    if pack is None:
        raise ValueError(f"{rule_id!r} is not a rule of the packs {POLICY_PACKS}")
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{pack}::{rule_id}", reason=reason))


def _logical_id_ref(construct: IConstruct) -> str:
    """How cdk-nag writes a ``Fn::GetAtt <resource>.Arn`` in a finding id."""
    return f"<{Stack.of(construct).get_logical_id(construct.node.default_child)}.Arn>"


def objects_of(bucket: IConstruct, prefix: str = "") -> str:
    """How cdk-nag writes a bucket's objects (``<bucket ARN>/<prefix>*``) in an IAM5 finding id."""
    return f"Resource::{_logical_id_ref(bucket)}/{prefix}*"


def acknowledge_cdk_provided(stack: Stack, source_bucket: IConstruct, *, without_vpc: bool = False) -> None:
    """What aws-cdk-lib adds to the stack by itself: its BucketDeployment handler (which uploads
    into ``source_bucket``) and its singleton custom-resource providers.

    :param without_vpc: the stack has no VPC (orchestration=serverless), so neither has the handler.
    """
    for handler in _bucket_deployment_handlers(stack):
        _acknowledge_bucket_deployment_handler(handler, objects_of(source_bucket))
        if without_vpc:
            _acknowledge_handler_outside_vpc(handler)
    for provider in _cdk_providers(stack):
        acknowledge(
            provider,
            "lambda_inside_vpc_check",
            "CDK-provided custom-resource provider (aws-cdk-lib offers no VPC setting); it runs only "
            "during deploys and calls S3/EC2 control-plane APIs of this stack's own resources.",
        )


def _cdk_providers(stack: Stack) -> list[IConstruct]:
    """aws-cdk-lib's singleton custom-resource providers (auto-delete objects, default SG rules)."""
    return [
        child
        for child in stack.node.children
        if child.node.id.startswith("Custom::") and child.node.id.endswith("CustomResourceProvider")
    ]


def _acknowledge_handler_outside_vpc(handler: IConstruct) -> None:
    reason = (
        "orchestration=serverless has no VPC by design (no NAT or endpoint idle cost); the CDK-provided "
        "BucketDeployment handler only copies this release's assets between two S3 buckets through S3's "
        "API during deploys, and a VPC for it alone would bring back what the mode removes."
    )
    for rule_id in ("NIST.800.53.R5-LambdaInsideVPC", "lambda_inside_vpc_check"):
        acknowledge(handler, rule_id, reason)


def _bucket_deployment_handlers(stack: Stack) -> list[IConstruct]:
    """The singleton Lambda function(s) CDK adds for BucketDeployment (one per distinct config)."""
    return [child for child in stack.node.children if child.node.id.startswith(BUCKET_DEPLOYMENT_PREFIX)]


def _acknowledge_bucket_deployment_handler(handler: IConstruct, source_objects: str) -> None:
    """Its role, policy and runtime belong to aws-cdk-lib; this stack cannot change them."""
    provided = "CDK-provided BucketDeployment handler (aws-cdk-lib), runs only during deploys: "
    findings = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
            "the handler's role is created by aws-cdk-lib with this managed policy to write its own logs."
        ),
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]": (
            "it runs in the private subnets, and aws-cdk-lib attaches this managed policy for its ENIs."
        ),
        "AwsSolutions-IAM5[Action::s3:GetBucket*]": "aws-cdk-lib's grantRead on the CDK asset bucket.",
        "AwsSolutions-IAM5[Action::s3:GetObject*]": "aws-cdk-lib's grantRead on the CDK asset bucket.",
        "AwsSolutions-IAM5[Action::s3:List*]": "aws-cdk-lib's grantRead/grantReadWrite for `aws s3 sync`.",
        "AwsSolutions-IAM5[Action::s3:Abort*]": "aws-cdk-lib's grantReadWrite on the MWAA source bucket.",
        "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "prune deletes DAG files removed from dags/.",
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "writes SSE-KMS objects to the source bucket.",
        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "aws-cdk-lib's key grant for the source bucket.",
        f"AwsSolutions-IAM5[Resource::{CDK_ASSETS_OBJECTS}]": "reads the uploaded asset zips.",
        f"AwsSolutions-IAM5[{source_objects}]": "writes the DAGs and requirements.txt under their prefixes.",
        "AwsSolutions-L1": "aws-cdk-lib pins the handler's Python runtime; upgrading aws-cdk-lib updates it.",
        "NIST.800.53.R5-IAMNoInlinePolicy": "aws-cdk-lib attaches its grants as the role's inline policy.",
        "NIST.800.53.R5-LambdaConcurrency": (
            "invoked only by CloudFormation, once per deployment; a reserved concurrency adds nothing."
        ),
        "NIST.800.53.R5-LambdaDLQ": (
            "invoked synchronously by CloudFormation, which records failures and rolls back; a DLQ "
            "would receive nothing."
        ),
    }
    for rule_id, reason in findings.items():
        acknowledge(handler, rule_id, provided + reason)
