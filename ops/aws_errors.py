"""The first errors an operator meets, as one line that says what to set.

Every command that talks to a deployed environment (`make trigger`, `recompute`, `replay`, `report`,
`smoke`) resolves its region with `resolve_region` and turns what boto3 raises into one line with
`explain`: no region, no credentials, expired credentials, the stack not deployed (naming the stack
and region it looked in) and access denied (naming the IAM action). Anything else keeps its own
message; nothing here prints a traceback.

    region = aws_errors.resolve_region(args.region)      # raises AwsSetupError, one line
    try:
        ...
    except Exception as err:
        line = aws_errors.explain(err, stack=..., region=region)
        if line is None:
            raise
"""

from __future__ import annotations

import os
import re
from typing import Any

from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

# Error codes AWS answers for credentials that were valid and are no longer (STS, SSO and the
# services: "ExpiredToken", "ExpiredTokenException", "RequestExpired" when the clock is off).
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
# Credentials AWS does not recognise at all (a deleted key, a typo).
INVALID_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"})
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
)
# The IAM action of each operation these commands call (Service Authorization Reference); an
# AccessDenied message usually names it too ("... is not authorized to perform: s3:ListBucket ...").
IAM_ACTIONS = {
    "DescribeStacks": "cloudformation:DescribeStacks",
    "InvokeRestApi": "airflow:InvokeRestApi",
    "Scan": "dynamodb:Scan",
    "Query": "dynamodb:Query",
    "BatchWriteItem": "dynamodb:BatchWriteItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "ListObjectsV2": "s3:ListBucket",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
    "GetJobRun": "glue:GetJobRun",
    "GetJobRuns": "glue:GetJobRuns",
}
_PERFORM = re.compile(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")

REGION_HELP = "set AWS_DEFAULT_REGION (or AWS_REGION), a region in your AWS profile, or pass --region"
CREDENTIALS_HELP = "configure them: aws configure, aws sso login, or AWS_PROFILE"
EXPIRED_LINE = "your AWS credentials have expired: renew them (aws sso login, or new keys) and run again"


class AwsSetupError(RuntimeError):
    """The AWS configuration does not let the command start; the message is the one line to print."""


def resolve_region(explicit: str | None, session: Any = None) -> str:
    """The region to use: `explicit` (--region), then boto3's own (AWS_DEFAULT_REGION, the profile),
    then ``AWS_REGION``, which the AWS CLI v2 and most AWS SDKs read but boto3 does not (it would
    answer ``NoRegionError`` with only AWS_REGION set: boto3 guide "Configuration", environment
    variables, lists AWS_DEFAULT_REGION only; botocore 1.43.56 checked)."""
    if explicit:
        return explicit
    if session is None:
        import boto3

        session = boto3.session.Session()
    region = session.region_name or os.environ.get("AWS_REGION")
    if not region:
        raise AwsSetupError(f"no AWS region configured: {REGION_HELP}")
    return region


def iam_action(err: ClientError) -> str:
    """The IAM action a denied call needed: from AWS's message when it names it, else from the operation."""
    found = _PERFORM.search(err.response.get("Error", {}).get("Message", ""))
    if found:
        return found.group(1)
    return IAM_ACTIONS.get(err.operation_name, err.operation_name)


def _client_error(err: ClientError, stack: str | None, region: str | None) -> str | None:
    code = err.response.get("Error", {}).get("Code", "")
    message = err.response.get("Error", {}).get("Message", "")
    where = f" in {region}" if region else ""
    if code in EXPIRED_CODES:
        return EXPIRED_LINE
    if code in INVALID_CODES:
        return f"AWS does not recognise your credentials ({code}): {CREDENTIALS_HELP}"
    if code in DENIED_CODES:
        return (
            f"access denied: your AWS identity may not call {iam_action(err)}{where}; ask for that permission"
        )
    # DescribeStacks of a stack that is not there: ValidationError "Stack with id X does not exist"
    # (CloudFormation API Reference, DescribeStacks).
    if err.operation_name == "DescribeStacks" and "does not exist" in message:
        name = stack or "the stack"
        return (
            f"stack {name} is not deployed{where} (this account): deploy it (make deploy), "
            "or pick its region (--region) or account (AWS_PROFILE)"
        )
    # MWAA answers an unknown environment name with ResourceNotFoundException (MWAA API Reference,
    # InvokeRestApi errors: AccessDenied, ResourceNotFound, RestApiClient/Server, Validation).
    if code == "ResourceNotFoundException" and err.operation_name == "InvokeRestApi":
        name = stack or "the stack"
        return (
            f"the MWAA environment was not found{where}: is stack {name} deployed there? "
            "deploy it (make deploy), or pick its region (--region) or account (AWS_PROFILE)"
        )
    return None


def explain(err: BaseException, *, stack: str | None = None, region: str | None = None) -> str | None:
    """One line for an AWS setup error (region, credentials, missing stack, access), looking through
    the chain of `err` (a command's own error raised ``from`` a ClientError); None for anything else."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, AwsSetupError):
            return str(seen)
        if isinstance(seen, NoRegionError):
            return f"no AWS region configured: {REGION_HELP}"
        if isinstance(seen, NoCredentialsError | PartialCredentialsError):
            return f"no AWS credentials found: {CREDENTIALS_HELP}"
        if isinstance(seen, TokenRetrievalError | UnauthorizedSSOTokenError | SSOTokenLoadError):
            return EXPIRED_LINE
        if isinstance(seen, ClientError):
            line = _client_error(seen, stack, region)
            if line:
                return line
        seen = seen.__cause__
    return None
