"""CloudWatch log groups as every part of the stack wants them: KMS-encrypted, with a retention."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import ALLOWED_RETENTION_DAYS, ConfigError

__all__ = ["ALLOWED_RETENTION_DAYS", "encrypted_log_group"]


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention_days: int,
    removal_policy: RemovalPolicy,
    log_group_name: str | None = None,
) -> logs.LogGroup:
    """A log group encrypted with ``key`` that keeps events for ``retention_days`` days.

    :param retention_days: one of `ALLOWED_RETENTION_DAYS` (the config key ``log_retention_days``).
    :param log_group_name: physical name; CloudFormation picks one when omitted.
    """
    if retention_days not in ALLOWED_RETENTION_DAYS:
        raise ConfigError(
            f"log_retention_days must be one of {sorted(ALLOWED_RETENTION_DAYS)} (CloudWatch Logs), "
            f"got {retention_days}"
        )
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        encryption_key=key,
        removal_policy=removal_policy,
    )
    # The L2 takes a RetentionDays enum; the config holds a number of days, validated above.
    cfn_group = group.node.default_child
    assert isinstance(cfn_group, logs.CfnLogGroup)
    cfn_group.retention_in_days = retention_days
    return group
