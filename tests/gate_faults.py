"""A pytest plugin that breaks a release run on purpose, for the engine's fault tests.

Loaded with ``-p tests.gate_faults``; ``GATE_FAULT_SANDBOX_DOWN_AT=<phase>/<step>`` stops the
sandbox just before the first test of that unit runs (the sandbox "going away" mid-gate).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from plugin.runtime import MARKS_KEY

_DONE: list[str] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    where = os.environ.get("GATE_FAULT_SANDBOX_DOWN_AT")
    marks = item.stash.get(MARKS_KEY, None)
    if not where or marks is None or marks.unit.label != where or _DONE:
        return
    _DONE.append(where)
    env = os.environ.get("GATE_FAULT_ENV", "staging")
    subprocess.run([sys.executable, "-m", "sandbox", "down", "--env", env], check=True, timeout=120)
