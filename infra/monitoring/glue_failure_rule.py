"""The Glue job's failure rule: every FAILED, TIMEOUT or ERROR end of the job as an AWS Chatbot
custom notification (`music_contract.alerts`) on the alert topic."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.alerting import TopicTarget
from infra.config import ResourceNames
from music_contract import metrics
from music_contract.alerts import EVENT_GLUE_JOB_RUN_FAILED, chatbot_notification

# Glue job states that mean "the KPIs of this run did not land".
GLUE_FAILURE_STATES = ("FAILED", "TIMEOUT", "ERROR")


def glue_failure_message(names: ResourceNames, job_name: str) -> events.RuleTargetInput:
    """A failed Glue run as the contract's Chatbot notification (`music_contract.alerts`), filled in
    from the Glue event by EventBridge."""
    detail = events.EventField.from_path
    run_id, state = detail("$.detail.jobRunId"), detail("$.detail.state")
    url = metrics.glue_job_run_console_url(Aws.REGION, job_name, run_id)
    return events.RuleTargetInput.from_object(
        chatbot_notification(
            notification_id=detail("$.id"),
            title=f"[{names.env_name}] Glue job run {state}: {job_name} run {run_id}",
            description=f"{detail('$.detail.message')}",
            next_steps=[f"Open the run: {url}"],
            keywords=[names.env_name, "glue", state],
            summary=f"[{names.env_name}] {job_name} {state}",
            event_type=EVENT_GLUE_JOB_RUN_FAILED,
            related_resources=[url],
            additional_context={"environment": names.env_name, "jobRunId": run_id},
        )
    )


def glue_failure_rule(
    scope: Construct, names: ResourceNames, topic: sns.ITopic, job_name: str
) -> events.Rule:
    """Every FAILED, TIMEOUT or ERROR end of the job, as a message on the alert topic."""
    rule = events.Rule(
        scope,
        "GlueJobFailed",
        rule_name=names.glue_failure_rule,
        description=f"{job_name} failed, timed out or errored",
        event_pattern=events.EventPattern(
            source=["aws.glue"],
            detail_type=["Glue Job State Change"],
            detail={"jobName": [job_name], "state": list(GLUE_FAILURE_STATES)},
        ),
    )
    rule.add_target(TopicTarget(topic, glue_failure_message(names, job_name)))
    return rule
