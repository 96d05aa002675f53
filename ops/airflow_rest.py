"""The REST calls `ops.trigger` sends through MWAA's ``InvokeRestApi``, sent straight to an Airflow
API server instead: the local one of `make airflow` (simple auth manager, every user admin).

MWAA forwards ``InvokeRestApi``'s ``Path`` under ``/api/v2`` of the environment's API server; here
the same paths, bodies and query strings go to ``<base_url>/api/v2`` with a bearer token from
``GET /auth/token`` (the simple auth manager's all-admins token). Same trigger, same follow, another
transport: what `make smoke` uses against the emulated stack.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from music_contract import names
from ops.trigger import MwaaDagRuns, TriggerError

RETRIES = 4
RETRY_SECONDS = 3


class AirflowRestDagRuns(MwaaDagRuns):
    """`MwaaDagRuns` over a directly reachable Airflow API server.

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param dag_id: the DAG to trigger.
    """

    def __init__(self, base_url: str, dag_id: str = names.DAG_ID):
        super().__init__(mwaa_client=None, environment=base_url, dag_id=dag_id)
        self.base_url = base_url.rstrip("/")
        self._token: str | None = None

    def _bearer(self) -> str:
        if self._token is None:
            with urllib.request.urlopen(f"{self.base_url}/auth/token", timeout=30) as response:
                self._token = json.loads(response.read())["access_token"]
        return self._token

    def call(self, method: str, path: str, body: dict | None = None, query: dict | None = None) -> Any:
        url = f"{self.base_url}/api/v2{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self._bearer()}", "Content-Type": "application/json"},
        )
        for attempt in range(1, RETRIES + 1):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as err:
                detail = err.read().decode(errors="replace")[:500]
                # A local API server on SQLite answers 500 "Database error" while another component
                # holds the lock: a transient error, as MWAA's 5xx are; a 4xx is final.
                if err.code >= 500 and attempt < RETRIES:
                    time.sleep(RETRY_SECONDS)
                    continue
                raise TriggerError(f"{method} {path} on {self.base_url} failed {err.code}: {detail}") from err
            except urllib.error.URLError as err:
                raise TriggerError(
                    f"{method} {path}: no Airflow API at {self.base_url} ({err.reason})"
                ) from err
        raise AssertionError("unreachable")
