"""Fixtures for the sandbox's own tests: real processes on loopback, each test in its own
state folder and port range, always brought down afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.layout import REPO_ROOT
from tests.sandbox.harness import STUBS, SandboxHarness, free_port_base


@pytest.fixture
def harness() -> Iterator[SandboxHarness]:
    """An isolated sandbox (state folder, port range, stub deno); `down` in both envs after."""
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix="icupa-sandbox-test-"))
    state_dir.chmod(0o755)
    base = free_port_base()
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(base),
        "SANDBOX_DENO": str(STUBS / "fake_deno.py"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    made = SandboxHarness(state_dir, base, environ)
    try:
        yield made
    finally:
        for env in ("staging", "production"):
            made.cli("down", "--env", env)
        shutil.rmtree(state_dir, ignore_errors=True)
