"""Analytics: the stack's Athena workgroup (results SSE-KMS encrypted under our own prefix, settings
enforced, a per-query scan limit), a Glue table over the data-quality reports, and the saved
queries people ask of the curated tables.

The queries use Athena's execution parameters (``?``): the console asks for the values when a
saved query is run (docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import BYTES_PER_MB, ResourceNames
from infra.nag import acknowledge, objects_of
from music_contract import layout, tables

ATHENA_ENGINE_VERSION = "Athena engine version 3"
# What a reader of the workgroup runs (and what the saved queries need).
ATHENA_QUERY_ACTIONS = [
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryRuntimeStatistics",
    "athena:ListQueryExecutions",
    "athena:BatchGetQueryExecution",
    "athena:ListNamedQueries",
    "athena:GetNamedQuery",
    "athena:BatchGetNamedQuery",
]
# What the Athena console's query editor calls to show the workgroups, data sources, databases and
# tables (docs.aws.amazon.com/athena/latest/ug/datacatalogs-example-policies.html). The Service
# Authorization Reference (list_amazonathena.html) gives ListWorkGroups and ListDataCatalogs no
# resource type ("*" only); the metadata actions take the data catalog's ARN.
ATHENA_CONSOLE_LIST_ACTIONS = ["athena:ListWorkGroups", "athena:ListDataCatalogs"]
ATHENA_CATALOG_METADATA_ACTIONS = [
    "athena:ListDatabases",
    "athena:GetDatabase",
    "athena:ListTableMetadata",
    "athena:GetTableMetadata",
]
# Athena's own catalog over the Glue Data Catalog.
ATHENA_GLUE_CATALOG = "AwsDataCatalog"
# The console opens on the `default` database; Athena asks Glue for it whichever database a query
# names (fine-grained access needs it: docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html).
GLUE_DEFAULT_DATABASE = "default"
GLUE_CATALOG_READ_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
]
# The prefixes the queries read.
READ_PREFIXES = (layout.CURATED_PREFIX, layout.REPORTS_PREFIX)
# Athena's Ion SerDe reads pretty-printed JSON (the reports are written with indent=2), which the
# Hive and OpenX JSON SerDes cannot (docs.aws.amazon.com/athena/latest/ug/json-serde.html).
ION_SERDE = "com.amazon.ionhiveserde.IonHiveSerDe"
ION_INPUT_FORMAT = "com.amazon.ionhiveserde.formats.IonInputFormat"
ION_OUTPUT_FORMAT = "com.amazon.ionhiveserde.formats.IonOutputFormat"


@dataclass(frozen=True)
class SavedQuery:
    """One named query: its construct id, name, what it answers, and its SQL (one table each)."""

    construct_id: str
    name: str
    description: str
    sql: str


SAVED_QUERIES = (
    SavedQuery(
        "TopGenresOfADay",
        "top-genres-of-a-day",
        "The day's top genres by listens (parameter: the day, 'YYYY-MM-DD').",
        "SELECT rank, genre, listen_count\nFROM top_genres\nWHERE listen_date = ?\nORDER BY rank",
    ),
    SavedQuery(
        "GenreTrend",
        "genre-trend",
        "One genre's daily KPIs over a date range (parameters: genre, first day, last day).",
        "SELECT listen_date, listen_count, unique_listeners, total_listening_time_seconds,\n"
        "       avg_listening_time_per_user_seconds\n"
        "FROM daily_genre_kpis\n"
        "WHERE genre = ? AND listen_date BETWEEN ? AND ?\n"
        "ORDER BY listen_date",
    ),
    SavedQuery(
        "TopSongsOfADay",
        "top-songs-of-a-day",
        "The day's top songs of every genre (parameter: the day, 'YYYY-MM-DD').",
        "SELECT genre, rank, track_name, artists, listen_count\n"
        "FROM top_songs\n"
        "WHERE listen_date = ?\n"
        "ORDER BY genre, rank",
    ),
    SavedQuery(
        "DataQualityOverRuns",
        "data-quality-over-runs",
        "Rows read, accepted, rejected (by reason) and duplicates of every run, newest first.",
        # The ratio from the counts: the report's own reject_ratio is no column (music_contract.tables).
        "SELECT run_id, status, started_at, rows_read, rows_accepted, rows_rejected,\n"
        "       CAST(rows_rejected AS double) / NULLIF(rows_read, 0) AS reject_ratio,\n"
        "       rejected_by_reason, duplicates_dropped\n"
        f"FROM {tables.DATA_QUALITY_REPORTS_TABLE}\n"
        "ORDER BY started_at DESC",
    ),
)


@dataclass(frozen=True)
class AnalyticsProps:
    """Where query results go and which catalog the queries read."""

    # Resource names: the workgroup.
    names: ResourceNames
    # The Glue database's name (``database_name``): the saved queries', the reports table's.
    database_name: str
    # The most one query may scan, in MB (``athena_scan_limit_mb``).
    scan_limit_mb: int
    # The data bucket: results under ATHENA_RESULTS_PREFIX, reports under REPORTS_PREFIX.
    data_bucket: s3.IBucket
    # The data key: query results are encrypted with it (SSE-KMS), as the data they come from.
    key: kms.IKey
    # The Glue database the curated tables are in (the saved queries and the reports table use it).
    database: glue.CfnDatabase


class Analytics(Construct):
    """Exposes ``workgroup``, ``reports_table``, ``saved_queries`` (by name) and ``reader_policy``."""

    def __init__(self, scope: Construct, construct_id: str, props: AnalyticsProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        self.results_location = f"s3://{props.data_bucket.bucket_name}/{layout.ATHENA_RESULTS_PREFIX}"
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=names.athena_workgroup,
            description=f"{names.prefix}: queries over the curated KPI tables and data-quality reports",
            state="ENABLED",
            # `cdk destroy` removes the workgroup with its saved queries and query history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Clients cannot override the result location, its encryption or the scan limit.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=props.scan_limit_mb * BYTES_PER_MB,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version=ATHENA_ENGINE_VERSION
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.results_location,
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=props.key.key_arn
                    ),
                ),
            ),
        )
        self.reports_table = self._reports_table(props)
        self.saved_queries: dict[str, athena.CfnNamedQuery] = {}
        for query in SAVED_QUERIES:
            named = athena.CfnNamedQuery(
                self,
                query.construct_id,
                name=query.name,
                description=query.description,
                database=props.database_name,
                query_string=query.sql,
                work_group=self.workgroup.ref,
            )
            named.node.add_dependency(props.database)
            self.saved_queries[query.name] = named
        self.reader_policy = self._reader_policy(props)

    def _reader_policy(self, props: AnalyticsProps) -> iam.ManagedPolicy:
        """What querying through the workgroup takes, as one managed policy to attach to people's
        roles and to QuickSight's service role: the workgroup, the catalog read, the curated tables
        and reports, the results prefix, and the data key through S3 only."""
        names, bucket = props.names, props.data_bucket
        region_account = f"{Aws.REGION}:{Aws.ACCOUNT_ID}"
        database = props.database_name
        policy = iam.ManagedPolicy(
            self,
            "ReaderPolicy",
            managed_policy_name=f"{names.prefix}-analytics-reader",
            description=f"{names.prefix}: query the KPIs through the Athena workgroup {names.athena_workgroup}",
            statements=[
                iam.PolicyStatement(
                    sid="QueryThroughTheWorkGroup",
                    actions=ATHENA_QUERY_ACTIONS,
                    resources=[
                        f"arn:{Aws.PARTITION}:athena:{region_account}:workgroup/{names.athena_workgroup}"
                    ],
                ),
                iam.PolicyStatement(
                    sid="ListWorkGroupsAndDataSourcesInTheConsole",
                    actions=ATHENA_CONSOLE_LIST_ACTIONS,
                    resources=["*"],  # no resource type: the lists are the account's
                ),
                iam.PolicyStatement(
                    sid="BrowseTheCatalogInTheConsole",
                    actions=ATHENA_CATALOG_METADATA_ACTIONS,
                    resources=[
                        f"arn:{Aws.PARTITION}:athena:{region_account}:datacatalog/{ATHENA_GLUE_CATALOG}"
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadTheCatalog",
                    actions=GLUE_CATALOG_READ_ACTIONS,
                    resources=[
                        f"arn:{Aws.PARTITION}:glue:{region_account}:catalog",
                        f"arn:{Aws.PARTITION}:glue:{region_account}:database/{GLUE_DEFAULT_DATABASE}",
                        f"arn:{Aws.PARTITION}:glue:{region_account}:database/{database}",
                        f"arn:{Aws.PARTITION}:glue:{region_account}:table/{database}/*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="ListTheDataBucket",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadTablesAndReports",
                    actions=["s3:GetObject"],
                    resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in READ_PREFIXES],
                ),
                iam.PolicyStatement(
                    sid="WriteQueryResults",
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[bucket.arn_for_objects(f"{layout.ATHENA_RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="UseTheDataKeyThroughS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[props.key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
                ),
            ],
        )
        findings = {
            "Resource::*": (
                "athena:ListWorkGroups and athena:ListDataCatalogs only, which have no resource type (Service "
                "Authorization Reference); the console lists workgroups and data sources with them."
            ),
            f"Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/{database}/*": (
                "the tables of this environment's database: the curated tables and the reports table."
            ),
            **{
                objects_of(bucket, prefix): (
                    f"the objects under {prefix} (one table's files per sub-prefix), which the queries read."
                )
                for prefix in READ_PREFIXES
            },
            objects_of(bucket, layout.ATHENA_RESULTS_PREFIX): (
                "the workgroup's results prefix, where Athena writes each query's result as the caller."
            ),
        }
        for finding, reason in findings.items():
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)
        return policy

    def _reports_table(self, props: AnalyticsProps) -> glue.CfnTable:
        """The data-quality reports (`reports/run_id=<id>/data_quality.json`) as one table, one row per
        run. Not partitioned: run ids cannot be projected, and Athena reads every object below the
        table's location (docs.aws.amazon.com/athena/latest/ug/tables-location-format.html)."""
        location = f"s3://{props.data_bucket.bucket_name}/{layout.REPORTS_PREFIX}"
        table = glue.CfnTable(
            self,
            "DataQualityReportsTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=props.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=tables.DATA_QUALITY_REPORTS_TABLE,
                description="The Glue job's data-quality report of every run (JSON, read with the Ion SerDe)",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": "json", "EXTERNAL": "TRUE"},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[
                        glue.CfnTable.ColumnProperty(name=n, type=t)
                        for n, t in tables.DATA_QUALITY_REPORT_COLUMNS
                    ],
                    input_format=ION_INPUT_FORMAT,
                    output_format=ION_OUTPUT_FORMAT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=ION_SERDE),
                ),
            ),
        )
        table.node.add_dependency(props.database)
        return table
