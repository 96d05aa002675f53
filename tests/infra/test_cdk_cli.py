"""The CLI path: the pinned aws-cdk CLI runs app.py (cdk.json) and synthesizes with the nag checks."""

from __future__ import annotations

import json


def test_pinned_cli_synthesizes_the_dev_stack(synthesized, cli_synth):
    # `synthesized` first: it starts the CLI in the background before its own in-process synth.
    returncode, output = cli_synth.wait()
    assert returncode == 0, output[-6000:]
    template = json.loads((cli_synth.outdir / "MusicStreams-dev.template.json").read_text())
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::MWAA::Environment", "AWS::Glue::Job", "AWS::DynamoDB::Table"} <= kinds
    assert (cli_synth.outdir / "validation-report.json").exists()  # the nag plugins ran
