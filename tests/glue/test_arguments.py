"""The job's command line (`music_kpis.arguments`): Glue's parser and the local one accept and
refuse the same arguments, with the same clear errors."""

from __future__ import annotations

import argparse

import pytest

from music_kpis.arguments import parse_arguments
from music_kpis.datasets import DataError


class GlueArgumentError(Exception):
    pass


def glue_resolved_options(args, options):
    """The parsing core of Glue's `awsglue.utils.getResolvedOptions` (awslabs/aws-glue-libs,
    awsglue/utils.py): argparse whose `error` raises `GlueArgumentError`, `--TempDir` optional,
    one required `--<name>` per option asked for, `parse_known_args(args[1:])`."""

    class GlueArgumentParser(argparse.ArgumentParser):
        def error(self, message):
            raise GlueArgumentError(message)

    parser = GlueArgumentParser()
    parser.add_argument("--TempDir", required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)
    parsed, _ = parser.parse_known_args(args[1:])
    return vars(parsed)


ARGS = [
    "compute_kpis.py", "--JOB_ID", "j_1", "--data_bucket", "bucket", "--manifest_key", "manifests/m.json",
    "--database_name", "music_streams", "--kpi_table", "kpis", "--TempDir", "s3://bucket/glue-temp/",
]  # fmt: skip
PARSERS = pytest.mark.parametrize("resolve", [None, glue_resolved_options], ids=["local", "glue"])


@PARSERS
@pytest.mark.parametrize(
    ("extra", "run_id", "data_root", "ratio"),
    [
        (["--run_id", "r1", "--data_root=s3://other/root"], "r1", "s3://other/root", 0.05),
        (
            ["--run_id", "-r1-starts-with-a-dash", "--data_root", "s3://x"],
            "-r1-starts-with-a-dash",
            "s3://x",
            0.05,
        ),
        (["--run_id=--r2", "--max_reject_ratio=0.2"], "--r2", None, 0.2),
        (["--max_reject_ratio", "-0", "--run_id", "-"], "-", None, 0.0),
    ],
    ids=["equals-form", "dash-value", "equals-dash-value", "dash-values-everywhere"],
)
def test_both_parsers_accept_the_same_arguments(resolve, extra, run_id, data_root, ratio):
    args = parse_arguments([*ARGS, *extra], resolve=resolve)
    assert (args.run_id, args.data_root, args.max_reject_ratio) == (run_id, data_root, ratio)
    assert (args.data_bucket, args.kpi_table) == ("bucket", "kpis")


@PARSERS
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (ARGS, r"job arguments: .*required: --run_id"),
        ([*ARGS, "--run_id"], r"job arguments: argument --run_id: expected one argument"),
        (
            [*ARGS, "--run_id", "r", "--max_reject_ratio=lots"],
            r"--max_reject_ratio must be a number, got 'lots'",
        ),
    ],
    ids=["missing", "no-value", "not-a-number"],
)
def test_both_parsers_refuse_the_same_arguments_clearly(resolve, argv, message):
    with pytest.raises(DataError, match=message):
        parse_arguments(argv, resolve=resolve)
