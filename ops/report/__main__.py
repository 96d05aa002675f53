"""``make report``: the KPI report of a deployed environment, as one self-contained HTML file.

    make report                                    # dev environment -> out/report.html
    make report REPORT_ARGS="--env prod --region eu-west-1 --out /tmp/prod.html"
    python -m ops.report --table my-table --bucket my-bucket

Reads the KPI table and the data bucket named by the stack's outputs (``MusicStreams-<env>``:
``KpiTableName``, ``DataBucketName``) with your AWS credentials: it needs
``cloudformation:DescribeStacks``, ``dynamodb:Scan`` and ``dynamodb:Query`` (a day read while
it is being replaced) on the table, ``s3:ListBucket`` on the bucket
and ``s3:GetObject`` on ``reports/*``; it writes nothing to AWS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError

from infra.config import ConfigError, PipelineConfig, stack_name
from ops import aws_errors
from ops.report.model import build_view
from ops.report.render import write_html
from ops.report.sources import ReportSource, SourceError, read_report_data, source_from_stack

DEFAULT_OUT = Path("out/report.html")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make report REPORT_ARGS=...", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="dev", help="environment name in cdk.json (default: dev)")
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS configuration)")
    parser.add_argument("--stack", help="stack name (default: MusicStreams-<env>)")
    parser.add_argument("--table", help="KPI table name instead of the stack's output (with --bucket)")
    parser.add_argument("--bucket", help="data bucket name instead of the stack's output (with --table)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"HTML file to write (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    try:
        args.config = PipelineConfig.load(args.env)
    except ConfigError as err:
        parser.error(f"--env {args.env!r}: {err}")
    if bool(args.table) != bool(args.bucket):
        parser.error("--table and --bucket go together: pass both, or neither to read the stack's outputs")
    if args.out.is_dir():
        parser.error(
            f"--out {args.out}: is a folder; name the HTML file to write, e.g. {args.out / 'report.html'}"
        )
    if args.out.suffix.lower() not in (".html", ".htm"):
        parser.error(f"--out {args.out}: name an .html file")
    return args


def main(argv: list[str] | None = None, session: Any = None) -> int:
    args = parse_args(argv)
    import boto3

    stack = args.stack or stack_name(args.config)
    region = args.region
    try:
        if session is None:
            region = aws_errors.resolve_region(args.region)
            session = boto3.session.Session(region_name=region)
        region = session.region_name
        if args.table:
            source = ReportSource(table=args.table, bucket=args.bucket)
        else:
            source = source_from_stack(stack, session.client("cloudformation"))
        data = read_report_data(source, session)
    except Exception as err:
        # The AWS setup errors (region, credentials, stack, access) as one line, then our own.
        line = aws_errors.explain(err, stack=stack, region=region)
        if line is None and not isinstance(err, SourceError | BotoCoreError):
            raise
        print(f"error: {line or err}", file=sys.stderr)
        return 1
    view = build_view(
        data.items,
        data.quality_reports,
        data.archived_keys,
        title=f"Music streaming KPIs · {args.env}",
        source=source.describe(),
    )
    path = write_html(args.out, view)
    print(
        f"wrote {path}: {view.totals.days} day(s), {view.totals.genres} genre(s), "
        f"{view.totals.runs} run(s), {view.totals.archived_files} archived file(s) from {source.describe()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
