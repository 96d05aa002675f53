"""Deployment configuration: a typed object read from `cdk.json` context, and its loader.

The checks a configuration passes live in `infra/config_limits.py`, the resource names it gives
in `infra/resource_names.py` (`ResourceNames`); both are re-exported here, so that
``from infra.config import ConfigError, PipelineConfig, ResourceNames`` is the one import a
construct needs.

Select an environment with `-c env=prod` (default `dev`); keys under `environments.<env>` in
`cdk.json` override the defaults below, and a single key can be overridden on the command line
with `-c <key>=<value>`. The defaults are written once, as `PipelineConfig`'s field defaults:
`cdk.json` holds only what an environment changes, and the README's configuration table is checked
against the fields (tests/infra/test_configuration.py). Outside the CDK app, `PipelineConfig.load`
is the one reader of `cdk.json`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infra.config_limits import (
    ACCOUNT_ID_LENGTH,
    ALLOWED_RETENTION_DAYS,
    BYTES_PER_MB,
    DATABASE_NAME_PATTERN,
    GLUE_EXECUTION_CLASSES,
    GLUE_FLEX_WORKER_TYPES,
    LONGEST_REGION_NAME,
    MAX_ALARM_WINDOW_HOURS,
    MAX_BUCKET_NAME_LENGTH,
    MAX_EVENT_RULE_NAME_LENGTH,
    MAX_GLUE_TIMEOUT_MINUTES,
    MAX_MWAA_WORKERS,
    MAX_VPC_PREFIX_LENGTH,
    MIN_ATHENA_SCAN_LIMIT_MB,
    MIN_STANDARD_IA_TRANSITION_DAYS,
    MWAA_ENVIRONMENT_CLASSES,
    QUICKSIGHT_PRINCIPAL_PATTERN,
    TEAMS_CHANNEL_ID_PATTERN,
    ConfigError,
    check_alert_channels,
    check_analytics,
    check_deploy_time_limits,
    check_settings,
)
from infra.resource_names import PROJECT, ResourceNames
from music_contract import names as contract_names

# Re-exported: the limits and names importers take from here.
__all__ = [
    "ACCOUNT_ID_LENGTH",
    "ALLOWED_RETENTION_DAYS",
    "BYTES_PER_MB",
    "CDK_JSON",
    "DATABASE_NAME_PATTERN",
    "GLUE_EXECUTION_CLASSES",
    "GLUE_FLEX_WORKER_TYPES",
    "LONGEST_REGION_NAME",
    "MAX_ALARM_WINDOW_HOURS",
    "MAX_BUCKET_NAME_LENGTH",
    "MAX_EVENT_RULE_NAME_LENGTH",
    "MAX_GLUE_TIMEOUT_MINUTES",
    "MAX_MWAA_WORKERS",
    "MAX_VPC_PREFIX_LENGTH",
    "MIN_ATHENA_SCAN_LIMIT_MB",
    "MIN_STANDARD_IA_TRANSITION_DAYS",
    "MWAA_ENVIRONMENT_CLASSES",
    "PRIMARY_ENVIRONMENT",
    "PROJECT",
    "QUICKSIGHT_PRINCIPAL_PATTERN",
    "TEAMS_CHANNEL_ID_PATTERN",
    "ConfigError",
    "PipelineConfig",
    "ResourceNames",
    "cdk_context",
    "default_database_name",
    "environment_names",
    "is_cdk_context_key",
    "stack_name",
]

WebserverAccessMode = Literal["PUBLIC_ONLY", "PRIVATE_ONLY"]
# provisioned: an MWAA environment (VPC, NAT, scheduler, web server); serverless: an MWAA Serverless
# workflow (no VPC, billed per task run). docs/cost.md compares them; infra/orchestration.py checks them.
Orchestration = Literal["provisioned", "serverless"]
# The CDK app's settings; its "context" holds the environments (`environments.<env>`).
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
# MWAA's Python for Airflow 3.3 (its image's): Airflow's constraints files are per Python version.
MWAA_PYTHON_VERSION = "3.12"


def mwaa_constraints_file(airflow_version: str) -> Path:
    """The repository's copy of Airflow `airflow_version`'s constraints (constraints/README.md): what
    ``make lock`` resolves against and what synth checks MWAA's requirements against."""
    return (
        CDK_JSON.parent / "constraints" / f"airflow-{airflow_version}-constraints-py{MWAA_PYTHON_VERSION}.txt"
    )


# The production environment (`is_prod`); it keeps the seed's Glue database name, every other its own.
PRIMARY_ENVIRONMENT = "prod"

# Top-level context keys the configuration reads besides the fields: `-c env=<name>` and cdk.json's map.
CONTEXT_KEYS = ("env", "environments")
# Context keys that belong to the CDK itself, not to this app: feature flags ("@aws-cdk/..."), the
# CLI's settings and cached lookups ("aws:cdk:...", "availability-zones:account=...": all with a
# colon), and `cdk acknowledge`'s list (cdk.context.json).
CDK_CONTEXT_KEYS = frozenset({"acknowledged-issue-numbers"})


def default_database_name(env_name: str) -> str:
    """``music_streams`` for the primary environment, ``music_streams_<env>`` for every other one, so
    two environments in one account and region never share a Glue database."""
    base = contract_names.DEFAULT_DATABASE_NAME
    return base if env_name == PRIMARY_ENVIRONMENT else f"{base}_{env_name.replace('-', '_')}"


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that differs between deployments. Defaults suit a small dev environment."""

    env_name: str = "dev"
    # Orchestration: "provisioned" (an MWAA environment) or "serverless" (an MWAA Serverless workflow).
    orchestration: Orchestration = "provisioned"
    # Cron expression of the scheduled run (UTC); empty: manual runs only (make trigger).
    schedule: str = ""
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
    # STANDARD, or FLEX for runs that can wait (cheaper per DPU-hour, start time not guaranteed).
    glue_execution_class: str = "STANDARD"
    # Glue auto scaling (Glue 3.0+): glue_number_of_workers becomes the most a run may use.
    glue_auto_scaling: bool = False
    max_reject_ratio: float = contract_names.DEFAULT_MAX_REJECT_RATIO
    # Empty: `default_database_name(env_name)`; set it only to adopt an existing database.
    database_name: str = ""
    # Alerting: an e-mail address subscribed to the alert topic (none when empty).
    alert_email: str = ""
    # Slack through AWS Chatbot: the workspace id (authorized once in the console) and channel id.
    slack_workspace_id: str = ""
    slack_channel_id: str = ""
    # Microsoft Teams through AWS Chatbot: tenant, team and channel ids (team authorized once).
    teams_tenant_id: str = ""
    teams_team_id: str = ""
    teams_channel_id: str = ""
    # An incident tool's (PagerDuty, Opsgenie) HTTPS integration URL subscribed to the alert topic.
    incident_webhook_url: str = ""
    # Athena: the most a query of the stack's workgroup may scan, in MB (10**6 bytes).
    athena_scan_limit_mb: int = 1000
    # QuickSight: the user or group ARN that owns the dashboard (no QuickSight resources when empty).
    quicksight_principal_arn: str = ""
    # Alarm when the newest complete KPI date is older than this many hours.
    freshness_alarm_hours: int = 36
    # Data: keep buckets, table and key on `cdk destroy` (always true in prod).
    retain_data: bool = False
    # Days before archived raw files and quarantined rows move to cheaper storage.
    archive_transition_days: int = 30
    noncurrent_version_expiration_days: int = 90
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not self.database_name:
            object.__setattr__(self, "database_name", default_database_name(self.env_name))

    @property
    def is_prod(self) -> bool:
        return self.env_name == PRIMARY_ENVIRONMENT

    @classmethod
    def load(
        cls, env_name: str = "dev", *, cdk_json: Path = CDK_JSON, overrides: dict[str, Any] | None = None
    ) -> PipelineConfig:
        """The configuration ``cdk synth -c env=<env_name>`` (plus ``-c key=value`` for each of
        ``overrides``) uses: the one reader of `cdk.json` outside the CDK app."""
        return cls.from_context({**cdk_context(cdk_json), **(overrides or {}), "env": env_name})

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
        _refuse_unknown_top_level_keys(context, known)
        for key, value in context.items():
            if key in known and key != "env_name":
                values[key] = value
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown configuration keys for environment {env_name!r}: {unknown}")
        return cls(**{k: _coerce(known[k], k, v) for k, v in values.items()}).validated()

    def validated(self) -> PipelineConfig:
        """This configuration, once every check of `infra.config_limits` (and the orchestration's) passed."""
        check_settings(self)
        check_deploy_time_limits(self)
        from infra.orchestration import check_orchestration  # it imports this module: import it late

        check_orchestration(self)
        check_alert_channels(self)
        check_analytics(self)
        return self

    @property
    def is_serverless(self) -> bool:
        return self.orchestration == "serverless"

    def names(self, account: str, region: str) -> ResourceNames:
        """Resource names for this environment in one account and region (CDK tokens allowed)."""
        return ResourceNames(self.env_name, account, region, self.database_name)


def is_cdk_context_key(key: str) -> bool:
    """A context key the CDK owns (feature flag, CLI setting, cached lookup), not a setting of ours."""
    return key.startswith("@") or ":" in key or key in CDK_CONTEXT_KEYS


def _refuse_unknown_top_level_keys(context: dict[str, Any], known: dict[str, Any]) -> None:
    """A top-level key (``-c key=value`` or cdk.json's ``context``) that is neither a setting nor the
    CDK's own would otherwise be ignored without a word: refuse it, naming the closest setting."""
    settings = [name for name in known if name != "env_name"]
    for key in context:
        if key in known or key in CONTEXT_KEYS or is_cdk_context_key(key):
            continue
        closest = difflib.get_close_matches(key, [*settings, *CONTEXT_KEYS], n=1, cutoff=0.6)
        hint = f": did you mean {closest[0]!r}?" if closest else f"; the settings are {sorted(settings)}"
        raise ConfigError(f"unknown configuration key {key!r} (given with -c or in cdk.json's context){hint}")


def cdk_context(cdk_json: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` object of `cdk.json` (what the CDK app starts from before any ``-c``)."""
    try:
        context = json.loads(cdk_json.read_text())["context"]
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(f"{cdk_json}: cannot read its 'context' object: {err!r}") from err
    if not isinstance(context.get("environments"), dict):
        raise ConfigError(f"{cdk_json}: 'context.environments' must map environment names to settings")
    return context


def environment_names(cdk_json: Path = CDK_JSON) -> tuple[str, ...]:
    """The environments `cdk.json` defines, in its order."""
    return tuple(cdk_context(cdk_json)["environments"])


def stack_name(config: PipelineConfig) -> str:
    """``MusicStreams-<env>``: two environments deploy side by side from one app."""
    return f"MusicStreams-{config.env_name}"


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
