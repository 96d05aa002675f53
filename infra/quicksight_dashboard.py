"""QuickSight dashboard (optional): a data source on the stack's Athena workgroup, one dataset per
table it shows (direct query: nothing is copied into SPICE), and one dashboard with a trend of
listens per genre, the top genres, the top songs and data quality per run. Created only when
``quicksight_principal_arn`` is set; that principal owns every QuickSight resource here.

Raw CloudFormation (CfnResource) for the dataset and dashboard shapes: the Definition is a large
nested document that reads better as the JSON AWS documents (AWS::QuickSight::Dashboard
DashboardVersionDefinition); cfn-lint checks it against the resource schema
(tests/infra/test_quicksight_dashboard.py).

QuickSight queries Athena (and Athena reads S3 and the key) as the account's QuickSight service
role, created by the one-time subscription. The stack attaches the analytics reader policy to that
role before it creates the data source, which QuickSight checks against Athena when it is created
("Attaching additional policies": docs.aws.amazon.com/quicksight/latest/user/security-create-iam-role-athena-s3.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, CfnResource
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import ResourceNames
from music_contract import items, layout, tables

# The role QuickSight uses for AWS data sources unless another was chosen at subscription
# (path /service-role/; docs.aws.amazon.com/quicksight/latest/user/security_iam_service-with-iam.html).
QUICKSIGHT_SERVICE_ROLE_NAME = "aws-quicksight-service-role-v0"
# Hive type -> QuickSight input column type; columns of other types (maps) are left out.
QUICKSIGHT_TYPES = {
    "string": "STRING",
    "bigint": "INTEGER",
    "int": "INTEGER",
    "double": "DECIMAL",
    "timestamp": "DATETIME",
}
DATA_SOURCE_ACTIONS = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
)
DATA_SET_ACTIONS = (
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
)
DASHBOARD_ACTIONS = (
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
)
# The datasets: the curated KPI tables the charts read, and the data-quality reports.
DATASET_TABLES = ("daily_genre_kpis", "top_genres", "top_songs", tables.DATA_QUALITY_REPORTS_TABLE)


def hive_type_to_quicksight(hive_type: str) -> str | None:
    if hive_type.startswith("decimal"):
        return "DECIMAL"
    return QUICKSIGHT_TYPES.get(hive_type)


def table_columns(table: str) -> list[tuple[str, str]]:
    """A table's columns as the catalog has them (partition column last), from the contract."""
    if table == tables.DATA_QUALITY_REPORTS_TABLE:
        return list(tables.DATA_QUALITY_REPORT_COLUMNS)
    curated = tables.CURATED_TABLES[table]
    return [*curated.columns, (curated.partition_column, curated.partition_type)]


@dataclass(frozen=True)
class QuickSightDashboardProps:
    """The owner, the workgroup to query through and the database the tables are in."""

    # Resource names: the QuickSight resource ids.
    names: ResourceNames
    # The user or group that owns the data source, data sets and dashboard (``quicksight_principal_arn``).
    principal_arn: str
    # The Glue database the tables are in (``database_name``).
    database_name: str
    # The Athena workgroup's name (`Analytics.workgroup`).
    workgroup_name: str
    # What querying through the workgroup takes (`Analytics.reader_policy`): attached to QuickSight's
    # service role before the data source exists.
    reader_policy: iam.ManagedPolicy


class QuickSightDashboard(Construct):
    """Exposes ``data_source``, ``data_sets`` (by table) and ``dashboard`` (CfnResources)."""

    def __init__(self, scope: Construct, construct_id: str, props: QuickSightDashboardProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        prefix = props.names.prefix
        self.service_role = iam.Role.from_role_name(self, "ServiceRole", QUICKSIGHT_SERVICE_ROLE_NAME)
        props.reader_policy.attach_to_role(self.service_role)
        self.data_source = CfnResource(
            self,
            "DataSource",
            type="AWS::QuickSight::DataSource",
            properties={
                "AwsAccountId": Aws.ACCOUNT_ID,
                "DataSourceId": f"{prefix}-athena",
                "Name": f"{prefix} Athena ({props.workgroup_name})",
                "Type": "ATHENA",
                "DataSourceParameters": {"AthenaParameters": {"WorkGroup": props.workgroup_name}},
                "SslProperties": {"DisableSsl": False},
                "Permissions": self._permissions(DATA_SOURCE_ACTIONS),
            },
        )
        self.data_source.node.add_dependency(props.reader_policy)
        self.data_sets = {table: self._data_set(table) for table in DATASET_TABLES}
        self.dashboard = CfnResource(
            self,
            "Dashboard",
            type="AWS::QuickSight::Dashboard",
            properties={
                "AwsAccountId": Aws.ACCOUNT_ID,
                "DashboardId": f"{prefix}-kpis",
                "Name": f"{prefix} KPIs",
                "Permissions": self._permissions(DASHBOARD_ACTIONS),
                "Definition": self._definition(),
            },
        )

    def _permissions(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"Principal": self.props.principal_arn, "Actions": list(actions)}]

    def _data_set(self, table: str) -> CfnResource:
        columns = [(n, hive_type_to_quicksight(t)) for n, t in table_columns(table)]
        data_set = CfnResource(
            self,
            f"DataSet-{table}",
            type="AWS::QuickSight::DataSet",
            properties={
                "AwsAccountId": Aws.ACCOUNT_ID,
                "DataSetId": f"{self.props.names.prefix}-{table.replace('_', '-')}",
                "Name": f"{self.props.names.prefix} {table}",
                # Every view queries Athena: no SPICE capacity to buy or refresh.
                "ImportMode": "DIRECT_QUERY",
                "PhysicalTableMap": {
                    "athena-table": {
                        "RelationalTable": {
                            "DataSourceArn": self.data_source.get_att("Arn").to_string(),
                            "Catalog": "AwsDataCatalog",
                            "Schema": self.props.database_name,
                            "Name": table,
                            "InputColumns": [{"Name": n, "Type": t} for n, t in columns if t],
                        }
                    }
                },
                "Permissions": self._permissions(DATA_SET_ACTIONS),
            },
        )
        return data_set

    def _definition(self) -> dict[str, Any]:
        def column(table: str, name: str) -> dict[str, str]:
            return {"DataSetIdentifier": table, "ColumnName": name}

        def dimension(field_id: str, table: str, name: str) -> dict[str, Any]:
            return {"CategoricalDimensionField": {"FieldId": field_id, "Column": column(table, name)}}

        def measure(field_id: str, table: str, name: str) -> dict[str, Any]:
            return {
                "NumericalMeasureField": {
                    "FieldId": field_id,
                    "Column": column(table, name),
                    "AggregationFunction": {"SimpleNumericalAggregation": "SUM"},
                }
            }

        def day(field_id: str, table: str) -> dict[str, Any]:
            # listen_date stays the catalog's 'YYYY-MM-DD' string: it sorts as the days do, and the
            # dataset needs no transform (LogicalTableMap, deprecated in the resource schema).
            return dimension(field_id, table, layout.PARTITION_COLUMN)

        def title(text: str) -> dict[str, Any]:
            return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}

        reports = tables.DATA_QUALITY_REPORTS_TABLE
        visuals = [
            {
                "LineChartVisual": {
                    "VisualId": "listens-per-genre",
                    "Title": title("Listens per genre per day"),
                    "ChartConfiguration": {
                        "FieldWells": {
                            "LineChartAggregatedFieldWells": {
                                "Category": [day("trend-day", "daily_genre_kpis")],
                                "Values": [measure("trend-listens", "daily_genre_kpis", "listen_count")],
                                "Colors": [dimension("trend-genre", "daily_genre_kpis", "genre")],
                            }
                        }
                    },
                }
            },
            {
                "BarChartVisual": {
                    "VisualId": "top-genres",
                    "Title": title("Top genres (listens)"),
                    "ChartConfiguration": {
                        "Orientation": "HORIZONTAL",
                        "FieldWells": {
                            "BarChartAggregatedFieldWells": {
                                "Category": [dimension("top-genre", "top_genres", "genre")],
                                "Values": [measure("top-genre-listens", "top_genres", "listen_count")],
                            }
                        },
                    },
                }
            },
            {
                "TableVisual": {
                    "VisualId": "top-songs",
                    "Title": title("Top songs per day and genre"),
                    "ChartConfiguration": {
                        "FieldWells": {
                            "TableAggregatedFieldWells": {
                                "GroupBy": [
                                    day("song-day", "top_songs"),
                                    dimension("song-genre", "top_songs", "genre"),
                                    dimension("song-track", "top_songs", "track_name"),
                                    dimension("song-artists", "top_songs", "artists"),
                                ],
                                "Values": [measure("song-listens", "top_songs", "listen_count")],
                            }
                        }
                    },
                }
            },
            {
                # Every KPI measure of the contract, one row per day and genre (so SUM is the value).
                "TableVisual": {
                    "VisualId": "daily-genre-kpis",
                    "Title": title("Daily genre KPIs"),
                    "ChartConfiguration": {
                        "FieldWells": {
                            "TableAggregatedFieldWells": {
                                "GroupBy": [
                                    day("kpi-day", "daily_genre_kpis"),
                                    dimension("kpi-genre", "daily_genre_kpis", "genre"),
                                ],
                                "Values": [
                                    measure(f"kpi-{name}", "daily_genre_kpis", name)
                                    for name in items.KPI_MEASURES
                                ],
                            }
                        }
                    },
                }
            },
            {
                "BarChartVisual": {
                    "VisualId": "data-quality",
                    "Title": title("Data quality per run (rows)"),
                    "ChartConfiguration": {
                        "BarsArrangement": "CLUSTERED",
                        "FieldWells": {
                            "BarChartAggregatedFieldWells": {
                                "Category": [dimension("dq-run", reports, "run_id")],
                                "Values": [
                                    measure(f"dq-{name}", reports, name)
                                    for name in (
                                        "rows_read",
                                        "rows_accepted",
                                        "rows_rejected",
                                        "duplicates_dropped",
                                    )
                                ],
                            }
                        },
                    },
                }
            },
        ]
        return {
            "DataSetIdentifierDeclarations": [
                {"Identifier": table, "DataSetArn": data_set.get_att("Arn").to_string()}
                for table, data_set in self.data_sets.items()
            ],
            "Sheets": [{"SheetId": "kpis", "Name": "KPIs", "Visuals": visuals}],
        }
