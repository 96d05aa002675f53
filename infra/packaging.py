"""What each runtime receives, built deterministically: the Glue job's library zip
(``--extra-py-files``), MWAA's ``plugins.zip`` and the DAG folder upload.

- Glue: a zip of exactly the packages the job imports (``glue_job_packages``: ``music_contract``
  and ``music_kpis``), each at the zip root, so ``import music_kpis`` works on Glue as it does locally.
- MWAA's triggerer: ``plugins.zip`` of ``plugins/`` (``music_triggers``); MWAA unpacks it into
  ``$AIRFLOW_HOME/plugins``, on ``sys.path``.
- MWAA's DAG folder: ``dags/`` plus the shared ``music_contract`` beside ``music_pipeline/``
  (``dag_folder_bundle`` of ``dag_folder_packages``); Airflow puts the DAG folder on ``sys.path``, so both import by name.

Entries are sorted, timestamps and permissions fixed, caches and tests left out: the same sources
always give the same bytes, so the CDK asset hash (and the deployed object) changes only when the
code does.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

BUILD_DIR = Path(tempfile.gettempdir()) / "music-streams-build"

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
    target_dir = build_dir or BUILD_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{name}-{digest}.zip"
    if not target.exists():
        # A per-process temporary name: parallel synths never read a half-written zip.
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(target)
    return target


def _bundle_files(dags_dir: Path, packages: Iterable[Path]) -> dict[str, Path]:
    """Upload path -> source file: the DAG folder's files, then each package under its own name."""
    files = {
        path.relative_to(dags_dir).as_posix(): path
        for path in sorted(dags_dir.rglob("*"))
        if path.is_file()
        and not path.name.endswith(EXCLUDED_SUFFIXES)
        and not EXCLUDED_DIR_NAMES.intersection(path.relative_to(dags_dir).parts)
    }
    for package_dir in packages:
        if (dags_dir / package_dir.name).exists():
            raise ValueError(f"{dags_dir} already holds {package_dir.name}; it would shadow {package_dir}")
        for path in _package_files(package_dir):
            files[f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"] = path
    return files


def glue_job_packages(source_root: Path) -> tuple[Path, ...]:
    """The package folders the Glue job imports: all its --extra-py-files zip holds."""
    return (source_root / "music_contract", source_root / "glue_scripts" / "music_kpis")


def serverless_code_packages(source_root: Path) -> tuple[Path, ...]:
    """The package folders of the MWAA Serverless code package (``Code.S3Location``, a zip whose root
    is importable: user guide, custom-code-operators.html): the task code and every package it
    imports. That zip is the workflow's only code (no plugins.zip), so it carries ``music_triggers``
    too: ``music_pipeline.glue`` imports the trigger class, though on Serverless it never defers."""
    return (
        source_root / "dags" / "music_pipeline",
        source_root / "music_contract",
        source_root / "plugins" / "music_triggers",
    )


def dag_folder_packages(source_root: Path) -> tuple[Path, ...]:
    """The package folders uploaded into MWAA's DAG folder beside ``music_pipeline/``."""
    return (source_root / "music_contract",)


def dag_folder_bundle(dags_dir: Path, packages: Iterable[Path], build_dir: Path | None = None) -> Path:
    """A content-addressed copy of ``dags_dir`` with ``packages`` beside its own: MWAA's DAG folder.

    One folder (one asset) keeps the upload a single pruned deployment; the name carries the
    content hash, so repeated synths reuse it and a change of any file gives a new folder.
    """
    files = _bundle_files(dags_dir, packages)
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    target = (build_dir or BUILD_DIR) / f"mwaa-dags-{digest.hexdigest()[:16]}"
    if not target.exists():
        # Built under a per-process name, then renamed: parallel synths never see a partial folder.
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name, path in files.items():
            (partial / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, partial / name)
        try:
            partial.rename(target)
        except OSError:  # another process won the race with the same content
            shutil.rmtree(partial, ignore_errors=True)
    return target
