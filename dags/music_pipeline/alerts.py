"""Failure alerts: a task's ``on_failure_callback`` publishes one message to SNS.

The topic is the optional Variable `alert_topic_arn`. The callback never raises: a broken alert path
is logged, and the task's own error stays what Airflow reports.

One formatter (`failure_message`) says what failed (the DAG task, or the Glue run with its state and
error), in which environment (Variable `environment_name`), which run, and links to act on (the
task's Airflow log, the Glue console's run page). The message is an AWS Chatbot custom notification,
built by the contract's one builder (`music_contract.alerts`), as the stack's EventBridge rules build
theirs: Chatbot drops SNS messages in no format it knows, so a plain-text body would never reach
Slack or Teams.
The SNS subject (e-mail) is the notification's title, made a valid subject.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from music_contract import metrics, names
from music_contract.alerts import EVENT_AIRFLOW_TASK_FAILED, EVENT_GLUE_JOB_RUN_FAILED, chatbot_notification

log = logging.getLogger(__name__)

# SNS Publish ``Subject``: "no line breaks or control characters, and less than 100 characters
# long" (SNS API reference, PublishRequest.Subject); non-ASCII characters make SNS rewrite it
# (Amazon Managed Prometheus, "Understanding Amazon SNS message validation rules").
MAX_SUBJECT_CHARS = 99
_MAX_ERROR_CHARS = 1500
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]+")
UNKNOWN_ENVIRONMENT = "unknown-env"


def sns_subject(text: str) -> str:
    """`text` as a valid SNS subject: printable ASCII on one line, under 100 characters."""
    subject = " ".join(_NOT_PRINTABLE_ASCII.sub(" ", text).split())
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 3].rstrip() + "..."
    return subject or "Airflow failure"


def _error_text(error: BaseException | None) -> str:
    text = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    if len(text) > _MAX_ERROR_CHARS:
        text = text[:_MAX_ERROR_CHARS] + " ...(truncated)"
    return text


def failure_notification(context: Any, environment: str) -> dict[str, Any]:
    """The failure as a Chatbot custom notification (version 1.0): title, description, links.

    A failed Glue run (the error carries ``glue_run``: job name, run id, state, reason, region, as
    `music_pipeline.glue.GlueRunFailedError` does) is named as such, with the Glue console's run page.
    """
    ti = context["ti"]
    error = context.get("exception")
    log_url = getattr(ti, "log_url", None)
    glue_run = getattr(error, "glue_run", None)
    next_steps = [f"Task log: {log_url}"] if log_url else []
    related = [log_url] if log_url else []
    if glue_run is not None:
        glue_url = metrics.glue_job_run_console_url(
            glue_run["region"], glue_run["job_name"], glue_run["job_run_id"]
        )
        what = f"Glue job run {glue_run['state']}: {glue_run['job_name']} run {glue_run['job_run_id']}"
        description = f"{glue_run['reason'] or 'no error message from Glue'}"
        next_steps.insert(0, f"Glue run: {glue_url}")
        related.insert(0, glue_url)
        keywords = [environment, "glue", glue_run["state"]]
    else:
        what = f"Airflow task failed: {ti.dag_id}.{ti.task_id}"
        description = _error_text(error)
        keywords = [environment, "airflow", ti.task_id]
    title = f"[{environment}] {what}"
    return chatbot_notification(
        title=title,
        description=f"DAG `{ti.dag_id}` task `{ti.task_id}` run `{ti.run_id}` try {ti.try_number}: {description}",
        next_steps=next_steps,
        keywords=keywords,
        summary=sns_subject(title),
        event_type=EVENT_GLUE_JOB_RUN_FAILED if glue_run is not None else EVENT_AIRFLOW_TASK_FAILED,
        related_resources=related,
        additional_context={
            "environment": environment,
            "dagId": ti.dag_id,
            "taskId": ti.task_id,
            "dagRunId": ti.run_id,
            "try": str(ti.try_number),
            **({"jobRunId": glue_run["job_run_id"]} if glue_run is not None else {}),
        },
    )


def failure_message(context: Any, environment: str = UNKNOWN_ENVIRONMENT) -> tuple[str, str]:
    """(SNS subject, SNS message): the subject line and the Chatbot notification as one-line JSON
    (as the EventBridge alert arrives)."""
    notification = failure_notification(context, environment)
    return sns_subject(notification["content"]["title"]), json.dumps(notification)


def publish_failure_alert(context: Any) -> None:
    """``on_failure_callback``: publish `failure_message` to `alert_topic_arn`, if that is set."""
    try:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        from music_pipeline import variables

        topic_arn = variables.optional(names.VAR_ALERT_TOPIC_ARN)
        if not topic_arn:
            log.info("Variable %s not set: no failure alert sent", names.VAR_ALERT_TOPIC_ARN)
            return
        environment = variables.optional(names.VAR_ENVIRONMENT_NAME, UNKNOWN_ENVIRONMENT)
        subject, body = failure_message(context, environment or UNKNOWN_ENVIRONMENT)
        SnsHook(aws_conn_id=names.AWS_CONN_ID).publish_to_target(topic_arn, body, subject=subject)
        log.info("Failure alert published to %s", topic_arn)
    except Exception:  # the alert must never mask the task's own failure
        log.exception("Could not publish the failure alert")
