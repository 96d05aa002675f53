"""The Glue library zip (``--extra-py-files``): packages at the root, deterministic, no caches."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.packaging import (
    dag_folder_bundle,
    dag_folder_packages,
    glue_job_packages,
    library_zip_bytes,
    python_packages,
    write_library_zip,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _package(root: Path, name: str, files: dict[str, str]) -> Path:
    package = root / name
    for relative, text in {"__init__.py": "", **files}.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_packages_sit_at_the_zip_root_without_caches_or_tests(tmp_path):
    alpha = _package(tmp_path / "a", "alpha", {"core.py": "X = 1", "sub/__init__.py": "", "sub/m.py": ""})
    beta = _package(tmp_path / "b", "beta", {"tests/test_b.py": "", "__pycache__/core.cpython-311.pyc": ""})
    (alpha / "core.pyc").write_bytes(b"\0")
    assert _names(library_zip_bytes([beta, alpha])) == [
        "alpha/__init__.py",
        "alpha/core.py",
        "alpha/sub/__init__.py",
        "alpha/sub/m.py",
        "beta/__init__.py",
    ]


def test_the_zip_is_byte_identical_whatever_the_file_times(tmp_path):
    package = _package(tmp_path, "alpha", {"core.py": "X = 1"})
    first = library_zip_bytes([package])
    os.utime(package / "core.py", (0, 0))
    assert library_zip_bytes([package]) == first
    (package / "core.py").write_text("X = 2")
    assert library_zip_bytes([package]) != first


def test_written_zip_is_content_addressed_and_importable(tmp_path):
    package = _package(tmp_path / "src", "alpha", {"core.py": "X = 41 + 1"})
    path = write_library_zip([package], build_dir=tmp_path / "build")
    assert write_library_zip([package], build_dir=tmp_path / "build") == path
    out = subprocess.run(
        [sys.executable, "-c", "import alpha.core; print(alpha.core.X)"],
        env={**os.environ, "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"


def test_two_packages_with_one_name_are_refused(tmp_path):
    first = _package(tmp_path / "a", "same", {})
    second = _package(tmp_path / "b", "same", {})
    with pytest.raises(ValueError, match="share the name"):
        library_zip_bytes([first, second])


def test_a_folder_without_init_is_refused(tmp_path):
    (tmp_path / "loose").mkdir()
    with pytest.raises(ValueError, match=r"no __init__\.py"):
        library_zip_bytes([tmp_path / "loose"])


def test_python_packages_finds_the_repositorys_libraries_and_tolerates_a_missing_folder(tmp_path):
    assert REPO_ROOT / "dags" / "music_pipeline" in python_packages(REPO_ROOT / "dags")
    assert python_packages(tmp_path / "absent") == []


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_dag_folder_bundle_puts_the_packages_beside_the_dag_folders_own(tmp_path):
    dags = tmp_path / "dags"
    _package(dags, "pipeline", {"tasks.py": "T = 1", "__pycache__/tasks.cpython-311.pyc": ""})
    (dags / "dag.py").write_text("DAG")
    (dags / ".airflowignore").write_text("pipeline/\n")
    shared = _package(tmp_path / "src", "shared", {"layout.py": "K = 'k/'", "tests/test_x.py": ""})
    bundle = dag_folder_bundle(dags, [shared], build_dir=tmp_path / "build")
    assert _tree(bundle) == {
        ".airflowignore": b"pipeline/\n",
        "dag.py": b"DAG",
        "pipeline/__init__.py": b"",
        "pipeline/tasks.py": b"T = 1",
        "shared/__init__.py": b"",
        "shared/layout.py": b"K = 'k/'",
    }
    # Content-addressed: the same sources give the same folder, a changed file a new one.
    assert dag_folder_bundle(dags, [shared], build_dir=tmp_path / "build") == bundle
    (shared / "layout.py").write_text("K = 'other/'")
    changed = dag_folder_bundle(dags, [shared], build_dir=tmp_path / "build")
    assert changed != bundle
    assert _tree(bundle)["shared/layout.py"] == b"K = 'k/'"


def test_dag_folder_bundle_refuses_a_package_the_dag_folder_already_holds(tmp_path):
    dags = tmp_path / "dags"
    _package(dags, "shared", {})
    with pytest.raises(ValueError, match="already holds shared"):
        dag_folder_bundle(dags, [_package(tmp_path / "src", "shared", {})], build_dir=tmp_path / "build")


def test_each_runtime_gets_the_shared_contract_and_glue_no_airflow_code():
    assert dag_folder_packages(REPO_ROOT) == (REPO_ROOT / "music_contract",)
    assert glue_job_packages(REPO_ROOT) == (
        REPO_ROOT / "music_contract",
        REPO_ROOT / "glue_scripts" / "music_kpis",
    )
    for package in (*dag_folder_packages(REPO_ROOT), *glue_job_packages(REPO_ROOT)):
        assert (package / "__init__.py").is_file()


# Glue puts each --extra-py-files zip on the job's import path; the project's editable install is taken
# off it here, so only the zip can provide the packages.
_IMPORT_EVERY_MODULE_FROM_THE_ZIP = """
import importlib, json, pkgutil, sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
sys.path[:] = [p for p in sys.path if "__editable__" not in p and p not in ("", ".")]
sys.path.insert(0, sys.argv[1])
loaded = {}
for package in ("music_contract", "music_kpis"):
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        loaded[module.name] = importlib.import_module(module.name).__file__
print(json.dumps(loaded))
"""


def test_every_module_of_the_glue_zip_imports_from_the_zip_alone(tmp_path):
    """The job's modules import the contract's submodules by name (`from music_contract import layout`):
    each resolves inside the zip Glue receives, with nothing from the checkout."""
    path = write_library_zip(glue_job_packages(REPO_ROOT), build_dir=tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE_FROM_THE_ZIP, str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout)
    expected = {
        f"{folder.name}.{p.stem}"
        for folder in glue_job_packages(REPO_ROOT)
        for p in folder.glob("*.py")
        if p.name != "__init__.py"
    }
    assert set(loaded) == expected
    assert [name for name, file in loaded.items() if not file.startswith(str(path))] == []
