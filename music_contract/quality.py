"""The data-quality report of one Glue run: ``reports/run_id=<id>/data_quality.json``.

Typed records whose field names ARE the JSON keys (docs/DESIGN.md, "Data-quality report"): the job
fills one `DataQualityReport`, writes ``to_json()``; readers (the local report, benchmarks, tests)
get the same record back with ``from_json``. ``error`` is present only in a failed run's report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from music_contract.tables import REJECT_REASONS

STATUS_RUNNING = "running"
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"


def _no_rejects() -> dict[str, int]:
    return dict.fromkeys(REJECT_REASONS, 0)


@dataclass
class FileQuality:
    """One stream file of the run's manifest and what became of its rows."""

    key: str
    etag: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=_no_rejects)


@dataclass
class DataQualityReport:
    """What one run read, rejected (by reason), curated and wrote; `status` says how it ended."""

    run_id: str
    manifest_key: str
    max_reject_ratio: float
    started_at: str
    status: str = STATUS_RUNNING
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    reject_ratio: float = 0.0
    rejected_by_reason: dict[str, int] = field(default_factory=_no_rejects)
    duplicates_dropped: int = 0
    unknown_user_rows: int = 0
    dates_affected: list[str] = field(default_factory=list)
    files: list[FileQuality] = field(default_factory=list)
    kpi_items_written: int = 0
    stale_items_deleted: int = 0
    publications_finished: list[str] = field(default_factory=list)
    finished_at: str | None = None
    error: str | None = None  # "<ExceptionType>: <message>" of a failed run

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: every field, but ``finished_at``/``error`` only once they are set."""
        body = asdict(self)
        for optional in ("finished_at", "error"):
            if body[optional] is None:
                del body[optional]
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> DataQualityReport:
        """The report back from its JSON; a missing or unknown key is a ValueError naming it."""
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError(f"a data-quality report is a JSON object, got {type(body).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(body) - known)
        if unknown:
            raise ValueError(f"data-quality report has unknown keys {unknown}")
        try:
            files = [FileQuality(**entry) for entry in body.get("files", [])]
            return cls(**{**body, "files": files})
        except TypeError as err:
            raise ValueError(f"data-quality report is missing or has a malformed field: {err}") from err
