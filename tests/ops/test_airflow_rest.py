"""The REST calls `make trigger` sends through InvokeRestApi, sent straight to an Airflow API server
(the local `make airflow`): same paths under /api/v2, a bearer token of the simple auth manager, a
transient 5xx retried, a 4xx final."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from music_contract import names
from ops import airflow_rest
from ops.trigger import TriggerError


class FakeApiServer(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict]] = []
    seen: list[tuple[str, str, str, dict | None]] = []

    def _answer(self, method: str) -> None:
        if self.path == "/auth/token":
            status, body = 201, {"access_token": "local-admin-token"}
        else:
            length = int(self.headers.get("Content-Length") or 0)
            sent = json.loads(self.rfile.read(length)) if length else None
            self.seen.append((method, self.path, self.headers.get("Authorization"), sent))
            status, body = self.answers.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def log_message(self, *args):
        pass


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr(airflow_rest, "RETRY_SECONDS", 0)
    FakeApiServer.answers, FakeApiServer.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield airflow_rest.AirflowRestDagRuns(f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()
    thread.join()


def test_trigger_posts_to_the_same_path_under_api_v2_with_the_token(api):
    FakeApiServer.answers = [(200, {"dag_run_id": "smoke__1", "state": "queued"})]
    assert api.trigger({}, "smoke__1") == "smoke__1"
    method, path, auth, body = FakeApiServer.seen[0]
    assert (method, path, auth) == (
        "POST",
        f"/api/v2/dags/{names.DAG_ID}/dagRuns",
        "Bearer local-admin-token",
    )
    assert body == {"logical_date": None, "conf": {}, "dag_run_id": "smoke__1"}


def test_a_transient_server_error_is_retried_and_a_client_error_is_not(api):
    FakeApiServer.answers = [(500, {"detail": "Database error"}), (200, {"dag_runs": []})]
    assert api.call("GET", f"/dags/{names.DAG_ID}/dagRuns", query={"run_id_pattern": "x"}) == {"dag_runs": []}
    assert FakeApiServer.seen[1][1] == f"/api/v2/dags/{names.DAG_ID}/dagRuns?run_id_pattern=x"
    FakeApiServer.answers = [(404, {"detail": "DAG not found"})]
    with pytest.raises(TriggerError, match="failed 404"):
        api.call("GET", "/dags/nope")
    assert len(FakeApiServer.seen) == 3
