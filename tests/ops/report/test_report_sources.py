"""The report's reader and `make report` against the shared moto server: the boto3 calls a deployed
environment answers (CloudFormation outputs, a DynamoDB scan, S3 listings and reads)."""

from __future__ import annotations

import itertools
import json

import boto3
import pytest

from local_run.resources import create_kpi_table
from music_contract import layout
from ops.report import __main__ as report_cli
from ops.report import sources
from tests.ops.report.report_data import HOSTILE_GENRE, SMALL_ARCHIVED, SMALL_ITEMS, SMALL_REPORTS

_names = itertools.count(1)


@pytest.fixture
def deployed(moto_server):
    """A table and bucket holding the small data set, and a stack whose outputs name them."""
    n = next(_names)
    source = sources.ReportSource(table=create_kpi_table(f"report-test-{n}"), bucket=f"report-test-{n}")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=source.bucket)
    with boto3.resource("dynamodb").Table(source.table).batch_writer() as batch:
        for item in SMALL_ITEMS:
            batch.put_item(Item=item)
    for report in SMALL_REPORTS:
        s3.put_object(Bucket=source.bucket, Key=layout.report_key(report["run_id"]), Body=json.dumps(report))
    s3.put_object(Bucket=source.bucket, Key=f"{layout.REPORTS_PREFIX}README.txt", Body=b"not a report")
    for key in SMALL_ARCHIVED:
        s3.put_object(Bucket=source.bucket, Key=key, Body=b"user_id,track_id,listen_time\n")
    s3.put_object(Bucket=source.bucket, Key=f"{layout.RAW_PREFIX}waiting.csv", Body=b"")  # not archived
    stack = f"MusicStreams-report{n}"
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            sources.TABLE_OUTPUT: {"Value": source.table},
            sources.BUCKET_OUTPUT: {"Value": source.bucket},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=stack, TemplateBody=json.dumps(template))
    return stack, source


def test_reads_table_reports_and_archive(deployed):
    stack, source = deployed
    assert sources.source_from_stack(stack) == source
    data = sources.read_report_data(source)
    key = lambda item: (item["pk"], item["sk"])  # noqa: E731
    assert sorted(data.items, key=key) == sorted(SMALL_ITEMS, key=key)
    assert sorted(data.quality_reports, key=lambda r: r["run_id"]) == sorted(
        SMALL_REPORTS, key=lambda r: r["run_id"]
    )
    assert data.archived_keys == sorted(SMALL_ARCHIVED)


def test_a_broken_report_is_named(deployed):
    _, source = deployed
    key = layout.report_key("manual__broken")
    boto3.client("s3").put_object(Bucket=source.bucket, Key=key, Body=b"{not json")
    with pytest.raises(sources.SourceError, match=f"s3://{source.bucket}/{key} is not a JSON"):
        sources.read_quality_reports(source.bucket)


def test_missing_stack_and_missing_outputs_are_named(moto_server):
    with pytest.raises(sources.SourceError, match=r"stack MusicStreams-nowhere .*does not exist.*--region"):
        sources.source_from_stack("MusicStreams-nowhere")
    template = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {}}
    boto3.client("cloudformation").create_stack(
        StackName="MusicStreams-old", TemplateBody=json.dumps(template)
    )
    with pytest.raises(
        sources.SourceError, match=f"no output {sources.TABLE_OUTPUT}, {sources.BUCKET_OUTPUT}"
    ):
        sources.source_from_stack("MusicStreams-old")


def test_missing_table_is_named(moto_server):
    with pytest.raises(sources.SourceError, match="KPI table no-such-table"):
        sources.read_kpi_items("no-such-table")


def test_make_report_from_the_stack_outputs(deployed, tmp_path, capsys):
    stack, source = deployed
    out = tmp_path / "nested" / "report.html"
    assert report_cli.main(["--env", "dev", "--stack", stack, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Music streaming KPIs · dev" in page
    assert f"table {source.table}, bucket {source.bucket}" in page
    assert HOSTILE_GENRE not in page
    assert f"wrote {out}: 2 day(s), 3 genre(s), 2 run(s), 3 archived file(s)" in capsys.readouterr().out


def test_make_report_with_table_and_bucket(deployed, tmp_path):
    _, source = deployed
    out = tmp_path / "r.html"
    assert report_cli.main(["--table", source.table, "--bucket", source.bucket, "--out", str(out)]) == 0
    assert "manual__a" in out.read_text(encoding="utf-8")


def test_make_report_names_a_missing_stack(moto_server, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert report_cli.main(["--stack", "MusicStreams-gone", "--out", str(out)]) == 1
    assert "error: stack MusicStreams-gone" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "nowhere"], "--env 'nowhere': unknown environment 'nowhere'"),
        (["--table", "t"], "--table and --bucket go together"),
        (["--bucket", "b"], "--table and --bucket go together"),
        (["--out", "report.txt"], "--out report.txt: name an .html file"),
    ],
)
def test_make_report_argument_errors_name_the_setting(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report_cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_make_report_out_is_a_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        report_cli.parse_args(["--out", str(tmp_path)])
    assert f"--out {tmp_path}: is a folder" in capsys.readouterr().err


def test_demo_writes_the_same_report(deployed, tmp_path, capsys):
    """`make demo`'s outputs come from the same reader and renderer as `make report`."""
    from local_run.demo import write_report

    _, source = deployed
    assert write_report(tmp_path, source.table, source.bucket) == len(SMALL_ITEMS)
    assert len(json.loads((tmp_path / "kpi_items.json").read_text())) == len(SMALL_ITEMS)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Music streaming KPIs · demo" in page
    assert "manual__a" in page
    assert capsys.readouterr().out.startswith("Music streaming KPIs · demo: 15 listens, 2 day(s)")


def test_scan_follows_every_page(deployed):
    _, source = deployed
    assert "LastEvaluatedKey" in boto3.resource("dynamodb").Table(source.table).scan(Limit=2)  # pages
    items = sources.read_kpi_items(source.table, page_size=2)  # 9 items: five pages
    assert sorted((i["pk"], i["sk"]) for i in items) == sorted((i["pk"], i["sk"]) for i in SMALL_ITEMS)
