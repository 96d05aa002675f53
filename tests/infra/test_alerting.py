"""infra/alerting.py: the alert topic and its key.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

from tests.infra.policy_documents import statements


def test_alert_topic_is_encrypted_and_tls_only(each_env):
    topic = each_env.only("AWS::SNS::Topic")
    # Its own key: the data key stays out of the alert path.
    assert topic["KmsMasterKeyId"] == {
        "Fn::GetAtt": [each_env.logical_id(each_env.stack.alerting.key), "Arn"]
    }
    policy = each_env.only("AWS::SNS::TopicPolicy")
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements(policy)
    )
    # cdk.json sets no alert e-mail for either environment: no subscription to confirm.
    assert not each_env.resources("AWS::SNS::Subscription")
