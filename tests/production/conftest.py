"""A real Prometheus on loopback for the window analysis, and staging records written by hand.

The Prometheus scrapes nothing: the tests' PromQL builds its series from ``vector()`` and
``time()``, which Prometheus evaluates at every step of a range query whatever its storage
holds, so a window in the past can be shaped at will (a gap, a failing stretch, NaN).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

PROMETHEUS = os.environ.get("SANDBOX_PROMETHEUS", "/usr/bin/prometheus")
PROMETHEUS_PORT = 21050  # this suite's port range is 21000-21900
CLOSED_PORT = 21059  # nothing listens here: Prometheus down
READY_ATTEMPTS = 150


@pytest.fixture(scope="session")
def prometheus_url() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="h1-prometheus-"))
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    try:
        for _ in range(READY_ATTEMPTS):
            if process.poll() is not None:
                pytest.fail(f"prometheus exited with {process.returncode}: {(folder / 'prometheus.log').read_text()}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            try:
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
        else:
            pytest.fail("prometheus did not become ready")
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_run(
    state_dir: Path,
    run_id: str,
    *,
    verdict: dict[str, Any] | None = None,
    flag: dict[str, Any] | None = None,
    env: str = "staging",
    version: str = "v0.1.0",
    target: str = "sandbox",
) -> Path:
    """A gate run's folder as the engine leaves it: verdict.json and a ledger with canary_flags_on."""
    folder = state_dir / "runs" / run_id
    folder.mkdir(parents=True)
    identity = {"target": target, "env": env, "version": version, "dry_run": False}
    if flag is not None:
        record = {"kind": "action", "action": "canary_flags_on", "run_id": run_id, **identity, **flag}
        (folder / "ledger.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    if verdict is not None:
        full = {
            "run_id": run_id,
            "verdict": "RELEASE GATE: PASSED",
            "passed": True,
            "target": target,
            "environment": env,
            "version": version,
            "dry_run": False,
            "selections": [env],
            "finished_at": "2026-11-27T10:00:00.000Z",
            "tests": [],
            **verdict,
        }
        (folder / "verdict.json").write_text(json.dumps(full), encoding="utf-8")
    return folder
