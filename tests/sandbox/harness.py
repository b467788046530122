"""Helpers for the sandbox's own tests: a free port range and a CLI runner per test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import Sandbox
from sandbox.layout import PORT_RANGE_SIZE, PRODUCTION_PORT_SHIFT, REPO_ROOT

STUBS = Path(__file__).parent / "stubs"
CLI_TIMEOUT = 180.0
GATE_TIMEOUT = 600.0


def _range_is_free(base: int) -> bool:
    for port in range(base, base + PORT_RANGE_SIZE):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_base() -> int:
    """A base whose staging and production ranges are both free right now."""
    start = 20000 + (os.getpid() % 400) * 20
    for base in range(start, 40000, 20):
        if _range_is_free(base) and _range_is_free(base + PRODUCTION_PORT_SHIFT):
            return base
    raise RuntimeError("no free port range for the sandbox tests")


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        """The JSON line the CLI prints last on stdout."""
        last = self.stdout.strip().splitlines()[-1]
        payload = json.loads(last)
        assert isinstance(payload, dict)
        return payload


@dataclass
class SandboxHarness:
    """One isolated sandbox: its own state folder, ports and tools."""

    state_dir: Path
    port_base: int
    environ: dict[str, str]

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT) -> CliResult:
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=REPO_ROOT,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(result.returncode, result.stdout, result.stderr)

    def api(self, env: str = "staging") -> Sandbox:
        return Sandbox.for_env("production" if env == "production" else "staging", self.environ)

    def run_gate(
        self, *args: str, state: str, extra_env: dict[str, str] | None = None, timeout: float = GATE_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run the release gate (pytest in the repository) against this sandbox.

        ``state`` names the gate's own state folder inside the sandbox's, so every run has its
        ledger where the test can read it.
        """
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *args,
                "-p",
                "no:cacheprovider",
                "-o",
                f"release_state_dir={self.state_dir / state}",
            ],
            cwd=REPO_ROOT,
            env={**self.environ, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@contextlib.contextmanager
def isolated_sandbox(prefix: str, *, stub_deno: bool = False) -> Iterator[SandboxHarness]:
    """A sandbox of its own (state folder, free ports), brought down and removed afterwards."""
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    state_dir.chmod(0o755)
    base = free_port_base()
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(base),
        "PYTHONPATH": str(REPO_ROOT),
    }
    if stub_deno:
        environ["SANDBOX_DENO"] = str(STUBS / "fake_deno.py")
    made = SandboxHarness(state_dir, base, environ)
    try:
        yield made
    finally:
        for env in ("staging", "production"):
            made.cli("down", "--env", env)
        shutil.rmtree(state_dir, ignore_errors=True)
