"""Everything that touches storage: the bucket (or its `file://` mirror) through Spark and Hadoop.

All paths are `<data_root>/<key>`, so the same code reads `s3://bucket/...` on Glue and a local
folder in tests. Small files (manifest, headers, report) go through the Hadoop FileSystem API of
the Spark session; data files go through Spark readers and writers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from music_contract import layout
from music_contract import names as contract_names
from music_contract.manifest import Manifest
from music_contract.quality import DataQualityReport
from music_contract.tables import CuratedTable
from music_kpis import line_numbers

# RFC 4180: fields quoted with '"', a quote inside a quoted field doubled.
CSV_OPTIONS = {"quote": '"', "escape": '"', "mode": "PERMISSIVE"}


class DataError(RuntimeError):
    """The run's input is not usable (missing or empty file, missing column, bad manifest).

    The message starts with `contract_names.DATA_ERROR_MARK`: Glue reports it as the run's ErrorMessage,
    which tells `run_etl_job` that a new run would fail the same way (not retried).
    """

    def __init__(self, message: str):
        mark = contract_names.DATA_ERROR_MARK
        super().__init__(message if message.startswith(mark) else f"{mark} {message}")


@dataclass(frozen=True)
class CsvSource:
    """One CSV file and the column positions its header gives (names normalised to lower case)."""

    key: str
    header: tuple[str, ...]

    def position(self, column: str) -> int:
        return self.header.index(column)


def parse_header(line: str) -> tuple[str, ...]:
    """Column names of a CSV header line: BOM stripped, RFC 4180 unquoting, trimmed, lower case."""
    line = line.lstrip("\ufeff").rstrip("\r\n")
    fields = next(csv.reader([line]), [])
    return tuple(name.strip().lower() for name in fields)


class DataRoot:
    """The bucket (or a local mirror of it) under `root`, addressed by bucket keys."""

    def __init__(self, spark: SparkSession, root: str):
        self.spark = spark
        self.root = root.rstrip("/")
        jvm = spark.sparkContext._jvm
        self._jvm = jvm
        self._fs = jvm.org.apache.hadoop.fs.Path(self.root + "/").getFileSystem(
            spark.sparkContext._jsc.hadoopConfiguration()
        )

    @property
    def is_local(self) -> bool:
        """A local file system (the tests' and the local run's mirror), not an object store."""
        return str(self._fs.getScheme()) == "file"

    def uri(self, key: str) -> str:
        return f"{self.root}/{key.lstrip('/')}"

    def _path(self, key: str):
        return self._jvm.org.apache.hadoop.fs.Path(self.uri(key))

    def exists(self, key: str) -> bool:
        return bool(self._fs.exists(self._path(key)))

    def size(self, key: str) -> int | None:
        """Bytes of the file at `key`, or None when there is none."""
        path = self._path(key)
        if not self._fs.exists(path):
            return None
        status = self._fs.getFileStatus(path)
        return None if status.isDirectory() else int(status.getLen())

    def modified_at(self, key: str) -> str:
        """The file's last write time (UTC ISO; on S3 the object's LastModified)."""
        millis = int(self._fs.getFileStatus(self._path(key)).getModificationTime())
        return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="microseconds")

    def read_text(self, key: str) -> str:
        stream = self._fs.open(self._path(key))
        try:
            return str(self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
        finally:
            stream.close()

    def first_line(self, key: str) -> str | None:
        """The file's first line (None for an empty file); any line end, BOM kept."""
        reader = self._jvm.java.io.BufferedReader(
            self._jvm.java.io.InputStreamReader(self._fs.open(self._path(key)), "UTF-8")
        )
        try:
            line = reader.readLine()
        finally:
            reader.close()
        return None if line is None else str(line)

    def write_text(self, key: str, text: str) -> None:
        stream = self._fs.create(self._path(key), True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()

    def delete(self, key: str) -> None:
        self._fs.delete(self._path(key), True)

    def _key(self, path) -> str:
        """The bucket key of a Hadoop path listed under the root (`file:` paths lose `//`)."""
        text, root = str(path.toUri().getPath()), str(self._path("").toUri().getPath())
        return text[len(root.rstrip("/")) + 1 :]

    def list_files(self, key: str) -> list[str]:
        """Names of the data files directly under the folder `key` ([] when there is none).

        Hidden files (`_SUCCESS`, `.crc` checksums of the local file system) are not data.
        """
        path = self._path(key)
        if not self._fs.exists(path):
            return []
        return sorted(
            str(status.getPath().getName())
            for status in self._fs.listStatus(path)
            if status.isFile() and not str(status.getPath().getName()).startswith(("_", "."))
        )

    def glob(self, pattern: str) -> list[str]:
        """Keys matching a Hadoop glob under the root (`tmp/run_id=*/`), sorted."""
        found = self._fs.globStatus(self._path(pattern))
        return sorted(self._key(status.getPath()) for status in (found or []))

    def move(self, source: str, target: str) -> None:
        """Move one file. On S3 a rename is a server-side copy, then a delete of the source; each
        object appears whole or not at all, so a target that exists is a copy that completed."""
        src, dst = self._path(source), self._path(target)
        if self._fs.exists(dst):
            self._fs.delete(src, False)
            return
        if not self._fs.exists(src):
            raise OSError(f"could not move {self.uri(source)} to {self.uri(target)}: neither exists")
        if self.is_local:
            # Only a local file system needs the folder. On S3 a folder is a key prefix, and S3A's
            # mkdirs would PUT an empty marker object `<folder>/` into curated/; its rename needs no
            # parent (Apache Hadoop, hadoop-aws "Directory markers" and HADOOP-16721).
            self._fs.mkdirs(dst.getParent())
        if not self._fs.rename(src, dst):
            raise OSError(f"could not move {self.uri(source)} to {self.uri(target)}")

    def partition_keys(self, prefix: str, dates: Iterable[str]) -> list[str]:
        """Keys of the existing `listen_date=` partitions of `prefix` among `dates`."""
        keys = [f"{prefix}{layout.PARTITION_COLUMN}={day}" for day in sorted(set(dates))]
        return [key for key in keys if self.exists(key)]


# --- manifest and sources -----------------------------------------------------------------
def read_manifest(storage: DataRoot, key: str) -> Manifest:
    if not storage.exists(key):
        raise DataError(f"manifest {storage.uri(key)} does not exist")
    try:
        return Manifest.from_json(storage.read_text(key))
    except (ValueError, json.JSONDecodeError) as err:
        raise DataError(f"manifest {storage.uri(key)} is not valid: {err}") from err


def csv_source(storage: DataRoot, key: str, required: Sequence[str], what: str) -> CsvSource:
    """The header of the CSV at `key`, checked for the `required` columns; a clear error otherwise."""
    size = storage.size(key)
    if size is None:
        raise DataError(f"{what} file {storage.uri(key)} is missing")
    line = storage.first_line(key) if size else None
    if not line or not line.strip("\ufeff \t\r\n"):
        raise DataError(f"{what} file {storage.uri(key)} is empty (no header)")
    header = parse_header(line)
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"{what} file {storage.uri(key)} lacks the columns {missing} (header: {list(header)})"
        )
    return CsvSource(key, header)


def _string_schema(width: int) -> str:
    """Positional all-string schema: the header decides which position is which column."""
    return ", ".join(f"c{i} STRING" for i in range(width))


def _fields(line: Column, width: int) -> Column:
    """A CSV line's fields as an array of strings, "" read as null (as the CSV reader does).

    Most stream lines have no quote: a plain split on "," gives their fields at a third of the
    cost of the RFC 4180 parser, which then only sees the lines that need it.
    """
    parsed = F.from_csv(line, _string_schema(width), CSV_OPTIONS)
    quoted = F.array(*[parsed[f"c{i}"] for i in range(width)])
    return F.when(line.contains('"'), quoted).otherwise(F.split(line, ",", -1))


def _columns(fields: Column, sources: Sequence[CsvSource], names: Sequence[str]) -> list[Column]:
    """The `names` columns of each line, from its file's header (`source_index` says which file).

    One expression for every file: a column at the same position in every header is read from it
    directly, else from the position its file's header gives. Past the end of a short line the
    field is null (`try_`: in ANSI mode too).
    """
    columns = []
    for name in names:
        positions = [source.position(name) + 1 for source in sources]
        if len(set(positions)) == 1:
            position = F.lit(positions[0])
        else:
            position = F.element_at(F.array(*[F.lit(p) for p in positions]), F.col("source_index") + 1)
        field = F.try_element_at(fields, position)
        columns.append(F.when(field != "", field).alias(name))
    return columns


def read_csv_lines(spark: SparkSession, storage: DataRoot, sources: Sequence[CsvSource]) -> DataFrame:
    """Every physical line of the stream files, parsed by each file's own header.

    Columns: `source_index` (the file's position in `sources`: an int per row, not its key, keeps
    the cached lines small), `_block` and `_row` (where the line sits: `line_numbers`), `user_id`,
    `track_id`, `listen_time` (raw strings), `_blank`, and `_header` (the file's first line).
    One text scan per file, read in parallel splits; the lines are parsed after the union, by one
    expression whatever the number of files (the plan, and the code Spark generates and the JVM
    compiles for it, does not grow with the manifest).
    """
    frames = [
        spark.read.text(storage.uri(source.key)).select(F.lit(index).alias("source_index"), "value")
        for index, source in enumerate(sources)
    ]
    lines = frames[0]
    for frame in frames[1:]:
        lines = lines.unionAll(frame)
    # Evaluated per task after the union: the split's offset and the row's index in the partition.
    block, row = line_numbers.split_columns()
    # Parsed as wide as the widest header: a narrower file's fields come first, the rest are unused.
    fields = _fields(F.col("value"), max(len(source.header) for source in sources))
    return lines.select(
        "source_index",
        block,
        row,
        *_columns(fields, sources, layout.STREAMS_COLUMNS),
        "value",
    ).select(
        "source_index",
        "_block",
        "_row",
        "user_id",
        "track_id",
        "listen_time",
        (F.trim(F.col("value")) == "").alias("_blank"),
        ((F.col("_block") == 0) & (F.col("_row") == 0)).alias("_header"),
        F.xxhash64("value").alias("_line_hash"),  # the file's source id (`rules.content_ids`)
    )


def read_csv(spark: SparkSession, storage: DataRoot, source: CsvSource, names: Sequence[str]) -> DataFrame:
    """A whole reference file (RFC 4180, quoted line breaks allowed), the `names` columns as strings."""
    # Named as in the header when its names are usable (Spark then checks the header quietly),
    # else by position; either way every column is a string and chosen by the header's order.
    usable = all(source.header) and len(set(source.header)) == len(source.header)
    fields = list(source.header) if usable else [f"c{i}" for i in range(len(source.header))]
    frame = (
        spark.read.options(**CSV_OPTIONS)
        .option("header", True)
        .option("multiLine", True)
        .option("encoding", "UTF-8")
        .schema(StructType([StructField(name, StringType()) for name in fields]))
        .csv(storage.uri(source.key))
    )
    return frame.select(*[F.col(fields[source.position(name)]).alias(name) for name in names])


# --- Parquet ------------------------------------------------------------------------------
def read_partitions(
    spark: SparkSession,
    storage: DataRoot,
    table: CuratedTable,
    dates: Iterable[str],
    prefix: str | None = None,
) -> DataFrame | None:
    """The existing partitions of `table` for `dates` (with `listen_date`), or None when there are
    none; under `prefix` instead of the table's own (a run's staging folder) when given.

    Read with the contract's schema: Spark then opens no file footer to infer one (a job of its
    own per read), and a file written before a column was added reads it as null.
    """
    prefix = table.prefix if prefix is None else prefix
    keys = storage.partition_keys(prefix, dates)
    if not keys:
        return None
    schema = ", ".join(
        f"`{name}` {kind}" for name, kind in (*table.columns, (table.partition_column, "string"))
    )
    reader = spark.read.schema(schema).option("basePath", storage.uri(prefix))
    return reader.parquet(*[storage.uri(k) for k in keys])


def write_partitions(frame: DataFrame, storage: DataRoot, prefix: str, dictionary: bool = True) -> None:
    """Write `frame` as new `listen_date` partitions under `prefix`, a folder that must not exist yet
    (a run's staging folder, emptied first: `publication.Staging.reset`).

    Written once, straight to its place: no dynamic partition overwrite, which writes every file
    under `<prefix>/.spark-staging-<job>/` first and renames it into its partition at job commit
    (Spark's HadoopMapReduceCommitProtocol), a second copy of each file on S3, where a rename is a
    copy and a delete. On Glue 5.1 the S3 connector is S3A (Amazon EMR Release Guide, "Migration
    Guide: EMRFS to S3A Filesystem": the default from EMR 7.10.0, "across all EMR deployments,
    including ... Glue ETL environments"; AWS Glue developer guide, "Migrating AWS Glue for Spark
    jobs to AWS Glue version 5.1"), whose committers write task output without a rename.
    `dictionary=False` skips Parquet dictionary encoding: for event-level ids (mostly distinct
    within a file) it costs a third of the write and saves little space.
    """
    (
        frame.write.mode("errorifexists")
        .option("parquet.enable.dictionary", str(dictionary).lower())
        .partitionBy(layout.PARTITION_COLUMN)
        .parquet(storage.uri(prefix))
    )


def write_quarantine(frame: DataFrame, storage: DataRoot, run_id: str) -> None:
    """Rejected rows as one CSV (with header) under `quarantine/run_id=<run_id>/`.

    `repartition(1)`, not `coalesce(1)`: the rows are found in parallel and only they are moved
    to the single writing task.
    """
    (
        frame.repartition(1)
        .write.mode("overwrite")
        .options(**CSV_OPTIONS)
        .option("header", True)
        .csv(storage.uri(layout.quarantine_prefix(run_id)))
    )


def write_report(storage: DataRoot, run_id: str, report: DataQualityReport) -> str:
    key = layout.report_key(run_id)
    storage.write_text(key, report.to_json())
    return storage.uri(key)
