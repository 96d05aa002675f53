"""Build the Glue job's library zip (``--extra-py-files``) and MWAA's ``plugins.zip`` deterministically,
and the DAG upload filter.

The zip holds every Python package found in the given folders, each at the zip root, so Glue can
``import music_pipeline.contract`` and ``import music_kpis``, and MWAA's triggerer ``import
music_triggers`` (MWAA unpacks ``plugins.zip`` into ``$AIRFLOW_HOME/plugins``, on ``sys.path``). Entries are sorted, timestamps and
permissions fixed, caches and tests left out: the same sources always give the same bytes, so the
CDK asset hash (and the deployed object) changes only when the code does.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

# zip's epoch; any fixed value works, this one every unzip tool accepts.
_FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644 << 16
# Never shipped to Glue or MWAA: interpreter caches, tests, editor and OS debris.
EXCLUDED_DIR_NAMES = frozenset({"__pycache__", "tests", ".pytest_cache", ".ruff_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")

# Patterns (BucketDeployment / asset exclude syntax) that keep the DAG upload pruned.
# Dot files stay: MWAA honours dags/.airflowignore.
DAG_UPLOAD_EXCLUDES = (
    "**/__pycache__",
    "**/*.pyc",
    "**/tests",
    "**/test_*.py",
    "**/README*",
    "**/.pytest_cache",
    "**/.ruff_cache",
    "**/.DS_Store",
)


def python_packages(folder: Path) -> list[Path]:
    """The importable packages directly under ``folder`` (folders holding ``__init__.py``), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def _package_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        relative_parts = path.relative_to(package_dir).parts
        if any(part in EXCLUDED_DIR_NAMES for part in relative_parts):
            continue
        if path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES):
            yield path


def library_zip_bytes(package_dirs: Iterable[Path]) -> bytes:
    """The zip (as bytes) of the given package folders, each at the root under its own name.

    :param package_dirs: package folders such as ``dags/music_pipeline``; two with the same
        name are an error (one would silently shadow the other on Glue).
    """
    packages = sorted(package_dirs, key=lambda p: p.name)
    names = [p.name for p in packages]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two package folders share the name(s) {duplicates}: {[str(p) for p in packages]}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package_dir in packages:
            if not (package_dir / "__init__.py").is_file():
                raise ValueError(f"{package_dir} is not a Python package (no __init__.py)")
            for path in _package_files(package_dir):
                arcname = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
                info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIMESTAMP)
                info.external_attr = _FILE_MODE
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def write_library_zip(
    package_dirs: Iterable[Path], build_dir: Path | None = None, name: str = "glue-libs"
) -> Path:
    """Write the library zip to a content-addressed file and return its path.

    :param package_dirs: package folders to include (see `library_zip_bytes`).
    :param build_dir: where to write; default a folder in the system temp directory. The file name
        carries the content hash, so repeated synths reuse it and never overwrite a different zip.
    :param name: the file name's prefix (``glue-libs``, ``mwaa-plugins``).
    """
    data = library_zip_bytes(package_dirs)
    digest = hashlib.sha256(data).hexdigest()[:16]
    target_dir = build_dir or Path(tempfile.gettempdir()) / "music-streams-build"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{name}-{digest}.zip"
    if not target.exists():
        # A per-process temporary name: parallel synths never read a half-written zip.
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(target)
    return target
