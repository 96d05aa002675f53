"""The ``orchestration`` and ``schedule`` keys: what each orchestration accepts, checked at synth.

``provisioned`` runs the DAG on an MWAA environment; ``serverless`` runs the same workflow on MWAA
Serverless (infra/serverless_workflow.py), whose schedule is a cron expression or none and whose
tasks run at most 60 minutes (MWAA Serverless user guide, supported-airflow-parameters.html; AWS
agent-toolkit-for-aws authoring-mwaa-workflow skill). docs/cost.md compares the two.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from infra.config import ConfigError
from music_pipeline.workflow import WorkflowLimitError, glue_task_timeout

if TYPE_CHECKING:
    from infra.config import PipelineConfig

ORCHESTRATIONS = ("provisioned", "serverless")
# A five-field cron expression (UTC).
CRON_PATTERN = re.compile(r"\S+( \S+){4}")


def check_orchestration(config: PipelineConfig) -> None:
    """Refuse an unknown orchestration, a schedule that is no cron or that the provisioned DAG would
    ignore, and a Glue timeout the serverless workflow cannot wait for (naming the keys)."""
    if config.orchestration not in ORCHESTRATIONS:
        raise ConfigError(
            f"orchestration must be one of {list(ORCHESTRATIONS)}, got {config.orchestration!r}"
        )
    if config.schedule and not CRON_PATTERN.fullmatch(config.schedule):
        raise ConfigError(
            f"schedule must be a five-field cron expression (UTC) such as '15 3 * * *', or empty for "
            f"manual runs; got {config.schedule!r}"
        )
    if config.schedule and not config.is_serverless:
        raise ConfigError(
            "schedule applies to orchestration=serverless (the provisioned DAG runs on trigger)"
        )
    if config.is_serverless:
        try:
            glue_task_timeout(config.glue_timeout_minutes)
        except WorkflowLimitError as err:
            raise ConfigError(str(err)) from err
