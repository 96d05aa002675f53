"""Deployment configuration: a typed object read from `cdk.json` context, and the resource names.

Every resource name the stack creates comes from `ResourceNames`, and the local run (moto) builds
the same names from the same object, so there is no second list of names anywhere.

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
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import music_contract as contract

WebserverAccessMode = Literal["PUBLIC_ONLY", "PRIVATE_ONLY"]
# provisioned: an MWAA environment (VPC, NAT, scheduler, web server); serverless: an MWAA Serverless
# workflow (no VPC, billed per task run). docs/cost.md compares them; infra/orchestration.py checks them.
Orchestration = Literal["provisioned", "serverless"]
PROJECT = "music-streams"
# The CDK app's settings; its "context" holds the environments (`environments.<env>`).
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
# The production environment (`is_prod`); it keeps the seed's Glue database name, every other its own.
PRIMARY_ENVIRONMENT = "prod"

# Limits the services enforce only at deploy time, checked at synth instead (sources cited).
# S3 bucket names: 3-63 characters (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
MAX_BUCKET_NAME_LENGTH = 63
# The longest region name in botocore's endpoints (us-isof-south-1); names carry the region.
LONGEST_REGION_NAME = "us-isof-south-1"
ACCOUNT_ID_LENGTH = 12
# EventBridge rule names: at most 64 characters (AWS::Events::Rule Name).
MAX_EVENT_RULE_NAME_LENGTH = 64
# Lifecycle transitions to STANDARD_IA need objects at least 30 days old
# (docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html).
MIN_STANDARD_IA_TRANSITION_DAYS = 30
# MWAA: 1-25 workers per environment (AWS::MWAA::Environment MaxWorkers/MinWorkers).
MAX_MWAA_WORKERS = 25
MWAA_ENVIRONMENT_CLASSES = frozenset(
    {"mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"}
)
# The VPC holds two /24 public and two /20 private subnets: it needs at least a /18.
MAX_VPC_PREFIX_LENGTH = 18
# Glue job timeout in minutes: 1 to 10080 (7 days) for glueetl jobs (AWS::Glue::Job Timeout).
MAX_GLUE_TIMEOUT_MINUTES = 10080
# Glue execution classes (AWS::Glue::Job ExecutionClass). FLEX runs on spare capacity: cheaper, its
# start and run times vary; Glue 3.0+ Spark (glueetl) jobs on G.1X or G.2X workers only
# (docs.aws.amazon.com/glue/latest/dg/add-job.html; aws.amazon.com/blogs/big-data/introducing-aws-glue-flex-jobs-cost-savings-on-etl-workloads/).
GLUE_EXECUTION_CLASSES = frozenset({"STANDARD", "FLEX"})
GLUE_FLEX_WORKER_TYPES = frozenset({"G.1X", "G.2X"})
# Glue/Athena database names: lower-case letters, digits and underscores (Athena needs no quoting).
DATABASE_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,254}")
# Athena's smallest per-query scan limit: 10 MB (AWS::Athena::WorkGroup BytesScannedCutoffPerQuery).
MIN_ATHENA_SCAN_LIMIT_MB = 10
BYTES_PER_MB = 1_000_000
# CloudWatch alarms: Period x EvaluationPeriods at most 7 days (PutMetricAlarm).
MAX_ALARM_WINDOW_HOURS = 7 * 24
# QuickSight users and groups (the dashboard's owner).
QUICKSIGHT_PRINCIPAL_PATTERN = re.compile(r"arn:aws[a-z-]*:quicksight:[a-z0-9-]+:\d{12}:(user|group)/.+")
# AWS::Chatbot::MicrosoftTeamsChannelConfiguration TeamsChannelId: the id as the channel's link
# carries it, URL-encoded (``19%3a<id>%40thread.tacv2``).
TEAMS_CHANNEL_ID_PATTERN = re.compile(
    r"[a-zA-Z0-9\-_=+/.,]*%3[aA][a-zA-Z0-9\-_=+/.,]*%40[a-zA-Z0-9\-_=+/.,]*"
)
# Top-level context keys the configuration reads besides the fields: `-c env=<name>` and cdk.json's map.
CONTEXT_KEYS = ("env", "environments")
# Context keys that belong to the CDK itself, not to this app: feature flags ("@aws-cdk/..."), the
# CLI's settings and cached lookups ("aws:cdk:...", "availability-zones:account=...": all with a
# colon), and `cdk acknowledge`'s list (cdk.context.json).
CDK_CONTEXT_KEYS = frozenset({"acknowledged-issue-numbers"})
# The retentions CloudWatch Logs accepts (days).
ALLOWED_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def default_database_name(env_name: str) -> str:
    """``music_streams`` for the primary environment, ``music_streams_<env>`` for every other one, so
    two environments in one account and region never share a Glue database."""
    base = contract.DEFAULT_DATABASE_NAME
    return base if env_name == PRIMARY_ENVIRONMENT else f"{base}_{env_name.replace('-', '_')}"


class ConfigError(ValueError):
    """A configuration key is missing, unknown or has a value the stack cannot use."""


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
    max_reject_ratio: float = contract.DEFAULT_MAX_REJECT_RATIO
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
        if not re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", self.env_name) or "--" in self.env_name:
            raise ConfigError(
                f"env (the environment name) must be lower-case letters, digits and single '-', "
                f"starting with a letter, got {self.env_name!r}"
            )
        self._check_deploy_time_limits()
        from infra.orchestration import check_orchestration  # it reads this module's ConfigError

        check_orchestration(self)
        self._check_alert_channels()
        self._check_analytics()
        return self

    @property
    def is_serverless(self) -> bool:
        return self.orchestration == "serverless"

    def _check_alert_channels(self) -> None:
        """Each chat channel needs all of its ids or none; the incident URL must be HTTPS."""
        channels = {
            "Slack": ("slack_workspace_id", "slack_channel_id"),
            "Teams": ("teams_tenant_id", "teams_team_id", "teams_channel_id"),
        }
        for channel, keys in channels.items():
            missing = [key for key in keys if not getattr(self, key)]
            if missing and len(missing) < len(keys):
                raise ConfigError(f"{channel} alerts need {', '.join(keys)}: {', '.join(missing)} not set")
        if self.teams_channel_id and not TEAMS_CHANNEL_ID_PATTERN.fullmatch(self.teams_channel_id):
            raise ConfigError(
                f"teams_channel_id must be URL-encoded as in the channel's link (19%3a...%40thread.tacv2), "
                f"got {self.teams_channel_id!r}"
            )
        url = self.incident_webhook_url
        if url and not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
            raise ConfigError(f"incident_webhook_url must be an https:// URL or empty, got {url!r}")

    def _check_analytics(self) -> None:
        if self.athena_scan_limit_mb < MIN_ATHENA_SCAN_LIMIT_MB:
            raise ConfigError(
                f"athena_scan_limit_mb must be at least {MIN_ATHENA_SCAN_LIMIT_MB} (Athena's minimum "
                f"BytesScannedCutoffPerQuery), got {self.athena_scan_limit_mb}"
            )
        arn = self.quicksight_principal_arn
        if arn and not QUICKSIGHT_PRINCIPAL_PATTERN.fullmatch(arn):
            raise ConfigError(
                f"quicksight_principal_arn must be a QuickSight user or group ARN "
                f"(arn:aws:quicksight:<region>:<account>:user/default/<name>) or empty, got {arn!r}"
            )
        if not 1 <= self.freshness_alarm_hours <= MAX_ALARM_WINDOW_HOURS:
            raise ConfigError(
                f"freshness_alarm_hours must be within [1, {MAX_ALARM_WINDOW_HOURS}] (an alarm evaluates at most "
                f"7 days), got {self.freshness_alarm_hours}"
            )

    @property
    def chat_channels(self) -> tuple[str, ...]:
        """The chat applications alerts go to: ``Slack`` and/or ``Teams`` when their ids are set."""
        return tuple(
            name for name, key in (("Slack", self.slack_workspace_id), ("Teams", self.teams_tenant_id)) if key
        )

    def _check_deploy_time_limits(self) -> None:
        """Refuse, at synth, values CloudFormation would only reject 30 minutes into a deploy."""
        longest = self.names("0" * ACCOUNT_ID_LENGTH, LONGEST_REGION_NAME)
        for bucket in (longest.data_bucket, longest.mwaa_source_bucket):
            if len(bucket) > MAX_BUCKET_NAME_LENGTH:
                raise ConfigError(
                    f"env {self.env_name!r} is too long: bucket name {bucket!r} has {len(bucket)} characters "
                    f"in region {LONGEST_REGION_NAME}, S3 allows {MAX_BUCKET_NAME_LENGTH}"
                )
        if len(longest.glue_failure_rule) > MAX_EVENT_RULE_NAME_LENGTH:
            raise ConfigError(
                f"env {self.env_name!r} is too long: rule name {longest.glue_failure_rule!r} exceeds "
                f"{MAX_EVENT_RULE_NAME_LENGTH} characters"
            )
        if not DATABASE_NAME_PATTERN.fullmatch(self.database_name):
            raise ConfigError(
                f"database_name must be lower-case letters, digits and '_' (starting with a letter, at most "
                f"255), got {self.database_name!r}"
            )
        if self.archive_transition_days < MIN_STANDARD_IA_TRANSITION_DAYS:
            raise ConfigError(
                f"archive_transition_days must be at least {MIN_STANDARD_IA_TRANSITION_DAYS} "
                f"(S3's minimum age for a transition to STANDARD_IA), got {self.archive_transition_days}"
            )
        if self.noncurrent_version_expiration_days < 1:
            raise ConfigError(
                f"noncurrent_version_expiration_days must be at least 1, got {self.noncurrent_version_expiration_days}"
            )
        if self.log_retention_days not in ALLOWED_RETENTION_DAYS:
            raise ConfigError(
                f"log_retention_days must be one of {sorted(ALLOWED_RETENTION_DAYS)} (CloudWatch Logs), "
                f"got {self.log_retention_days}"
            )
        if self.mwaa_max_workers > MAX_MWAA_WORKERS:
            raise ConfigError(
                f"mwaa_max_workers must be at most {MAX_MWAA_WORKERS}, got {self.mwaa_max_workers}"
            )
        if self.mwaa_environment_class not in MWAA_ENVIRONMENT_CLASSES:
            raise ConfigError(
                f"mwaa_environment_class must be one of {sorted(MWAA_ENVIRONMENT_CLASSES)}, "
                f"got {self.mwaa_environment_class!r}"
            )
        if not 1 <= self.glue_timeout_minutes <= MAX_GLUE_TIMEOUT_MINUTES:
            raise ConfigError(
                f"glue_timeout_minutes must be within [1, {MAX_GLUE_TIMEOUT_MINUTES}], got {self.glue_timeout_minutes}"
            )
        if self.glue_execution_class not in GLUE_EXECUTION_CLASSES:
            raise ConfigError(
                f"glue_execution_class must be one of {sorted(GLUE_EXECUTION_CLASSES)}, got {self.glue_execution_class!r}"
            )
        if self.glue_execution_class == "FLEX" and self.glue_worker_type not in GLUE_FLEX_WORKER_TYPES:
            raise ConfigError(
                f"glue_execution_class FLEX runs on {sorted(GLUE_FLEX_WORKER_TYPES)} workers only, "
                f"got glue_worker_type {self.glue_worker_type!r}"
            )
        try:
            network = ipaddress.IPv4Network(self.vpc_cidr)
        except ValueError as err:
            raise ConfigError(f"vpc_cidr must be an IPv4 network such as 10.40.0.0/16: {err}") from err
        if network.prefixlen > MAX_VPC_PREFIX_LENGTH:
            raise ConfigError(
                f"vpc_cidr must be /{MAX_VPC_PREFIX_LENGTH} or larger (two /24 public and two /20 private "
                f"subnets), got {self.vpc_cidr}"
            )

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

    # S3 bucket names are global: account and region make them unique. (The access-log bucket has
    # no fixed name: it outlives the stack, infra/storage.py ACCESS_LOGS_REMOVAL_POLICY.)
    @property
    def data_bucket(self) -> str:
        return f"{self.prefix}-data-{self.account}-{self.region}"

    @property
    def mwaa_source_bucket(self) -> str:
        return f"{self.prefix}-airflow-{self.account}-{self.region}"

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
    def serverless_workflow(self) -> str:
        """The MWAA Serverless workflow (orchestration=serverless)."""
        return f"{self.prefix}-pipeline"

    @property
    def serverless_log_group(self) -> str:
        return f"/aws/mwaa-serverless/{self.serverless_workflow}"

    @property
    def serverless_failure_rule(self) -> str:
        return f"{self.prefix}-workflow-failed"

    @property
    def alert_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def glue_failure_rule(self) -> str:
        return f"{self.prefix}-glue-job-failed"

    @property
    def alarm_prefix(self) -> str:
        """Every alarm of the stack is named ``<alarm_prefix><purpose>``."""
        return f"{self.prefix}-"

    @property
    def chat_channel_configuration(self) -> str:
        """AWS Chatbot configuration names (1-128 characters): ``<prefix>-alerts-<slack|teams>``."""
        return f"{self.prefix}-alerts"

    @property
    def athena_workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def glue_security_configuration(self) -> str:
        return f"{self.prefix}-glue"

    @property
    def glue_log_group_prefix(self) -> str:
        """``--custom-logGroup-prefix`` of the Glue job (see `pipeline_settings.glue_log_group_names`)."""
        return f"/aws-glue/jobs/{self.glue_job}"

    def mwaa_log_group(self, log_type: str) -> str:
        """MWAA's log group of one type (``DAGProcessing``, ``Scheduler``, ``Task``, ``WebServer``,
        ``Worker``): ``airflow-<environment name>-<Type>``."""
        return f"airflow-{self.mwaa_environment}-{log_type}"

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
