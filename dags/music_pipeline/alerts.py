"""Failure alerts: a task's ``on_failure_callback`` publishes a short message to SNS.

The topic is the optional Variable `alert_topic_arn`. The callback never raises: a broken alert path
is logged, and the task's own error stays what Airflow reports.
"""

from __future__ import annotations

import logging
from typing import Any

import music_contract as contract

log = logging.getLogger(__name__)

# SNS subjects: at most 100 printable ASCII characters; keep the error excerpt short as well.
_MAX_SUBJECT = 100
_MAX_ERROR_CHARS = 1500


def failure_message(context: Any) -> tuple[str, str]:
    """(subject, body) naming the DAG, task, run, try, the error and the task log link."""
    ti = context["ti"]
    error = context.get("exception")
    error_text = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    if len(error_text) > _MAX_ERROR_CHARS:
        error_text = error_text[:_MAX_ERROR_CHARS] + " ...(truncated)"
    subject = f"Airflow failure: {ti.dag_id}.{ti.task_id}"
    subject = subject.encode("ascii", "replace").decode("ascii")[:_MAX_SUBJECT]
    body = "\n".join(
        [
            f"DAG: {ti.dag_id}",
            f"Task: {ti.task_id}",
            f"Run: {ti.run_id}",
            f"Try: {ti.try_number}",
            f"Error: {error_text}",
            f"Log: {getattr(ti, 'log_url', '(no log link)')}",
        ]
    )
    return subject, body


def publish_failure_alert(context: Any) -> None:
    """``on_failure_callback``: publish `failure_message` to `alert_topic_arn`, if that is set."""
    try:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        from music_pipeline import variables

        topic_arn = variables.optional(contract.VAR_ALERT_TOPIC_ARN)
        if not topic_arn:
            log.info("Variable %s not set: no failure alert sent", contract.VAR_ALERT_TOPIC_ARN)
            return
        subject, body = failure_message(context)
        SnsHook(aws_conn_id=contract.AWS_CONN_ID).publish_to_target(topic_arn, body, subject=subject)
        log.info("Failure alert published to %s", topic_arn)
    except Exception:  # the alert must never mask the task's own failure
        log.exception("Could not publish the failure alert")
