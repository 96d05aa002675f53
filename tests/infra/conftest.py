"""Synthesize ONE app holding every environment of cdk.json ONCE per test session (jsii synth is
slow), with the three policy packs on, as `cdk synth` does; every infra test reads these results.
One app, because the environments are meant to live side by side in one account and region."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.config import cdk_context, environment_names

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = environment_names()
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
ACKNOWLEDGED_RULES_KEY = "aws:cdk:acknowledged-rules"


@dataclass
class Synthesized:
    """One environment's synth: the stack object, its template and what cdk-nag reported."""

    env: str
    stack: Any  # infra.stack.MusicStreamsStack
    outdir: Path
    template: dict[str, Any]
    validation_error: str | None  # the synth error when a validation plugin failed, else None
    validation_report: dict[str, Any] | None

    @property
    def config(self):
        return self.stack.config

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == resource_type}

    def only(self, resource_type: str) -> dict[str, Any]:
        found = list(self.resources(resource_type).values())
        assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
        return found[0]["Properties"]

    def logical_id(self, construct) -> str:
        return self.stack.get_logical_id(construct.node.default_child)

    def acknowledgements(self) -> dict[str, dict[str, str]]:
        """Construct path -> {acknowledged rule id: reason}, from the stack's metadata file."""
        metadata = json.loads((self.outdir / f"{self.stack.stack_name}.metadata.json").read_text())
        found: dict[str, dict[str, str]] = {}
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == ACKNOWLEDGED_RULES_KEY:
                    found.setdefault(path, {}).update(entry["data"])
        return found

    def asset_path(self, s3_object_key_fragment: str) -> Path:
        """The staged file or folder of the asset whose hash the given key fragment holds."""
        assets = json.loads((self.outdir / f"{self.stack.stack_name}.assets.json").read_text())["files"]
        for asset_hash, asset in assets.items():
            if asset_hash in s3_object_key_fragment:
                return self.outdir / asset["source"]["path"]
        raise AssertionError(f"no asset for {s3_object_key_fragment!r}")


def _context(env: str) -> dict[str, Any]:
    return {**cdk_context(), "env": env}


@dataclass
class CliSynth:
    process: subprocess.Popen
    outdir: Path

    def wait(self) -> tuple[int, str]:
        """Exit code and combined output of ``cdk synth``."""
        output, _ = self.process.communicate(timeout=900)
        return self.process.returncode, output


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory):
    """``cdk synth --quiet`` through the pinned CLI (cdk.json runs app.py), started in the background."""
    if not CDK_CLI.exists():
        pytest.skip("the pinned CDK CLI is not installed (make node)")
    outdir = tmp_path_factory.mktemp("cdk-cli")
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    process = subprocess.Popen(
        [str(CDK_CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir), "-c", "env=dev"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield CliSynth(process, outdir)
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory, request) -> dict[str, Synthesized]:
    """``{"dev": Synthesized, "prod": Synthesized, ...}``: every environment, one app, three packs."""
    from infra.application import build_app_with_every_environment
    from infra.stack import GLUE_SCRIPT

    # When this session also runs the CLI synth, start it now: it uses the other core meanwhile.
    if any("cli_synth" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("cli_synth")

    script = REPO_ROOT / "glue_scripts" / GLUE_SCRIPT
    if not script.is_file():
        pytest.skip(
            f"{script.relative_to(REPO_ROOT)} is not written yet: the stack deploys it as the Glue job"
        )
    outdir = tmp_path_factory.mktemp("cdk")
    app, stacks = build_app_with_every_environment(context=_context("dev"), outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as err:  # jsii surfaces "ValidationFailed" as a RuntimeError
        error = str(err)
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    results = {}
    for env, stack in stacks.items():
        template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        results[env] = Synthesized(env, stack, outdir, template, error, report)
    return results


@pytest.fixture(scope="session")
def cfn_lint_findings(synthesized) -> dict[str, list[dict[str, Any]]]:
    """cfn-lint over both templates in one run (its start-up is the slow part): env -> findings."""
    templates = {env: s.outdir / f"{s.stack.stack_name}.template.json" for env, s in synthesized.items()}
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", *map(str, templates.values())],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The exit code is a bit mask (2 errors, 4 warnings, 8 informational); anything else is a crash.
    assert result.returncode & ~(2 | 4 | 8) == 0, result.stderr
    findings = json.loads(result.stdout or "[]")
    return {env: [f for f in findings if Path(f["Filename"]) == path] for env, path in templates.items()}


@pytest.fixture(scope="session")
def dev(synthesized) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized) -> Synthesized:
    return synthesized["prod"]


@pytest.fixture(params=ENVIRONMENTS)
def each_env(request, synthesized) -> Synthesized:
    return synthesized[request.param]


# Every optional part switched on (chat channels, incident tool, QuickSight): one more synth, of prod
# (retained data, the failed-create cleanup: the strictest template), with the three policy packs,
# shared by the tests of those parts and the template-wide rules that need every resource.
OPTIONAL_PARTS = {
    "slack_workspace_id": "T0123ABCD",
    "slack_channel_id": "C0123ABCDE",
    "teams_tenant_id": "11111111-1111-1111-1111-111111111111",
    "teams_team_id": "22222222-2222-2222-2222-222222222222",
    "teams_channel_id": "19%3aabc123%40thread.tacv2",
    "incident_webhook_url": "https://events.pagerduty.com/integration/abc123/enqueue",
    "quicksight_principal_arn": "arn:aws:quicksight:eu-west-1:111122223333:user/default/analyst",
}


@pytest.fixture(scope="session")
def with_optional_parts(tmp_path_factory) -> Synthesized:
    """prod with every optional key of `OPTIONAL_PARTS` set, synthesized with the three packs."""
    from infra.application import build_app

    outdir = tmp_path_factory.mktemp("cdk-optional")
    app, stack = build_app(context={**_context("prod"), **OPTIONAL_PARTS}, outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as err:
        error = str(err)
    template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    return Synthesized("prod", stack, outdir, template, error, None)
