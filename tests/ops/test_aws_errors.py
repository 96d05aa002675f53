"""The first errors an operator meets: every command that talks to a deployed environment answers
each AWS setup problem with one line saying what to set, never a traceback.

The region and credential cases run the commands on boto3's real configuration chain (an empty
one); the answers AWS gives (expired token, access denied, no such stack) are injected at botocore's
``before-call`` event, so the real clients raise the real ``ClientError``.
"""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError, UnauthorizedSSOTokenError

from ops import aws_errors, trigger
from ops.report.__main__ import main as report_main

REGION = "eu-west-1"
STACK = "MusicStreams-dev"


def run_trigger(argv, session):
    return trigger.main(argv, mwaa_client=session.client("mwaa") if session else None)


def run_recompute(argv, session):
    return run_trigger(["--recompute-dates", "2026-11-20", *argv], session)


def run_replay(argv, session):
    return run_trigger(["--replay-from", "2026-11-20", "--replay-to", "2026-11-21", *argv], session)


def run_report(argv, session):
    return report_main(argv, session=session)


def run_smoke(argv, session):
    from ops import smoke

    return smoke.main(argv, session=session)


# command -> (runner, the IAM action of its first call)
COMMANDS = {
    "trigger": (run_trigger, "airflow:InvokeRestApi"),
    "recompute": (run_recompute, "airflow:InvokeRestApi"),
    "replay": (run_replay, "airflow:InvokeRestApi"),
    "report": (run_report, "cloudformation:DescribeStacks"),
    "smoke": (run_smoke, "cloudformation:DescribeStacks"),
}


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path):
    """No region, no credentials, no profile: a machine nobody configured for AWS."""
    for name in (
        "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3's module-level session caches the credentials an earlier test resolved (the emulator's).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def session_answering(code: str, message: str, status: int = 400) -> boto3.session.Session:
    """A real boto3 session whose every call gets AWS's error answer `code`, `message`."""
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret"
    )

    def answer(**_):
        body = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return SimpleNamespace(status_code=status, headers={}, content=b""), body

    session.events.register("before-call", answer)
    return session


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.usefixtures("no_aws_configuration")
def test_no_region_says_what_to_set(command, capsys):
    run, _ = COMMANDS[command]
    assert run([], None) == 1
    line = one_error_line(capsys)
    assert "no AWS region" in line
    assert "AWS_DEFAULT_REGION" in line
    assert "--region" in line


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.usefixtures("no_aws_configuration")
def test_only_aws_region_set_is_used_and_missing_credentials_say_so(command, capsys, monkeypatch):
    # boto3 alone answers NoRegionError here; the commands read AWS_REGION as the AWS CLI v2 does.
    monkeypatch.setenv("AWS_REGION", REGION)
    run, _ = COMMANDS[command]
    assert run([], None) == 1
    line = one_error_line(capsys)
    assert "no AWS credentials" in line
    assert "aws configure" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_expired_credentials(command, capsys):
    run, _ = COMMANDS[command]
    session = session_answering(
        "ExpiredTokenException", "The security token included in the request is expired"
    )
    assert run([], session) == 1
    assert "credentials have expired" in one_error_line(capsys)


@pytest.mark.parametrize("command", COMMANDS)
def test_access_denied_names_the_action(command, capsys):
    run, action = COMMANDS[command]
    session = session_answering("AccessDeniedException", "", status=403)
    assert run([], session) == 1
    line = one_error_line(capsys)
    assert "access denied" in line
    assert action in line
    assert REGION in line


@pytest.mark.parametrize("command", COMMANDS)
def test_stack_not_deployed_names_stack_and_region(command, capsys):
    run, _ = COMMANDS[command]
    if command in ("report", "smoke"):
        session = session_answering("ValidationError", f"Stack with id {STACK} does not exist")
    else:  # InvokeRestApi on an environment that does not exist
        session = session_answering(
            "ResourceNotFoundException", "Environment music-streams-dev-airflow not found", status=404
        )
    assert run([], session) == 1
    line = one_error_line(capsys)
    assert STACK in line
    assert REGION in line
    assert "make deploy" in line


def test_access_denied_takes_the_action_from_aws_message_when_it_names_one():
    err = ClientError(
        {
            "Error": {
                "Code": "AccessDenied",
                "Message": "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
                "s3:ListBucket on resource: arn:aws:s3:::music-data",
            }
        },
        "ListObjectsV2",
    )
    assert aws_errors.iam_action(err) == "s3:ListBucket"
    assert "s3:ListBucket" in aws_errors.explain(err, region=REGION)


def test_an_expired_sso_session_is_one_line():
    assert aws_errors.explain(UnauthorizedSSOTokenError()) == aws_errors.EXPIRED_LINE


def test_an_explicit_region_wins_and_other_errors_are_left_alone():
    assert aws_errors.resolve_region("ap-south-1") == "ap-south-1"
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Scan")
    assert aws_errors.explain(throttled) is None
    assert aws_errors.explain(ValueError("not AWS")) is None


def test_smoke_refuses_prod_without_allow_prod_before_any_call(capsys):
    from ops import smoke

    session = session_answering("AccessDeniedException", "", status=403)  # any call would fail
    assert smoke.main(["--env", "prod"], session=session) == 2
    assert "--allow-prod" in capsys.readouterr().err
