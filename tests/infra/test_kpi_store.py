"""infra/kpi_store.py: the DynamoDB table of the KPIs.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

from music_contract import items


def test_kpi_table_keys_index_and_protection(each_env):
    props = each_env.only("AWS::DynamoDB::Table")
    assert props["TableName"] == f"music-streams-{each_env.env}-genre-kpis"
    assert props["KeySchema"] == [
        {"AttributeName": items.TABLE_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": items.TABLE_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": items.GSI1_NAME,
            "KeySchema": [
                {"AttributeName": items.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": items.GSI1_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert {a["AttributeType"] for a in props["AttributeDefinitions"]} == {"S"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["SSESpecification"]["SSEType"] == "KMS"
    assert props["DeletionProtectionEnabled"] is each_env.config.is_prod
