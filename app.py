#!/usr/bin/env python3
"""The CDK app (cdk.json runs it): `make synth`, `make deploy CDK_ARGS="-c env=prod"`."""

import toolchain

# The CDK's first import starts jsii's Node: the pinned one, however this file is run.
# (The project's packages, music_contract included, import from .venv's editable install.)
toolchain.use()

from infra.application import build_app  # noqa: E402

app, _stack = build_app()
app.synth()
