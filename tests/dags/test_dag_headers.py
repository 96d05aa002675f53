"""`validate_columns` logic: header parsing, every problem in one error, bounded ranged reads."""

from __future__ import annotations

import pytest

from music_contract import layout
from music_pipeline import s3_objects, validation

STREAM_COLUMNS = layout.REQUIRED_STREAMS_COLUMNS


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (b"user_id,track_id,listen_time\n", ["user_id", "track_id", "listen_time"]),
        (b"\xef\xbb\xbfuser_id,track_id,listen_time\r\n", ["user_id", "track_id", "listen_time"]),
        (b'"listen_time","user_id","track_id","extra"\r\n', ["listen_time", "user_id", "track_id", "extra"]),
        (b'id,"track, ""genre"" name"\n', ["id", 'track, "genre" name']),
    ],
)
def test_parse_header_tolerates_bom_crlf_quotes_and_order(record, expected):
    assert validation.parse_header(record) == expected


def test_missing_columns_ignore_order_and_extras():
    header = ["listen_time", "extra", "user_id"]
    assert validation.missing_columns(header, STREAM_COLUMNS) == ("track_id",)
    assert validation.missing_columns([*header, "track_id"], STREAM_COLUMNS) == ()


def test_first_record_ends_at_the_first_newline_outside_quotes():
    assert s3_objects.first_record_end(b'a,"b\nc",d\r\nrow') == len(b'a,"b\nc",d\r\n')
    assert s3_objects.first_record_end(b'a,"no end') is None


def _record_get_object_calls(client):
    """Every GetObject request's Range and the bytes S3 returned for it."""
    calls = []

    def on_params(params, **_):
        calls.append({"key": params["Key"], "range": params.get("Range")})

    def on_response(parsed, **_):
        calls[-1]["bytes"] = parsed.get("ContentLength")

    client.meta.events.register("provide-client-params.s3.GetObject", on_params)
    client.meta.events.register("after-call.s3.GetObject", on_response)
    return calls


def test_header_of_a_large_object_is_read_with_one_bounded_ranged_get(emulated_stack):
    big_key = "raw_data/big/streams_big.csv"
    row = b"123456,track_0000000001,2024-06-25 10:00:00\n"
    emulated_stack.put(big_key, b"user_id,track_id,listen_time\r\n" + row * (8 * 1024 * 1024 // len(row)))
    calls = _record_get_object_calls(emulated_stack.s3)

    passed = validation.validate_headers(
        emulated_stack.s3, emulated_stack.bucket, [validation.HeaderCheck(big_key, STREAM_COLUMNS)]
    )

    assert passed == 1
    assert calls == [
        {"key": big_key, "range": f"bytes=0-{s3_objects.HEADER_FIRST_READ_BYTES - 1}", "bytes": 65536}
    ]


def test_a_header_longer_than_the_first_read_grows_the_range_but_stays_bounded(emulated_stack):
    long_header = ",".join(f"extra_column_{i:05d}" for i in range(6000)) + ",user_id,track_id,listen_time\n"
    assert len(long_header) > s3_objects.HEADER_FIRST_READ_BYTES
    emulated_stack.put("raw_data/wide.csv", long_header + "1,t1,2024-06-25 10:00:00\n" * 50_000)
    calls = _record_get_object_calls(emulated_stack.s3)

    validation.validate_headers(
        emulated_stack.s3,
        emulated_stack.bucket,
        [validation.HeaderCheck("raw_data/wide.csv", STREAM_COLUMNS)],
    )

    assert [c["range"] for c in calls] == ["bytes=0-65535", "bytes=0-131071"]
    assert sum(c["bytes"] for c in calls) <= 2 * 131072


def test_every_bad_file_and_every_missing_column_in_one_error(emulated_stack):
    emulated_stack.put("raw_data/a.csv", "user_id,listen_time\n1,2024-06-25 10:00:00\n")
    emulated_stack.put("raw_data/b.csv", "track_id\nt1\n")
    emulated_stack.put("raw_data/empty.csv", b"")
    emulated_stack.put("raw_data/ok.csv", "listen_time,track_id,user_id\n")
    no_newline = "user_id," + "x" * (s3_objects.HEADER_MAX_BYTES + 10)
    emulated_stack.put("raw_data/no_newline.csv", no_newline)
    checks = [
        validation.HeaderCheck(key, STREAM_COLUMNS)
        for key in ["raw_data/a.csv", "raw_data/b.csv", "raw_data/empty.csv", "raw_data/ok.csv"]
    ]
    checks += [
        validation.HeaderCheck("raw_data/no_newline.csv", STREAM_COLUMNS),
        validation.HeaderCheck("raw_data/gone.csv", STREAM_COLUMNS),
    ]

    with pytest.raises(validation.ColumnsError) as caught:
        validation.validate_headers(emulated_stack.s3, emulated_stack.bucket, checks)

    message = str(caught.value)
    uri = f"s3://{emulated_stack.bucket}/raw_data"
    assert f"{uri}/a.csv: missing columns track_id" in message
    assert f"{uri}/b.csv: missing columns user_id, listen_time" in message
    assert f"{uri}/empty.csv: empty file (no header)" in message
    assert (
        f"{uri}/no_newline.csv: no line end within the first {s3_objects.HEADER_MAX_BYTES} bytes" in message
    )
    assert f"{uri}/gone.csv: object does not exist" in message
    assert "ok.csv" not in message
    assert len(caught.value.problems) == 5
