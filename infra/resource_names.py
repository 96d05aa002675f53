"""Every physical resource name the stack creates, derived from the environment name (and the
account and region): the stack and the local run (moto) build them from the same object
(`PipelineConfig.names`), so there is no second list of names anywhere."""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "music-streams"


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
