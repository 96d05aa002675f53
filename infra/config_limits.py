"""The checks a configuration passes before anything is synthesized: settings in range, and the
limits the services enforce only at deploy time (sources cited), so that a bad value fails at synth
naming its key instead of 30 minutes into a deploy. `PipelineConfig.validated` runs them."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.config import PipelineConfig


class ConfigError(ValueError):
    """A configuration key is missing, unknown or has a value the stack cannot use."""


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
# The retentions CloudWatch Logs accepts (days).
ALLOWED_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def check_settings(config: PipelineConfig) -> None:
    """The settings any deployment needs in range: workers, NAT gateways, e-mail, reject ratio, env name."""
    if config.mwaa_webserver_access_mode not in ("PUBLIC_ONLY", "PRIVATE_ONLY"):
        raise ConfigError(
            f"mwaa_webserver_access_mode must be PUBLIC_ONLY or PRIVATE_ONLY, "
            f"got {config.mwaa_webserver_access_mode!r}"
        )
    if not 1 <= config.mwaa_min_workers <= config.mwaa_max_workers:
        raise ConfigError("need 1 <= mwaa_min_workers <= mwaa_max_workers")
    if config.nat_gateways not in (1, 2):
        raise ConfigError(f"nat_gateways must be 1 or 2 (one per AZ at most), got {config.nat_gateways}")
    if config.glue_number_of_workers < 2:
        raise ConfigError("glue_number_of_workers must be at least 2 (Glue's minimum)")
    if config.alert_email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", config.alert_email):
        raise ConfigError(f"alert_email must be an e-mail address or empty, got {config.alert_email!r}")
    if not 0 <= config.max_reject_ratio <= 1:
        raise ConfigError(f"max_reject_ratio must be within [0, 1], got {config.max_reject_ratio}")
    if not re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", config.env_name) or "--" in config.env_name:
        raise ConfigError(
            f"env (the environment name) must be lower-case letters, digits and single '-', "
            f"starting with a letter, got {config.env_name!r}"
        )


def check_alert_channels(config: PipelineConfig) -> None:
    """Each chat channel needs all of its ids or none; the incident URL must be HTTPS."""
    channels = {
        "Slack": ("slack_workspace_id", "slack_channel_id"),
        "Teams": ("teams_tenant_id", "teams_team_id", "teams_channel_id"),
    }
    for channel, keys in channels.items():
        missing = [key for key in keys if not getattr(config, key)]
        if missing and len(missing) < len(keys):
            raise ConfigError(f"{channel} alerts need {', '.join(keys)}: {', '.join(missing)} not set")
    if config.teams_channel_id and not TEAMS_CHANNEL_ID_PATTERN.fullmatch(config.teams_channel_id):
        raise ConfigError(
            f"teams_channel_id must be URL-encoded as in the channel's link (19%3a...%40thread.tacv2), "
            f"got {config.teams_channel_id!r}"
        )
    url = config.incident_webhook_url
    if url and not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
        raise ConfigError(f"incident_webhook_url must be an https:// URL or empty, got {url!r}")


def check_analytics(config: PipelineConfig) -> None:
    """The Athena scan limit, the QuickSight owner and the freshness alarm window."""
    if config.athena_scan_limit_mb < MIN_ATHENA_SCAN_LIMIT_MB:
        raise ConfigError(
            f"athena_scan_limit_mb must be at least {MIN_ATHENA_SCAN_LIMIT_MB} (Athena's minimum "
            f"BytesScannedCutoffPerQuery), got {config.athena_scan_limit_mb}"
        )
    arn = config.quicksight_principal_arn
    if arn and not QUICKSIGHT_PRINCIPAL_PATTERN.fullmatch(arn):
        raise ConfigError(
            f"quicksight_principal_arn must be a QuickSight user or group ARN "
            f"(arn:aws:quicksight:<region>:<account>:user/default/<name>) or empty, got {arn!r}"
        )
    if not 1 <= config.freshness_alarm_hours <= MAX_ALARM_WINDOW_HOURS:
        raise ConfigError(
            f"freshness_alarm_hours must be within [1, {MAX_ALARM_WINDOW_HOURS}] (an alarm evaluates at most "
            f"7 days), got {config.freshness_alarm_hours}"
        )


def check_deploy_time_limits(config: PipelineConfig) -> None:
    """Refuse, at synth, values CloudFormation would only reject 30 minutes into a deploy."""
    _check_name_limits(config)
    _check_storage_limits(config)
    _check_compute_limits(config)
    _check_network_limits(config)


def _check_name_limits(config: PipelineConfig) -> None:
    """The longest names this environment can get (longest region, any account) and the database's."""
    longest = config.names("0" * ACCOUNT_ID_LENGTH, LONGEST_REGION_NAME)
    for bucket in (longest.data_bucket, longest.mwaa_source_bucket):
        if len(bucket) > MAX_BUCKET_NAME_LENGTH:
            raise ConfigError(
                f"env {config.env_name!r} is too long: bucket name {bucket!r} has {len(bucket)} characters "
                f"in region {LONGEST_REGION_NAME}, S3 allows {MAX_BUCKET_NAME_LENGTH}"
            )
    if len(longest.glue_failure_rule) > MAX_EVENT_RULE_NAME_LENGTH:
        raise ConfigError(
            f"env {config.env_name!r} is too long: rule name {longest.glue_failure_rule!r} exceeds "
            f"{MAX_EVENT_RULE_NAME_LENGTH} characters"
        )
    if not DATABASE_NAME_PATTERN.fullmatch(config.database_name):
        raise ConfigError(
            f"database_name must be lower-case letters, digits and '_' (starting with a letter, at most "
            f"255), got {config.database_name!r}"
        )


def _check_storage_limits(config: PipelineConfig) -> None:
    """S3 lifecycle and CloudWatch Logs retention."""
    if config.archive_transition_days < MIN_STANDARD_IA_TRANSITION_DAYS:
        raise ConfigError(
            f"archive_transition_days must be at least {MIN_STANDARD_IA_TRANSITION_DAYS} "
            f"(S3's minimum age for a transition to STANDARD_IA), got {config.archive_transition_days}"
        )
    if config.noncurrent_version_expiration_days < 1:
        raise ConfigError(
            f"noncurrent_version_expiration_days must be at least 1, got {config.noncurrent_version_expiration_days}"
        )
    if config.log_retention_days not in ALLOWED_RETENTION_DAYS:
        raise ConfigError(
            f"log_retention_days must be one of {sorted(ALLOWED_RETENTION_DAYS)} (CloudWatch Logs), "
            f"got {config.log_retention_days}"
        )


def _check_compute_limits(config: PipelineConfig) -> None:
    """MWAA workers and environment class, the Glue job's timeout and execution class."""
    if config.mwaa_max_workers > MAX_MWAA_WORKERS:
        raise ConfigError(
            f"mwaa_max_workers must be at most {MAX_MWAA_WORKERS}, got {config.mwaa_max_workers}"
        )
    if config.mwaa_environment_class not in MWAA_ENVIRONMENT_CLASSES:
        raise ConfigError(
            f"mwaa_environment_class must be one of {sorted(MWAA_ENVIRONMENT_CLASSES)}, "
            f"got {config.mwaa_environment_class!r}"
        )
    if not 1 <= config.glue_timeout_minutes <= MAX_GLUE_TIMEOUT_MINUTES:
        raise ConfigError(
            f"glue_timeout_minutes must be within [1, {MAX_GLUE_TIMEOUT_MINUTES}], got {config.glue_timeout_minutes}"
        )
    if config.glue_execution_class not in GLUE_EXECUTION_CLASSES:
        raise ConfigError(
            f"glue_execution_class must be one of {sorted(GLUE_EXECUTION_CLASSES)}, got {config.glue_execution_class!r}"
        )
    if config.glue_execution_class == "FLEX" and config.glue_worker_type not in GLUE_FLEX_WORKER_TYPES:
        raise ConfigError(
            f"glue_execution_class FLEX runs on {sorted(GLUE_FLEX_WORKER_TYPES)} workers only, "
            f"got glue_worker_type {config.glue_worker_type!r}"
        )


def _check_network_limits(config: PipelineConfig) -> None:
    """The VPC must hold its two public /24 and two private /20 subnets."""
    try:
        network = ipaddress.IPv4Network(config.vpc_cidr)
    except ValueError as err:
        raise ConfigError(f"vpc_cidr must be an IPv4 network such as 10.40.0.0/16: {err}") from err
    if network.prefixlen > MAX_VPC_PREFIX_LENGTH:
        raise ConfigError(
            f"vpc_cidr must be /{MAX_VPC_PREFIX_LENGTH} or larger (two /24 public and two /20 private "
            f"subnets), got {config.vpc_cidr}"
        )
