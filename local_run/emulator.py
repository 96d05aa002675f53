"""The embedded AWS: a moto server on 127.0.0.1, and the environment that points clients at it."""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto import backends
from moto.server import ThreadedMotoServer

from local_run import moto_glue, moto_mwaa_serverless  # noqa: F401  (what moto lacks, patched in)
from music_contract import names

# moto 5.2.5's server lists its own package folder (a listdir, then an isdir per entry: some 175
# stat calls) on every request, inside the lock every request takes (moto_server/werkzeug_app.py,
# `get_backend_for_host`). The folder never changes while the server runs: list it once.
_list_moto_modules = backends.list_of_moto_modules


@functools.cache
def _moto_modules_listed_once() -> tuple[str, ...]:
    return tuple(_list_moto_modules())


backends.list_of_moto_modules = _moto_modules_listed_once

# moto accepts any credentials; these are not secrets, and real AWS would reject them.
FAKE_ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class Emulator:
    endpoint_url: str
    account: str = FAKE_ACCOUNT_ID
    region: str = REGION

    def environment(self) -> dict[str, str]:
        """Variables that send boto3, the Airflow `aws_conn` connection and Spark to the emulator."""
        conn = {
            "conn_type": "aws",
            "extra": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }
        return {
            **_FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            f"AIRFLOW_CONN_{names.AWS_CONN_ID.upper()}": json.dumps(conn),
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_emulator(apply_environment: bool = True) -> Iterator[Emulator]:
    """Start moto server on a free loopback port; stop it (and restore the environment) on exit."""
    port = _free_port()
    # The emulator's HTTP server logs one line per request; a run makes thousands.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    emulator = Emulator(endpoint_url=f"http://127.0.0.1:{port}")
    saved = {k: os.environ.get(k) for k in emulator.environment()}
    if apply_environment:
        os.environ.update(emulator.environment())
    try:
        yield emulator
    finally:
        server.stop()
        if apply_environment:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
