"""Deployment configuration: a typed object read from `cdk.json` context, and the resource names.

Every resource name the stack creates comes from `ResourceNames`, and the local run (moto) builds
the same names from the same object, so there is no second list of names anywhere.

Select an environment with `-c env=prod` (default `dev`); keys under `environments.<env>` in
`cdk.json` override the defaults below, and a single key can be overridden on the command line
with `-c <key>=<value>`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Literal

from music_pipeline import contract

WebserverAccessMode = Literal["PUBLIC_ONLY", "PRIVATE_ONLY"]
PROJECT = "music-streams"


class ConfigError(ValueError):
    """A configuration key is missing, unknown or has a value the stack cannot use."""


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that differs between deployments. Defaults suit a small dev environment."""

    env_name: str = "dev"
    # Orchestration (MWAA)
    airflow_version: str = "3.3.1"
    mwaa_environment_class: str = "mw1.small"
    mwaa_min_workers: int = 1
    mwaa_max_workers: int = 2
    mwaa_webserver_access_mode: WebserverAccessMode = "PUBLIC_ONLY"
    vpc_cidr: str = "10.40.0.0/16"
    # NAT gateways for the private subnets' egress: 1 is cheaper, 2 survives the loss of an AZ.
    nat_gateways: int = 1
    # Glue job
    glue_version: str = "5.1"
    glue_worker_type: str = "G.1X"
    glue_number_of_workers: int = 2
    glue_timeout_minutes: int = 60
    max_reject_ratio: float = contract.DEFAULT_MAX_REJECT_RATIO
    database_name: str = contract.DEFAULT_DATABASE_NAME
    # Alerting: an e-mail address subscribed to the alert topic (none when empty).
    alert_email: str = ""
    # Data: keep buckets, table and key on `cdk destroy` (always true in prod).
    retain_data: bool = False
    # Days before archived raw files and quarantined rows move to cheaper storage.
    archive_transition_days: int = 30
    noncurrent_version_expiration_days: int = 90
    log_retention_days: int = 365

    @property
    def is_prod(self) -> bool:
        return self.env_name == "prod"

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> PipelineConfig:
        """Build the configuration from CDK context: `environments.<env>` then top-level overrides."""
        env_name = str(context.get("env", "dev"))
        environments = context.get("environments", {})
        if env_name not in environments:
            raise ConfigError(
                f"unknown environment {env_name!r}: cdk.json 'environments' has {sorted(environments)}"
            )
        values: dict[str, Any] = {**environments[env_name], "env_name": env_name}
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in context.items():
            if key in known and key != "env_name":
                values[key] = value
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown configuration keys for environment {env_name!r}: {unknown}")
        return cls(**{k: _coerce(known[k], k, v) for k, v in values.items()}).validated()

    def validated(self) -> PipelineConfig:
        if self.mwaa_webserver_access_mode not in ("PUBLIC_ONLY", "PRIVATE_ONLY"):
            raise ConfigError(
                f"mwaa_webserver_access_mode must be PUBLIC_ONLY or PRIVATE_ONLY, "
                f"got {self.mwaa_webserver_access_mode!r}"
            )
        if not 1 <= self.mwaa_min_workers <= self.mwaa_max_workers:
            raise ConfigError("need 1 <= mwaa_min_workers <= mwaa_max_workers")
        if self.nat_gateways not in (1, 2):
            raise ConfigError(f"nat_gateways must be 1 or 2 (one per AZ at most), got {self.nat_gateways}")
        if self.glue_number_of_workers < 2:
            raise ConfigError("glue_number_of_workers must be at least 2 (Glue's minimum)")
        if self.alert_email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.alert_email):
            raise ConfigError(f"alert_email must be an e-mail address or empty, got {self.alert_email!r}")
        if not 0 <= self.max_reject_ratio <= 1:
            raise ConfigError(f"max_reject_ratio must be within [0, 1], got {self.max_reject_ratio}")
        if not self.env_name.replace("-", "").isalnum() or self.env_name != self.env_name.lower():
            raise ConfigError(f"env_name must be lower-case letters, digits and '-', got {self.env_name!r}")
        return self

    def names(self, account: str, region: str) -> ResourceNames:
        """Resource names for this environment in one account and region (CDK tokens allowed)."""
        return ResourceNames(self.env_name, account, region, self.database_name)


def _coerce(spec: dataclasses.Field, key: str, value: Any) -> Any:
    """Context values from `-c key=value` arrive as strings; turn them into the field's type."""
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    try:
        if kind == "bool" and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError as err:
        raise ConfigError(f"configuration key {key!r} must be {kind}, got {value!r}") from err
    return value


@dataclass(frozen=True)
class ResourceNames:
    """Physical names of the resources, derived from the environment name (and account/region)."""

    env_name: str
    account: str
    region: str
    database_name: str

    @property
    def prefix(self) -> str:
        return f"{PROJECT}-{self.env_name}"

    # S3 bucket names are global: account and region make them unique.
    @property
    def data_bucket(self) -> str:
        return f"{self.prefix}-data-{self.account}-{self.region}"

    @property
    def mwaa_source_bucket(self) -> str:
        return f"{self.prefix}-airflow-{self.account}-{self.region}"

    @property
    def access_logs_bucket(self) -> str:
        return f"{self.prefix}-access-logs-{self.account}-{self.region}"

    @property
    def kpi_table(self) -> str:
        return f"{self.prefix}-genre-kpis"

    @property
    def glue_job(self) -> str:
        return f"{self.prefix}-compute-kpis"

    @property
    def mwaa_environment(self) -> str:
        return f"{self.prefix}-airflow"

    @property
    def alert_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def ssm_prefix(self) -> str:
        """SSM Parameter Store root of the Airflow secrets backend for this environment."""
        return f"/{PROJECT}/{self.env_name}/airflow"

    @property
    def airflow_variables_prefix(self) -> str:
        return f"{self.ssm_prefix}/variables"

    @property
    def airflow_connections_prefix(self) -> str:
        return f"{self.ssm_prefix}/connections"
