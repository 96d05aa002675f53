"""The shared contract itself (music_contract): the run id rule, the keys derived from run ids, the
manifest and the data-quality report, on good and bad input."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from music_contract import layout, tables
from music_contract.manifest import Manifest, StreamObject
from music_contract.quality import DataQualityReport, FileQuality

PACKAGE = Path(__file__).resolve().parents[2] / "music_contract"
AIRFLOW_RUN_ID = "manual__2026-11-25T17:18:46+00:00"
SAFE_RUN_ID = "manual__2026-11-25T17_18_46_00_00"


@pytest.mark.parametrize(
    ("run_id", "safe"),
    [
        (AIRFLOW_RUN_ID, SAFE_RUN_ID),
        ("scheduled__2026-01-01T00:00:00+00:00", "scheduled__2026-01-01T00_00_00_00_00"),
        ("already.safe-Run_1", "already.safe-Run_1"),
        ("a/b c?d", "a_b_c_d"),
        ("é", "_"),
    ],
)
def test_run_id_rule_keeps_only_safe_characters(run_id, safe):
    assert layout.sanitize_run_id(run_id) == safe
    assert re.fullmatch(r"[A-Za-z0-9._-]+", layout.sanitize_run_id(run_id))
    assert layout.sanitize_run_id(safe) == safe  # idempotent


def test_an_empty_run_id_is_refused():
    with pytest.raises(ValueError, match="run_id must not be empty"):
        layout.sanitize_run_id("")


def test_every_key_derived_from_a_run_id_uses_its_safe_form():
    assert layout.manifest_key(AIRFLOW_RUN_ID) == f"manifests/run_id={SAFE_RUN_ID}.json"
    assert layout.quarantine_prefix(AIRFLOW_RUN_ID) == f"quarantine/run_id={SAFE_RUN_ID}/"
    assert layout.report_key(AIRFLOW_RUN_ID) == f"reports/run_id={SAFE_RUN_ID}/data_quality.json"
    assert layout.staging_prefix(AIRFLOW_RUN_ID) == f"tmp/run_id={SAFE_RUN_ID}/"


def test_archive_keys_keep_the_path_under_raw_data_below_the_day_and_run():
    at = datetime(2026, 11, 5, 23, 59, tzinfo=UTC)
    assert (
        layout.archive_key("raw_data/2026/streams1.csv", AIRFLOW_RUN_ID, at)
        == f"archived_data/2026/11/05/run_id={SAFE_RUN_ID}/2026/streams1.csv"
    )
    # Two runs archiving the same file never collide.
    assert layout.archive_key("raw_data/s.csv", "run-1", at) != layout.archive_key(
        "raw_data/s.csv", "run-2", at
    )


@pytest.mark.parametrize(
    "key", ["reference_data/songs/songs.csv", "raw_data", "archived_data/raw_data/s.csv"]
)
def test_only_raw_data_keys_can_be_archived(key):
    with pytest.raises(ValueError, match="not a raw_data key"):
        layout.archive_key(key, "r", datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("key", "is_stream"),
    [
        ("raw_data/a.csv", True),
        ("raw_data/x/y/B.CSV", True),
        ("raw_data/a.json", False),
        ("other/a.csv", False),
    ],
)
def test_stream_keys_are_csv_files_under_raw_data_at_any_depth(key, is_stream):
    assert layout.is_stream_key(key) is is_stream


def _manifest() -> Manifest:
    streams = (
        StreamObject("raw_data/a.csv", 10, '"e1"'),
        StreamObject("raw_data/b.csv", 0, ""),
    )
    return Manifest("r1", "2026-11-25T00:00:00+00:00", "bucket", streams)


def test_manifest_round_trips_through_its_json():
    manifest = _manifest()
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert json.loads(manifest.to_json())["reference"] == {
        "users": layout.USERS_KEY,
        "songs": layout.SONGS_KEY,
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda body: body.pop("streams"), "streams"),
        (lambda body: body.pop("bucket"), "bucket"),
        (lambda body: body["streams"][0].pop("etag"), "etag"),
        (lambda body: body.update(streams=None), "NoneType"),
        (lambda body: body.update(reference=3), "int"),
    ],
)
def test_manifest_with_a_missing_or_malformed_field_is_a_clear_value_error(mutate, message):
    body = json.loads(_manifest().to_json())
    mutate(body)
    with pytest.raises(ValueError, match=rf"manifest is missing or has a malformed field: .*{message}"):
        Manifest.from_json(json.dumps(body))


def test_manifest_that_is_not_json_is_a_value_error():
    with pytest.raises(ValueError, match="manifest is not JSON"):
        Manifest.from_json("{not json")


def test_a_manifest_with_an_unparseable_size_is_refused():
    body = json.loads(_manifest().to_json())
    body["streams"][0]["size"] = "ten"
    with pytest.raises(ValueError, match=r"malformed field: .*'ten'"):
        Manifest.from_json(json.dumps(body))


def test_data_quality_report_json_has_the_contract_keys_and_round_trips():
    report = DataQualityReport("r1", "manifests/run_id=r1.json", 0.05, "2026-11-25T00:00:00+00:00")
    report.files = [FileQuality("raw_data/a.csv", '"e"', rows_read=2, rows_accepted=2)]
    body = json.loads(report.to_json())
    assert "error" not in body  # present only once set
    assert "finished_at" not in body
    assert body["rejected_by_reason"] == dict.fromkeys(tables.REJECT_REASONS, 0)
    assert body["files"][0]["rejected_by_reason"] == dict.fromkeys(tables.REJECT_REASONS, 0)
    assert list(body) == sorted(body)
    report.status, report.error, report.finished_at = "failed", "DataError: boom", "2026-11-25T00:01:00+00:00"
    again = DataQualityReport.from_json(report.to_json())
    assert again == report
    assert json.loads(again.to_json())["error"] == "DataError: boom"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "a data-quality report is a JSON object"),
        ('{"run_id": "r"}', "missing or has a malformed field"),
        ('{"run_id": "r", "surprise": 1}', r"unknown keys \['surprise'\]"),
    ],
)
def test_a_bad_data_quality_report_is_a_value_error_naming_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        DataQualityReport.from_json(text)


def test_the_package_re_exports_nothing_and_its_docstring_names_every_submodule():
    """Callers import the submodules (`from music_contract import layout`): a new name is one edit, in
    its submodule, and the package's docstring is where a newcomer finds which submodule holds what."""
    init = ast.parse((PACKAGE / "__init__.py").read_text())
    assert [type(node).__name__ for node in init.body] == ["Expr"]  # the docstring alone
    docstring = ast.get_docstring(init)
    submodules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert [name for name in submodules if f"- `{name}`: " not in docstring] == []
