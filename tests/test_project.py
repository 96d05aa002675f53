"""The repository as an installable project: every package importable by name from .venv's editable
install (pyproject.toml's mapping), and no code that edits ``sys.path`` to find them."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SYS_PATH_EDIT = re.compile(r"sys\.path\s*(\.(insert|append|extend)\(|\[[^\]]*\]\s*=|\+=)")


def _setuptools() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_mapped_package_is_a_folder_of_the_repository_and_imports_from_it():
    settings = _setuptools()
    folders = settings["package-dir"]
    for package in settings["packages"]:
        folder = REPO_ROOT / folders.get(package, package)
        assert (folder / "__init__.py").is_file(), package
        module = importlib.import_module(package)
        assert Path(module.__file__).resolve() == (folder / "__init__.py").resolve(), package
    # Every top-level package of the repository is listed (a new one must be added to the mapping).
    found = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} | {
        p.parent.name
        for p in REPO_ROOT.glob("*/*/__init__.py")
        if p.parts[-3] in {"dags", "glue_scripts", "plugins"}
    }
    assert found - {"tests"} == set(settings["packages"])


def test_packages_import_from_outside_the_checkout_without_pythonpath(tmp_path):
    code = "import music_contract, music_kpis.job, music_pipeline.tasks, music_triggers.glue, infra.stack, ops.trigger"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_code_edits_sys_path():
    sources = [
        p
        for p in REPO_ROOT.rglob("*.py")
        if not {".venv", "node_modules", "cdk.out", "tests"} & set(p.relative_to(REPO_ROOT).parts)
    ]
    assert len(sources) > 20
    assert [str(p) for p in sources if SYS_PATH_EDIT.search(p.read_text())] == []
