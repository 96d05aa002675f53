"""KMS keys as every part of the stack wants them: grants only for AWS services."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms


def restrict_grants_to_aws_services(key: kms.Key) -> None:
    """Control Tower's CT.KMS.PR.3: only AWS services (DynamoDB, MWAA, ... acting for this
    account's resources) may create grants on the key, never a principal directly."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsNotForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            },
        )
    )
