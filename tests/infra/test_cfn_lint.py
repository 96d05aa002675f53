"""cfn-lint on the synthesized templates: no errors (warnings are printed, not failed)."""

from __future__ import annotations


def test_templates_have_no_cfn_lint_errors(each_env, cfn_lint_findings):
    findings = cfn_lint_findings[each_env.env]
    for finding in findings:
        print(f"\ncfn-lint {each_env.env}: {finding['Level']} {finding['Rule']['Id']}: {finding['Message']}")
    errors = [f"{f['Rule']['Id']}: {f['Message']}" for f in findings if f["Level"] == "Error"]
    assert not errors
