"""infra/log_groups.py: every log group of the stack is encrypted and keeps a retention.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("resource_type", ["AWS::Logs::LogGroup"])
def test_log_groups_are_encrypted_with_a_retention(each_env, resource_type):
    for group in each_env.resources(resource_type).values():
        assert group["Properties"]["RetentionInDays"] == each_env.config.log_retention_days
        assert "KmsKeyId" in group["Properties"]
