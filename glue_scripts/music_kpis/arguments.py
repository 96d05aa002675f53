"""The job's command line (docs/DESIGN.md, "Glue job contract"): the same names and the same errors on
Glue (`awsglue.utils.getResolvedOptions`) and locally (argparse), as a `JobArguments`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

from music_contract import layout, reprocess
from music_contract import names as contract_names
from music_kpis.datasets import DataError


@dataclass(frozen=True)
class JobArguments:
    data_bucket: str
    manifest_key: str  # "" in recompute mode
    run_id: str
    kpi_table: str
    database_name: str = contract_names.DEFAULT_DATABASE_NAME
    data_root: str | None = None
    max_reject_ratio: float = contract_names.DEFAULT_MAX_REJECT_RATIO
    recompute_dates: tuple[str, ...] = ()  # recompute mode when set

    @property
    def root(self) -> str:
        return self.data_root or f"s3://{self.data_bucket}"

    @property
    def safe_run_id(self) -> str:
        return layout.sanitize_run_id(self.run_id)


REQUIRED_ARGUMENTS = ("data_bucket", "manifest_key", "run_id", "database_name", "kpi_table")
OPTIONAL_ARGUMENTS = ("data_root", "max_reject_ratio", "recompute_dates")
# In recompute mode there is no manifest: --recompute_dates replaces --manifest_key.
ARGUMENT_REPLACED_BY_RECOMPUTE = "manifest_key"


def arguments_from(values: dict[str, str]) -> JobArguments:
    """JobArguments from the argument names of the contract (Glue's resolved options or argparse)."""
    try:
        ratio = float(values.get("max_reject_ratio") or contract_names.DEFAULT_MAX_REJECT_RATIO)
    except ValueError as err:
        raise DataError(f"--max_reject_ratio must be a number, got {values['max_reject_ratio']!r}") from err
    if not 0 <= ratio <= 1:
        raise DataError(f"--max_reject_ratio must be within [0, 1], got {ratio}")
    recompute_dates: tuple[str, ...] = ()
    if values.get("recompute_dates") is not None:
        if values.get(ARGUMENT_REPLACED_BY_RECOMPUTE):
            raise DataError("job arguments: give --manifest_key or --recompute_dates, not both")
        try:
            recompute_dates = reprocess.parse_recompute_dates(values["recompute_dates"], "--recompute_dates")
        except ValueError as err:
            raise DataError(f"job arguments: {err}") from err
    missing = [
        f"--{n}" for n in REQUIRED_ARGUMENTS if not values.get(n) and not _replaced(n, recompute_dates)
    ]
    if missing:
        raise DataError(f"job arguments: missing {missing}")
    return JobArguments(
        **{name: values.get(name) or "" for name in REQUIRED_ARGUMENTS},
        data_root=values.get("data_root") or None,
        max_reject_ratio=ratio,
        recompute_dates=recompute_dates,
    )


def _replaced(name: str, recompute_dates: Sequence[str]) -> bool:
    return bool(recompute_dates) and name == ARGUMENT_REPLACED_BY_RECOMPUTE


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, as Glue's `GlueArgumentParser` does."""

    def error(self, message: str):
        raise DataError(f"job arguments: {message}")


def _in_equals_form(argv: Sequence[str]) -> list[str]:
    """The job's own `--name value` pairs as `--name=value`; every other token unchanged.

    argparse (Glue's parser is argparse too) reads a value that starts with `-` as an option
    and fails; the `=` form gives any value to its option, on both parsers. Glue passes each
    argument as a `--name value` pair, so the token after one of our names is its value.
    """
    names = {f"--{name}" for name in (*REQUIRED_ARGUMENTS, *OPTIONAL_ARGUMENTS)}
    tokens, paired = list(argv), []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in names and index + 1 < len(tokens):
            paired.append(f"{token}={tokens[index + 1]}")
            index += 2
        else:
            paired.append(token)
            index += 1
    return paired


def parse_arguments(argv: Sequence[str], resolve=None) -> JobArguments:
    """JobArguments from a command line (`argv[0]` is the script), the same on Glue and locally.

    On Glue `resolve` is `awsglue.utils.getResolvedOptions` (argparse: `parse_known_args`, one
    required option per name asked for; awslabs/aws-glue-libs, awsglue/utils.py); elsewhere an
    argparse parser with the same names. Both see the `--name=value` form, so a value may start
    with `-` and an optional argument given as `--name=value` is never missed. A missing,
    repeated-without-value or unparseable argument fails with `DataError("job arguments: ...")`.
    """
    script, tokens = argv[0], _in_equals_form(argv[1:])
    if resolve is None:
        try:
            from awsglue.utils import getResolvedOptions as resolve
        except ImportError:
            resolve = _resolve_locally
    present = [name for name in OPTIONAL_ARGUMENTS if any(t.startswith(f"--{name}=") for t in tokens)]
    required = list(REQUIRED_ARGUMENTS)
    if "recompute_dates" in present:  # getResolvedOptions requires every name it is asked for
        required.remove(ARGUMENT_REPLACED_BY_RECOMPUTE)
        present += (
            [ARGUMENT_REPLACED_BY_RECOMPUTE]
            if any(t.startswith(f"--{ARGUMENT_REPLACED_BY_RECOMPUTE}=") for t in tokens)
            else []
        )
    try:
        values = resolve([script, *tokens], [*required, *present])
    except DataError:
        raise
    except Exception as err:  # Glue's GlueArgumentError: the message names the argument
        raise DataError(f"job arguments: {err}") from err
    return arguments_from({k: v for k, v in values.items() if v is not None})


def _resolve_locally(argv: Sequence[str], names: Sequence[str]) -> dict[str, str]:
    parser = _ArgumentParser(prog="compute_kpis.py", description="Compute the daily genre KPIs.")
    for name in names:
        parser.add_argument(f"--{name}", required=name in REQUIRED_ARGUMENTS)
    # Glue adds arguments of its own (--JOB_NAME, --TempDir, ...): ignore what we do not know.
    known, _ = parser.parse_known_args(list(argv[1:]))
    return vars(known)
