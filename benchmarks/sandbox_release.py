"""How long the sandbox takes to come up, and how long the staging deploy phase takes.

Measures, in an isolated sandbox (own state folder and ports):

1. ``python -m sandbox up`` from installed and stopped to every part healthy: a cold first
   start (``initdb`` included), then warm restarts after ``down``; wall time and the per-part
   breakdown the sandbox reports.
2. The whole ``deploy_staging`` phase (steps A to D with their verification tests) run by the
   gate, serial and with ``-n 2``: wall time, and each action's duration from the run ledger.

Usage: ``.venv/bin/python benchmarks/sandbox_release.py [--rounds N]``. Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 900


def _free_base() -> int:
    for base in range(24000, 40000, 20):
        try:
            for port in range(base, base + 10):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return time.perf_counter() - start, done


def _summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return payload


def measure_up(env: dict[str, str], rounds: int, cold: float, cold_parts: dict[str, float]) -> list[str]:
    sandbox = [sys.executable, "-m", "sandbox"]
    lines = ["## `sandbox up`, installed and stopped to all healthy (target 30 s)", ""]
    walls: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(rounds):
        _run([*sandbox, "down"], env)
        wall, done = _run([*sandbox, "up"], env)
        if done.returncode != 0:
            raise RuntimeError(f"sandbox up failed:\n{done.stderr[-2000:]}")
        walls.append(wall)
        for part in _summary(done)["parts"]:
            if part["seconds"] is not None:
                parts.setdefault(part["name"], []).append(part["seconds"])
    lines += [
        f"cold first start (initdb included, nothing deployed yet): {cold:.2f} s wall",
        f"start after `down` with every part deployed, {rounds} rounds: median {statistics.median(walls):.2f} s, "
        f"max {max(walls):.2f} s wall",
        "",
        "| part | cold (s) | warm median (s) | warm max (s) |",
        "|---|---|---|---|",
    ]
    for name, values in parts.items():
        first = cold_parts.get(name)
        shown = f"{first:.2f}" if first is not None else "-"
        lines.append(f"| {name} | {shown} | {statistics.median(values):.2f} | {max(values):.2f} |")
    return lines


def measure_deploy(env: dict[str, str], workers: list[str], gate_dir: Path) -> tuple[float, dict[str, float], str]:
    shutil.rmtree(gate_dir, ignore_errors=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "checks/test_deploy_staging.py",
        "--release-env",
        "staging",
        "-p",
        "no:cacheprovider",
        "-o",
        f"release_state_dir={gate_dir}",
        *workers,
    ]
    wall, done = _run(argv, env)
    verdict = next((line for line in done.stdout.splitlines() if line.startswith("RELEASE GATE:")), "no verdict")
    (ledger,) = gate_dir.glob("runs/*/ledger.jsonl")
    durations = {
        record["action"]: float(record.get("duration_s") or 0.0)
        for record in map(json.loads, ledger.read_text().splitlines())
        if record.get("kind") == "action"
    }
    return wall, durations, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="icupa-bench-"))
    state.chmod(0o755)  # PostgreSQL runs as another user and must traverse it
    env = {**os.environ, "SANDBOX_STATE_DIR": str(state), "SANDBOX_PORT_BASE": str(_free_base())}
    try:
        cold, done = _run([sys.executable, "-m", "sandbox", "up"], env)
        if done.returncode != 0:
            raise RuntimeError(f"sandbox up failed:\n{done.stderr[-2000:]}")
        cold_parts = {p["name"]: p["seconds"] for p in _summary(done)["parts"] if p["seconds"] is not None}
        deploy = ["## The `deploy_staging` phase, steps A to D with verification (target 60 s)", ""]
        deploy += [
            "| run | wall (s) | platform_up | db_push | functions | agents | web | verdict |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for label, workers in (("serial", []), ("-n 2", ["-n", "2"])):
            wall, durations, verdict = measure_deploy(env, workers, state / f"gate-{len(workers)}")
            names = ("platform_up", "db_push", "functions_deploy", "agents_deploy", "web_deploy")
            cells = [f"{durations.get(name, 0.0):.2f}" for name in names]
            deploy.append(f"| {label} | {wall:.2f} | {' | '.join(cells)} | {verdict} |")
        # Now everything is deployed: time `up` of the whole platform from stopped.
        lines = [*measure_up(env, args.rounds, cold, cold_parts), "", *deploy]
    finally:
        subprocess.run(
            [sys.executable, "-m", "sandbox", "down"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        shutil.rmtree(state, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
