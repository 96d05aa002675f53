"""Build the CDK app: configuration from context, the stack, the cdk-nag checks.

`app.py` (what `cdk synth` runs) and the tests call `build_app`, so both synthesize the same app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import App

from infra.config import PipelineConfig, stack_name
from infra.nag import acknowledge_cdk_provided, add_nag_checks
from infra.stack import REPO_ROOT, MusicStreamsStack


def config_from_app(app: App) -> PipelineConfig:
    """The configuration from the app's context (cdk.json plus any ``-c key=value``): every key,
    so that a mistyped one is refused rather than ignored (`PipelineConfig.from_context`)."""
    context: dict[str, Any] = {k: v for k, v in app.node.get_all_context().items() if v is not None}
    return PipelineConfig.from_context(context)


def build_app_with_every_environment(
    *, context: dict[str, Any], outdir: str | None = None, source_root: Path = REPO_ROOT
) -> tuple[App, dict[str, MusicStreamsStack]]:
    """One app holding a stack for every environment of ``context["environments"]`` (with the policy
    checks), as they would live side by side in one account and region; the tests synthesize it."""
    app = App(context=context, outdir=outdir)
    stacks = {}
    for env_name in context["environments"]:
        config = PipelineConfig.from_context({**context, "env": env_name})
        stacks[env_name] = MusicStreamsStack(app, stack_name(config), config=config, source_root=source_root)
        acknowledge_cdk_provided(
            stacks[env_name], stacks[env_name].storage.mwaa_source_bucket, without_vpc=config.is_serverless
        )
    add_nag_checks(app)
    return app, stacks


def build_app(
    *,
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
    source_root: Path = REPO_ROOT,
    nag: bool = True,
) -> tuple[App, MusicStreamsStack]:
    """The app with one stack, ``MusicStreams-<env>``, and (unless ``nag=False``) both nag packs.

    :param context: CDK context; when run by the CLI it comes from cdk.json and ``-c`` instead.
    :param outdir: cloud assembly folder; the CLI sets it through the environment.
    :param source_root: the folder holding ``dags/`` and ``glue_scripts/``.
    """
    app = App(context=context, outdir=outdir)
    config = config_from_app(app)
    stack = MusicStreamsStack(app, stack_name(config), config=config, source_root=source_root)
    if nag:
        add_nag_checks(app)
        acknowledge_cdk_provided(
            stack, stack.storage.mwaa_source_bucket, without_vpc=stack.config.is_serverless
        )
    return app, stack
