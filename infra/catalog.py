"""Catalog: the Glue database and the curated tables (Parquet, Athena partition projection), as
docs/DESIGN.md lays them out. The job that fills them is `infra/glue_job.py`."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from music_contract import tables
from music_contract.tables import CuratedTable

# The oldest date Athena's partition projection enumerates; listen dates before it stay invisible.
PROJECTION_START_DATE = "2020-01-01"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


@dataclass(frozen=True)
class CatalogProps:
    """What the catalog describes."""

    # The Glue database's name (``database_name``).
    database_name: str
    # The bucket whose curated/ prefixes hold the tables' Parquet files.
    data_bucket: s3.IBucket


def projection_parameters(table: CuratedTable, location: str) -> dict[str, str]:
    """Athena partition projection for a table partitioned by a 'YYYY-MM-DD' date string.

    :param location: the table's S3 location ending in '/', e.g. ``s3://bucket/curated/streams/``.
    """
    column = table.partition_column
    return {
        "classification": "parquet",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        f"projection.{column}.type": "date",
        f"projection.{column}.format": "yyyy-MM-dd",
        f"projection.{column}.range": f"{PROJECTION_START_DATE},NOW",
        f"projection.{column}.interval": "1",
        f"projection.{column}.interval.unit": "DAYS",
        "storage.location.template": f"{location}{column}=${{{column}}}/",
    }


class Catalog(Construct):
    """Exposes ``database`` and ``tables`` (by curated table name)."""

    def __init__(self, scope: Construct, construct_id: str, props: CatalogProps) -> None:
        super().__init__(scope, construct_id)
        bucket = props.data_bucket

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=props.database_name,
                description="Music streaming KPIs and validated stream events (Parquet, curated/).",
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for curated in tables.CURATED_TABLES.values():
            location = f"s3://{bucket.bucket_name}/{curated.prefix}"
            table = glue.CfnTable(
                self,
                f"Table-{curated.name}",
                catalog_id=Aws.ACCOUNT_ID,
                database_name=props.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=curated.name,
                    table_type="EXTERNAL_TABLE",
                    parameters=projection_parameters(curated, location),
                    partition_keys=[
                        glue.CfnTable.ColumnProperty(
                            name=curated.partition_column, type=curated.partition_type
                        )
                    ],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=location,
                        columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in curated.columns],
                        input_format=PARQUET_INPUT_FORMAT,
                        output_format=PARQUET_OUTPUT_FORMAT,
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
                    ),
                ),
            )
            table.node.add_dependency(self.database)
            self.tables[curated.name] = table
