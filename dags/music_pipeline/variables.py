"""Airflow Variables of the DAG, read inside tasks only (never while the DAG file is parsed).

On MWAA they come from SSM Parameter Store through the secrets backend; locally from ``AIRFLOW_VAR_*``.
On MWAA Serverless (no Airflow configuration to name a secrets backend in) the task entry points
read the same SSM parameters themselves: `from_ssm` names the prefix for the task's duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from airflow.sdk import Variable

from music_contract import names

_SSM_VARIABLES_PREFIX: ContextVar[str | None] = ContextVar("ssm_variables_prefix", default=None)


@contextmanager
def from_ssm(variables_prefix: str) -> Iterator[None]:
    """Within the block, read the Variables from SSM parameters ``<variables_prefix>/<name>`` (the
    stack's, the same ones the provisioned environment's secrets backend reads)."""
    token = _SSM_VARIABLES_PREFIX.set(variables_prefix)
    try:
        yield
    finally:
        _SSM_VARIABLES_PREFIX.reset(token)


def _ssm_variable(variables_prefix: str, name: str) -> str | None:
    # The provider's backend (pre-installed on MWAA Serverless with the Amazon provider): the
    # worker's credentials, None for a missing parameter.
    from airflow.providers.amazon.aws.secrets.systems_manager import SystemsManagerParameterStoreBackend

    backend = SystemsManagerParameterStoreBackend(variables_prefix=variables_prefix, connections_prefix=None)
    return backend.get_variable(name)


class MissingVariableError(LookupError):
    """A required Variable is not set; the message says where it should come from."""


def optional(name: str, default: str | None = None) -> str | None:
    prefix = _SSM_VARIABLES_PREFIX.get()
    value = _ssm_variable(prefix, name) if prefix else Variable.get(name, default=None)
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
    return optional(names.VAR_DATABASE_NAME, names.DEFAULT_DATABASE_NAME) or names.DEFAULT_DATABASE_NAME


def whole_seconds(name: str) -> int | None:
    """A Variable holding a number of seconds (a whole number, at least 1); None when unset."""
    value = optional(name)
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"Airflow Variable {name!r} is {value!r}: a whole number of seconds, at least 1")
    return int(value)
