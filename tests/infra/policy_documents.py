"""Reading IAM policy documents out of a synthesized template (shared by the construct tests)."""

from __future__ import annotations

from infra.mwaa_execution_role import MWAA_SOURCE_BUCKET_READ_ACTIONS

# Actions allowed on Resource "*" because AWS offers no resource-level permission for them.
ACTIONS_WITHOUT_RESOURCE_TYPES = {
    "athena:ListDataCatalogs",
    "athena:ListWorkGroups",
    "cloudwatch:PutMetricData",
    "logs:DescribeLogGroups",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketPublicAccessBlock",
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(policy_properties: dict) -> list[dict]:
    return policy_properties["PolicyDocument"]["Statement"]


def statement(policy_properties: dict, sid: str) -> dict:
    return next(s for s in statements(policy_properties) if s.get("Sid") == sid)


def policy_of(synth, policy_construct) -> dict:
    return synth.template["Resources"][synth.logical_id(policy_construct)]["Properties"]


def assert_no_wildcard_actions(policy: dict) -> None:
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            if statement.get("Sid") == "ReadSourceBucket" and action in MWAA_SOURCE_BUCKET_READ_ACTIONS:
                continue  # AWS's documented MWAA execution-role set, on the source bucket alone
            assert "*" not in action, (statement.get("Sid"), action)
        if statement["Resource"] == "*":
            assert set(as_list(statement["Action"])) <= ACTIONS_WITHOUT_RESOURCE_TYPES, statement.get("Sid")
