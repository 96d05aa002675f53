"""Synthesize the app ONCE per test session for each environment (jsii synth is slow), with both
cdk-nag packs on, exactly as `cdk synth` does; every infra test reads these results."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
ENVIRONMENTS = ("dev", "prod")
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
    return {**json.loads((REPO_ROOT / "cdk.json").read_text())["context"], "env": env}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> dict[str, Synthesized]:
    """``{"dev": Synthesized, "prod": Synthesized}``, each synthesized with both nag packs."""
    from infra.application import build_app
    from infra.stack import GLUE_SCRIPT

    script = REPO_ROOT / "glue_scripts" / GLUE_SCRIPT
    if not script.is_file():
        pytest.skip(
            f"{script.relative_to(REPO_ROOT)} is not written yet: the stack deploys it as the Glue job"
        )
    results = {}
    for env in ENVIRONMENTS:
        outdir = tmp_path_factory.mktemp(f"cdk-{env}")
        app, stack = build_app(context=_context(env), outdir=str(outdir))
        error = None
        try:
            app.synth()
        except RuntimeError as err:  # jsii surfaces "ValidationFailed" as a RuntimeError
            error = str(err)
        template = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        report_file = outdir / "validation-report.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else None
        results[env] = Synthesized(env, stack, outdir, template, error, report)
    return results


@pytest.fixture(scope="session")
def dev(synthesized) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized) -> Synthesized:
    return synthesized["prod"]


@pytest.fixture(params=ENVIRONMENTS)
def each_env(request, synthesized) -> Synthesized:
    return synthesized[request.param]
