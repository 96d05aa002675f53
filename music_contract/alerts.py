"""The one shape of every failure alert: an AWS Chatbot custom notification (version 1.0).

Chatbot drops SNS messages in no format it knows and renders this one in Slack and Teams; e-mail and
an incident tool get the same JSON (docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html).
Three senders build it here: the DAG's failure callback (dags/music_pipeline/alerts.py), the Glue
failure rule (infra/monitoring/glue_failure_rule.py) and the MWAA Serverless run-failure rule
(infra/serverless_workflow.py). The values may be CDK tokens: the EventBridge rules pass fields of
the event (``events.EventField``), which their input transformer fills in at delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

NOTIFICATION_VERSION = "1.0"
EVENT_GLUE_JOB_RUN_FAILED = "GlueJobRunFailed"
EVENT_AIRFLOW_TASK_FAILED = "AirflowTaskFailed"
EVENT_WORKFLOW_RUN_FAILED = "AirflowWorkflowRunFailed"


def chatbot_notification(
    *,
    title: str,
    description: str,
    next_steps: Sequence[str],
    keywords: Sequence[str],
    summary: str,
    event_type: str,
    related_resources: Sequence[str],
    additional_context: Mapping[str, str],
    notification_id: str | None = None,
) -> dict[str, Any]:
    """A failure as a Chatbot custom notification.

    :param title: the one line that says what failed, where and which run (``[<env>] ...``).
    :param description: the error, in Chatbot's client markdown.
    :param next_steps: what to open or run next (console links, commands).
    :param keywords: tags Chatbot shows (environment first).
    :param summary: the short form (the SNS subject for e-mail).
    :param event_type: one of the ``EVENT_*`` names above.
    :param related_resources: URLs or ARNs of what failed.
    :param additional_context: string pairs a reader or tool may filter on (``environment`` first).
    :param notification_id: the source event's id (EventBridge rules), for de-duplication.
    """
    notification: dict[str, Any] = {"version": NOTIFICATION_VERSION, "source": "custom"}
    if notification_id is not None:
        notification["id"] = notification_id
    notification["content"] = {
        "textType": "client-markdown",
        "title": title,
        "description": description,
        "nextSteps": list(next_steps),
        "keywords": list(keywords),
    }
    notification["metadata"] = {
        "summary": summary,
        "eventType": event_type,
        "relatedResources": list(related_resources),
        "additionalContext": dict(additional_context),
    }
    return notification
