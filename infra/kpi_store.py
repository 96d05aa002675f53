"""The KPI store: the DynamoDB table of docs/DESIGN.md ("DynamoDB items"), keys from the contract."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import ResourceNames
from infra.nag import acknowledge
from music_contract import items


@dataclass(frozen=True)
class KpiStoreProps:
    """The table's name, key and fate."""

    # Resource names: the table's.
    names: ResourceNames
    # The environment's data key (customer-managed encryption).
    key: kms.IKey
    # What ``cdk destroy`` does to the table (the environment's data removal policy).
    removal_policy: RemovalPolicy
    # DynamoDB deletion protection (on in prod).
    deletion_protection: bool


class KpiStore(Construct):
    """On-demand table (``pk``/``sk`` plus GSI ``gsi1``), point-in-time recovery, the environment's
    KMS key; deletion protection in prod, so a stray ``cdk destroy`` cannot drop the KPIs."""

    def __init__(self, scope: Construct, construct_id: str, props: KpiStoreProps) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=props.names.kpi_table,
            partition_key=dynamodb.Attribute(name=items.TABLE_PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=items.TABLE_SORT_KEY, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=props.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=props.deletion_protection,
            removal_policy=props.removal_policy,
        )
        # One genre across dates: "GENRE#<genre>" / "DATE#<date>" (docs/DESIGN.md).
        self.table.add_global_secondary_index(
            index_name=items.GSI1_NAME,
            partition_key=dynamodb.Attribute(name=items.GSI1_PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=items.GSI1_SORT_KEY, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        acknowledge(
            self.table,
            "NIST.800.53.R5-DynamoDBInBackupPlan",
            "Point-in-time recovery (35 days of continuous backups) is on, and the KPIs can be recomputed "
            "from the archived raw data; an AWS Backup plan would duplicate PITR.",
        )
