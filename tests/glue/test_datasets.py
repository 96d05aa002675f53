"""Reading the bucket: RFC 4180 songs, headers by name, BOM/CRLF, blank lines, line numbers."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from music_contract import layout
from music_kpis import datasets, line_numbers, rules


@pytest.fixture
def storage(spark, tmp_path):
    return datasets.DataRoot(spark, tmp_path.as_uri())


def put(storage: datasets.DataRoot, key: str, text: str) -> str:
    storage.write_text(key, text)
    return key


@pytest.mark.parametrize(
    ("line", "header"),
    [
        ("user_id,track_id,listen_time", ("user_id", "track_id", "listen_time")),
        ("\ufeffUser_ID, track_id ,listen_time\r\n", ("user_id", "track_id", "listen_time")),
        ('"listen_time","a, b",track_id', ("listen_time", "a, b", "track_id")),
    ],
)
def test_parse_header(line, header):
    assert datasets.parse_header(line) == header


def test_songs_quirks_parse_into_the_right_columns(spark, storage):
    key = put(
        storage,
        layout.SONGS_KEY,
        "\ufeffid,track_id,artists,album_name,track_name,duration_ms,track_genre\r\n"
        '0,A,"Smith, John","Best of ""Live""","He said ""hi"", twice",1000,pop\r\n'
        "1,B,,,,2000,rock\r\n"  # empty names
        '2,C,"Line\r\nBreak",alb,"multi\nline",3000,jazz\r\n',  # quoted line breaks (multiLine)
    )
    source = datasets.csv_source(storage, key, layout.REQUIRED_SONGS_COLUMNS, "songs")
    songs = datasets.read_csv(
        spark, storage, source, ["id", "track_id", "artists", "track_name", "track_genre"]
    )
    assert [tuple(r) for r in songs.orderBy("id").collect()] == [
        ("0", "A", "Smith, John", 'He said "hi", twice', "pop"),
        ("1", "B", None, None, "rock"),
        ("2", "C", "Line\nBreak", "multi\nline", "jazz"),  # a quoted line break reads as \n
    ]


def test_reordered_columns_extra_columns_bom_crlf_and_blank_lines(spark, storage):
    plain = put(
        storage,
        "raw_data/a.csv",
        'user_id,track_id,listen_time\nu1,T1,2026-11-20 10:00:00\n\n   \nu2,T2,x\n"u5",T6,"x y",surplus,more\n',
    )
    quirky = put(
        storage,
        "raw_data/deep/b.csv",
        '\ufeffextra,LISTEN_TIME,track_id,user_id\r\n"1,2",2026-11-21 00:00:00,T3,u3\r\n,,,\r\n'
        'x,"","T""5""","u,4"\r\nx,2026-11-21 00:00:01\r\n',
    )
    sources = [
        datasets.csv_source(storage, k, layout.REQUIRED_STREAMS_COLUMNS, "stream") for k in (plain, quirky)
    ]
    lines = datasets.read_csv_lines(spark, storage, sources)
    got = [
        (r.source_index, r.user_id, r.track_id, r.listen_time, r._blank)
        for r in lines.orderBy("source_index", "_block", "_row").collect()
    ]
    assert got == [
        (0, "user_id", "track_id", "listen_time", False),  # the header line (`_header`)
        (0, "u1", "T1", "2026-11-20 10:00:00", False),
        (0, None, None, None, True),
        (0, "   ", None, None, True),  # only spaces: blank too
        (0, "u2", "T2", "x", False),
        # Quoted, with more fields than its file's header (and than the other file's): read by its own header.
        (0, "u5", "T6", "x y", False),
        (1, "user_id", "track_id", "LISTEN_TIME", False),
        (1, "u3", "T3", "2026-11-21 00:00:00", False),
        (1, None, None, None, False),  # ",,," is a row of empty fields, not a blank line
        (1, "u,4", 'T"5"', None, False),  # RFC 4180 quoting; "" is an empty field, read as null
        (1, None, None, "2026-11-21 00:00:01", False),  # a short line: the missing fields are null
    ]


def test_line_numbers_are_exact_across_many_splits(spark, storage):
    # 40 lines of ~33 bytes read in 256-byte splits: several splits, each numbered from the line
    # counts of the splits before it, lines cut by a split boundary included. Line 1 is the header.
    rows = [f"user{i:03d},T{i:03d},2026-11-20 10:00:{i % 60:02d}" for i in range(40)]
    key = put(storage, "raw_data/split.csv", "user_id,track_id,listen_time\n" + "\n".join(rows) + "\n")
    source = datasets.csv_source(storage, key, layout.REQUIRED_STREAMS_COLUMNS, "stream")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "256")
    try:
        lines = datasets.read_csv_lines(spark, storage, [source]).cache()
        stats = (
            lines.withColumn("reject_reason", F.lit(None).cast("string"))
            .withColumn("known_user", F.lit(True))
            .withColumn(layout.PARTITION_COLUMN, F.lit("d"))
            .groupBy(
                "source_index", "_block", "_blank", "_header", "reject_reason", "known_user", "listen_date"
            )
            .agg(F.count(F.lit(1)).alias("n"), F.min("_row").alias("first_row"))
            .collect()
        )
        assert len(stats) >= 4
        numbered = line_numbers.with_line_numbers(lines, line_numbers.split_line_bases(stats)).collect()
        lines.unpersist()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    by_line = {r.line_number: (r.user_id, r._header) for r in numbered}
    assert by_line == {1: ("user_id", True), **{i + 2: (f"user{i:03d}", False) for i in range(40)}}


def test_missing_empty_and_incomplete_files_fail_clearly(storage):
    with pytest.raises(datasets.DataError, match=r"users file .*reference_data/users/users.csv is missing"):
        datasets.csv_source(storage, layout.USERS_KEY, layout.REQUIRED_USERS_COLUMNS, "users")
    put(storage, "raw_data/empty.csv", "")
    with pytest.raises(datasets.DataError, match=r"stream file .*raw_data/empty.csv is empty"):
        datasets.csv_source(storage, "raw_data/empty.csv", layout.REQUIRED_STREAMS_COLUMNS, "stream")
    put(storage, "raw_data/narrow.csv", "user_id,when\nu1,now\n")
    with pytest.raises(datasets.DataError, match=r"lacks the columns \['track_id', 'listen_time'\]"):
        datasets.csv_source(storage, "raw_data/narrow.csv", layout.REQUIRED_STREAMS_COLUMNS, "stream")


def test_manifest_errors(storage):
    with pytest.raises(datasets.DataError, match="does not exist"):
        datasets.read_manifest(storage, "manifests/run_id=none.json")
    put(storage, "manifests/run_id=bad.json", '{"run_id": "bad"}')
    with pytest.raises(datasets.DataError, match="is not valid"):
        datasets.read_manifest(storage, "manifests/run_id=bad.json")


def test_file_listing_glob_and_a_move_that_s3_may_have_half_done(storage, tmp_path):
    """The publication's file operations, on S3's per-object semantics: a move is a copy then a
    delete, so a move found with both files present is a copy that completed."""
    put(storage, "tmp/run_id=a/t/listen_date=2026-11-20/part-1.parquet", "one")
    put(storage, "tmp/run_id=a/t/listen_date=2026-11-20/part-2.parquet", "two")
    put(storage, "tmp/run_id=a/t/listen_date=2026-11-20/_SUCCESS", "")
    put(storage, "tmp/run_id=b/publication.json", "{}")
    staged = "tmp/run_id=a/t/listen_date=2026-11-20/"
    assert storage.list_files(staged) == ["part-1.parquet", "part-2.parquet"]  # no _SUCCESS, no .crc
    assert storage.list_files("tmp/run_id=nothing/") == []
    assert storage.glob("tmp/run_id=*") == ["tmp/run_id=a", "tmp/run_id=b"]
    assert storage.glob("tmp/run_id=*/publication.json") == ["tmp/run_id=b/publication.json"]

    storage.move(f"{staged}part-1.parquet", "curated/t/listen_date=2026-11-20/part-1.parquet")
    # S3 copied part-2 and the process died before deleting the source: the move completes it.
    put(storage, "curated/t/listen_date=2026-11-20/part-2.parquet", "two")
    storage.move(f"{staged}part-2.parquet", "curated/t/listen_date=2026-11-20/part-2.parquet")
    assert storage.list_files(staged) == []
    assert storage.list_files("curated/t/listen_date=2026-11-20/") == ["part-1.parquet", "part-2.parquet"]
    assert storage.read_text("curated/t/listen_date=2026-11-20/part-1.parquet") == "one"
    with pytest.raises(OSError, match="could not move"):
        storage.move(f"{staged}part-9.parquet", "curated/t/listen_date=2026-11-20/part-9.parquet")


class _ObjectStore:
    """Stands for S3A under `DataRoot`: records the calls a move makes, every object present."""

    def __init__(self, scheme: str):
        self.scheme, self.calls = scheme, []

    def getScheme(self):
        return self.scheme

    def exists(self, path):
        self.calls.append(("exists", str(path)))
        return "staged" in str(path)

    def mkdirs(self, path):
        self.calls.append(("mkdirs", str(path)))
        return True

    def rename(self, source, target):
        self.calls.append(("rename", str(source)))
        return True


@pytest.mark.parametrize(("scheme", "mkdirs"), [("s3", 0), ("s3a", 0), ("file", 1)])
def test_a_move_makes_no_folder_on_an_object_store(storage, scheme, mkdirs):
    """On S3 a folder is a key prefix: a mkdirs would PUT an empty `curated/.../` marker object."""
    fs = storage._fs = _ObjectStore(scheme)
    storage.move("staged/part-1.parquet", "curated/t/listen_date=2026-11-20/part-1.parquet")
    assert [name for name, _ in fs.calls].count("mkdirs") == mkdirs
    assert [name for name, _ in fs.calls][-1] == "rename"


def test_staged_partitions_are_written_once_straight_to_their_folder(spark, storage):
    """No dynamic partition overwrite (a `.spark-staging-*` copy renamed into place: a second copy of
    each file on S3): a staged folder is written once, and a second write into it is refused."""
    frame = spark.createDataFrame([("a", "2026-11-20"), ("b", "2026-11-21")], ["v", layout.PARTITION_COLUMN])
    datasets.write_partitions(frame, storage, "tmp/run_id=r/streams/")
    assert sorted(r.v for r in spark.read.parquet(storage.uri("tmp/run_id=r/streams/")).collect()) == [
        "a",
        "b",
    ]
    with pytest.raises(Exception, match="already exists"):
        datasets.write_partitions(frame, storage, "tmp/run_id=r/streams/")


def test_a_files_content_id_does_not_depend_on_its_etag_or_line_order(spark, storage):
    """SSE-KMS ETags are not content MD5s: an identical re-upload must keep its id, any change must not."""
    body = ["user_id,track_id,listen_time", "u1,T1,2026-11-20 10:00:00", "u2,T2,2026-11-20 11:00:00"]
    texts = {
        "raw_data/a.csv": "\n".join(body) + "\n",
        "raw_data/again.csv": "\n".join(body) + "\n",  # the same bytes under another key
        "raw_data/reordered.csv": "\n".join([body[0], body[2], body[1]]) + "\n",
        "raw_data/changed.csv": "\n".join([*body[:2], "u2,T2,2026-11-20 11:00:01"]) + "\n",
    }
    for key, text in texts.items():
        put(storage, key, text)
    sources = [datasets.csv_source(storage, k, layout.REQUIRED_STREAMS_COLUMNS, "stream") for k in texts]
    stats = (
        datasets.read_csv_lines(spark, storage, sources)
        .groupBy("source_index", "_block")
        .agg(F.count(F.lit(1)).alias("n"), *rules.line_hash_sums())
        .collect()
    )
    ids = dict(zip(texts, rules.content_ids(stats, list(texts)), strict=True))
    digests = {key: content_id.split("#", 1)[1] for key, content_id in ids.items()}
    assert ids["raw_data/a.csv"].startswith("raw_data/a.csv#")
    assert digests["raw_data/a.csv"] == digests["raw_data/again.csv"] == digests["raw_data/reordered.csv"]
    assert digests["raw_data/changed.csv"] != digests["raw_data/a.csv"]
