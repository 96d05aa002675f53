"""Every failure alert has one shape, built in one place (music_contract.alerts)."""

from __future__ import annotations

import json
from pathlib import Path

from music_contract.alerts import EVENT_AIRFLOW_TASK_FAILED, chatbot_notification

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILDER = REPO_ROOT / "music_contract" / "alerts.py"


def test_the_notification_is_chatbots_custom_format():
    notification = chatbot_notification(
        title="[dev] Airflow task failed: dag.task",
        description="ValueError: boom",
        next_steps=["Task log: http://log"],
        keywords=["dev", "airflow", "task"],
        summary="[dev] Airflow task failed: dag.task",
        event_type=EVENT_AIRFLOW_TASK_FAILED,
        related_resources=["http://log"],
        additional_context={"environment": "dev"},
    )
    # Chatbot's custom notification: version 1.0, source custom, content with a title and
    # description in client markdown, metadata with the event type (custom-notifs.html).
    assert notification["version"] == "1.0"
    assert notification["source"] == "custom"
    assert notification["content"]["textType"] == "client-markdown"
    assert "id" not in notification  # only EventBridge events carry one
    assert json.loads(json.dumps(notification)) == notification  # plain JSON for SNS


def test_no_other_module_writes_the_notification_shape():
    """A second copy of the shape would drift from the first: every sender calls the builder."""
    copies = [
        path.relative_to(REPO_ROOT).as_posix()
        for folder in ("dags", "infra", "glue_scripts", "plugins", "ops", "local_run", "music_contract")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if path != BUILDER and '"textType"' in path.read_text()
    ]
    assert copies == []
