"""Modules a newcomer can read: no module outside tests/ over 400 lines, no function over 50 lines.

Today's offenders are listed with their current sizes: each may shrink, none may grow, and no new
one may appear. A function that only spells out declarative CDK data (a policy document, a dashboard
definition) is listed apart: it reads best whole, but it is held to its size too. When an offender
is split, delete (or lower) its entry: the test names what to edit.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
# Folders that hold no code of the project (installed packages, build output) or are the tests.
NOT_SOURCE = {"tests", "node_modules", "cdk.out", "out", "__pycache__", "spark-warehouse", "metastore_db"}

# Functions that only spell out CDK data: "<module path>::<qualified name>" -> lines.
DECLARATIVE_CDK_DATA = {
    "infra/analytics.py::Analytics._reader_policy": 86,
    "infra/glue_job.py::GlueJob._job_statements": 64,
    "infra/mwaa_execution_role.py::_mwaa_service_statements": 72,
    "infra/quicksight_dashboard.py::QuickSightDashboard._definition": 127,
}
# Today's offenders, to be split: "<module path>" or "<module path>::<qualified name>" -> lines.
KNOWN_OFFENDERS: dict[str, int] = {}


def source_modules(root: Path = REPO_ROOT) -> list[Path]:
    """Every .py file of the project outside tests/ (hidden folders such as .venv left out)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_SOURCE and not d.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".py")]
    return found


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, lines) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield prefix + node.name, node.end_lineno - node.lineno + 1
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def oversized(root: Path = REPO_ROOT) -> dict[str, int]:
    """Modules over `MAX_MODULE_LINES` and functions over `MAX_FUNCTION_LINES`: name -> lines."""
    found = {}
    for path in source_modules(root):
        module = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            found[module] = lines
        for name, lines in _functions(ast.parse(text, filename=module)):
            if lines > MAX_FUNCTION_LINES:
                found[f"{module}::{name}"] = lines
    return found


def _table(sizes: dict[str, int]) -> str:
    return "\n".join(f"  {lines:5d}  {name}" for name, lines in sorted(sizes.items()))


@pytest.fixture(scope="module")
def found() -> dict[str, int]:
    """The repository's modules and functions over the limits."""
    return oversized()


def test_no_new_or_growing_module_or_function_over_the_limits(found):
    print(
        f"\nmodules over {MAX_MODULE_LINES} lines and functions over {MAX_FUNCTION_LINES}:\n{_table(found)}"
    )
    allowed = {**KNOWN_OFFENDERS, **DECLARATIVE_CDK_DATA}
    new = {name: lines for name, lines in found.items() if name not in allowed}
    grown = {name: lines for name, lines in found.items() if lines > allowed.get(name, lines)}
    assert not new, f"over the limits (split them):\n{_table(new)}"
    assert not grown, "grew past their listed size (split them, or shrink them back):\n" + "\n".join(
        f"  {name}: {allowed[name]} -> {lines}" for name, lines in sorted(grown.items())
    )


def test_the_lists_hold_only_todays_offenders_at_their_sizes(found):
    """A split offender leaves the list, a shrunk one is listed at its new size: no room to regrow."""
    listed = {**KNOWN_OFFENDERS, **DECLARATIVE_CDK_DATA}
    stale = {name: lines for name, lines in listed.items() if found.get(name, 0) < lines}
    assert not stale, (
        "smaller than listed: lower or delete these entries of tests/test_code_size.py:\n"
        + "\n".join(
            f"  {name}: listed {lines}, now {found.get(name, 'within the limits')}"
            for name, lines in sorted(stale.items())
        )
    )


def test_the_limits_catch_a_long_module_and_a_long_function(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (package / "long.py").write_text(f"class C:\n    def method(self):\n{body}\n" + "\n" * MAX_MODULE_LINES)
    (package / "short.py").write_text("def f():\n    return 1\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_long.py").write_text("\n" * (MAX_MODULE_LINES + 1))
    hidden = tmp_path / ".venv"
    hidden.mkdir()
    (hidden / "site.py").write_text("\n" * (MAX_MODULE_LINES + 1))
    assert oversized(tmp_path) == {
        "package/long.py": MAX_MODULE_LINES + MAX_FUNCTION_LINES + 2,
        "package/long.py::C.method": MAX_FUNCTION_LINES + 1,
    }
