"""`make report` finds an environment's table and bucket through the stack's outputs: pin the names it
reads (ops/report/sources.py) to what the synthesized template exports."""

from __future__ import annotations

from infra.config import PipelineConfig, stack_name
from ops.report import sources


def test_report_reads_the_outputs_the_stack_exports(each_env):
    outputs = each_env.template["Outputs"]
    stack = each_env.stack
    assert outputs[sources.TABLE_OUTPUT]["Value"] == {"Ref": each_env.logical_id(stack.kpi_store.table)}
    assert outputs[sources.BUCKET_OUTPUT]["Value"] == {"Ref": each_env.logical_id(stack.storage.data_bucket)}
    # The stack `make report --env <env>` describes is the one `make deploy -c env=<env>` creates.
    assert stack_name(PipelineConfig.load(each_env.env)) == stack.stack_name


def test_the_provisioned_stack_says_so_to_ops(each_env):
    from ops import orchestrators

    outputs = each_env.template["Outputs"]
    assert outputs[orchestrators.OUTPUT_MODE]["Value"] == orchestrators.PROVISIONED
    assert orchestrators.OUTPUT_ENVIRONMENT in outputs
