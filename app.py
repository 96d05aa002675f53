#!/usr/bin/env python3
"""The CDK app (cdk.json runs it): `make synth`, `make deploy CDK_ARGS="-c env=prod"`."""

import sys
from pathlib import Path

import toolchain

# The DAG folder's `music_pipeline` package holds the dataset contract the stack builds from.
sys.path.insert(0, str(Path(__file__).resolve().parent / "dags"))
# The CDK's first import starts jsii's Node: the pinned one, however this file is run.
toolchain.use()

from infra.application import build_app  # noqa: E402

app, _stack = build_app()
app.synth()
