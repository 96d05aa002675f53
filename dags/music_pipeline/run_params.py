"""The DAG's run parameters (Airflow params, shown in the trigger form) and the run they ask for.

No parameter: the normal run (the stream files under ``raw_data/``). `recompute_dates`: the KPIs of
those dates again from the curated events (the Glue job's ``--recompute_dates``), no raw file read,
nothing archived. `replay_from`/`replay_to`: the files archived on those days
(``archived_data/YYYY/MM/DD/``) through the normal path, left where they are. docs/DESIGN.md,
"Reprocess and backfill".

Each param's own shape (a date, at most N dates) is its JSON schema: Airflow validates it when the
run is created (the trigger form, the REST API and ``dag.test`` fail with
``Invalid input for param <name>: ...``). What a schema cannot say across params (one mode per
run, a range in order and bounded) `run_request` checks in the first task, naming the param.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from airflow.sdk import Param

from music_contract import reprocess
from music_contract.reprocess import DATE_PATTERN


class Mode(enum.StrEnum):
    NORMAL = "normal"
    RECOMPUTE = "recompute"
    REPLAY = "replay"


def _day_param(description: str) -> Param:
    # "format": "date" gives the trigger form's date picker and jsonschema's date check.
    return Param(None, type=["null", "string"], format="date", description=description)


def dag_params() -> dict[str, Param]:
    """The DAG's `params`: all empty by default (the normal run)."""
    return {
        reprocess.PARAM_RECOMPUTE_DATES: Param(
            [],
            type="array",
            items={"type": "string", "format": "date", "pattern": DATE_PATTERN},
            maxItems=reprocess.MAX_RECOMPUTE_DATES,
            uniqueItems=True,
            description=(
                "Recompute the KPIs of these dates (YYYY-MM-DD, one per line, at most "
                f"{reprocess.MAX_RECOMPUTE_DATES}) from the curated events: no raw file is read or archived."
            ),
        ),
        reprocess.PARAM_REPLAY_FROM: _day_param(
            "Replay the raw files archived from this day (YYYY-MM-DD, the archive date) through the normal path."
        ),
        reprocess.PARAM_REPLAY_TO: _day_param(
            f"Last archive day of the replay (included; at most {reprocess.MAX_REPLAY_DAYS} days from replay_from)."
        ),
    }


@dataclass(frozen=True)
class RunRequest:
    mode: Mode = Mode.NORMAL
    recompute_dates: tuple[str, ...] = ()
    replay_days: tuple[date, ...] = ()


def run_request(params: Mapping[str, Any]) -> RunRequest:
    """The run the params ask for; ValueError naming the param when they do not make one."""
    dates = params.get(reprocess.PARAM_RECOMPUTE_DATES) or []
    if isinstance(dates, str):  # MWAA Serverless params are strings: comma-separated dates
        dates = [d.strip() for d in dates.split(",") if d.strip()]
    # An empty string is no value (MWAA Serverless params have no null).
    first = params.get(reprocess.PARAM_REPLAY_FROM) or None
    last = params.get(reprocess.PARAM_REPLAY_TO) or None
    replay = first is not None or last is not None
    if dates and replay:
        raise ValueError(
            f"{reprocess.PARAM_RECOMPUTE_DATES} and {reprocess.PARAM_REPLAY_FROM}/{reprocess.PARAM_REPLAY_TO}: "
            "one kind of reprocessing per run, not both"
        )
    if dates:
        return RunRequest(Mode.RECOMPUTE, recompute_dates=reprocess.parse_recompute_dates(dates))
    if replay:
        if first is None or last is None:
            missing = reprocess.PARAM_REPLAY_TO if last is None else reprocess.PARAM_REPLAY_FROM
            raise ValueError(
                f"{missing}: a replay needs both {reprocess.PARAM_REPLAY_FROM} and {reprocess.PARAM_REPLAY_TO}"
            )
        return RunRequest(Mode.REPLAY, replay_days=reprocess.replay_days(first, last))
    return RunRequest()
