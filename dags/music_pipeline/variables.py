"""Airflow Variables of the DAG, read inside tasks only (never while the DAG file is parsed).

On MWAA they come from SSM Parameter Store through the secrets backend; locally from ``AIRFLOW_VAR_*``.
"""

from __future__ import annotations

from airflow.sdk import Variable

import music_contract as contract


class MissingVariableError(LookupError):
    """A required Variable is not set; the message says where it should come from."""


def optional(name: str, default: str | None = None) -> str | None:
    value = Variable.get(name, default=None)
    return value if value not in (None, "") else default


def missing(name: str) -> MissingVariableError:
    """The error for an unset Variable: its name and where it should come from."""
    return MissingVariableError(
        f"Airflow Variable {name!r} is not set (on MWAA: the stack's SSM parameter "
        f".../airflow/variables/{name}; locally: environment variable AIRFLOW_VAR_{name.upper()})"
    )


def required(name: str) -> str:
    value = optional(name)
    if value is None:
        raise missing(name)
    return value


def database_name() -> str:
    return (
        optional(contract.VAR_DATABASE_NAME, contract.DEFAULT_DATABASE_NAME) or contract.DEFAULT_DATABASE_NAME
    )
