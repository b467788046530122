"""The README's main command end to end, serial against ``-n 2``, with a breakdown per unit.

Each round runs ``bash scripts/release.sh`` (set-up check, ``pytest -m staging`` with Allure
results, ``python -m reports.gate``, the Allure HTML report) on a fresh sandbox: its own
state folder (``SANDBOX_STATE_DIR``), so every round starts the platform cold and deploys the
previous release first, exactly as a new user's first run does. The sandbox keeps its
default ports (the web build's variables name them), so nothing else may hold 17100-17109.

Per unit, the wall span is the first test's start to the last test's stop in the Allure
results (fixture set-up, where the actions run, included); the gap is the time between a
unit's end and the next unit's start: barrier, scheduling and worker hand-over.

Usage: ``.venv/bin/python benchmarks/whole_release.py [--rounds N] [--json FILE]``. Prints a
Markdown report. No assertions on time: it measures and says whether the target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
RELEASE_TIMEOUT_S = 1800
SANDBOX_TIMEOUT_S = 120
TARGET_RATIO = 0.7
MODES: dict[str, list[str]] = {"serial": [], "-n 2": ["-n", "2"]}


def _ports_free(base: int = 17100) -> bool:
    for port in range(base, base + 10):
        with socket.socket() as probe:
            # As the sandbox's servers do: a port left in TIME_WAIT by the last run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _sandbox(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=SANDBOX_TIMEOUT_S,
        check=False,
    )


def _units(results: Path) -> list[dict[str, Any]]:
    """Wall span of every unit in the Allure results, in the order they ran."""
    spans: dict[str, list[int]] = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("status") == "skipped" or "start" not in result:
            continue
        labels = {label["name"]: label["value"] for label in result.get("labels", [])}
        unit = labels.get("epic", "?") + ("/" + labels["feature"] if labels.get("feature") else "")
        span = spans.setdefault(unit, [result["start"], result["stop"]])
        span[0], span[1] = min(span[0], result["start"]), max(span[1], result["stop"])
    ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
    rows = []
    for index, (unit, (start, stop)) in enumerate(ordered):
        following = ordered[index + 1][1][0] if index + 1 < len(ordered) else stop
        rows.append(
            {"unit": unit, "start_ms": start, "wall_s": (stop - start) / 1000, "gap_s": (following - stop) / 1000}
        )
    return rows


def run_once(mode: str, args: list[str]) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="icupa-whole-release-"))
    state.chmod(0o755)
    env = {**os.environ, "SANDBOX_STATE_DIR": str(state)}
    try:
        began = time.perf_counter()
        done = subprocess.run(
            ["bash", "scripts/release.sh", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=RELEASE_TIMEOUT_S,
            check=False,
        )
        wall = time.perf_counter() - began
    finally:
        for environment in ("staging", "production"):
            _sandbox(env, "down", "--env", environment)
        shutil.rmtree(state, ignore_errors=True)
    pytest_wall = re.search(r"passed.* in ([0-9.]+)s", done.stdout)
    verdict = re.search(r"RELEASE GATE: [A-Z]+[^\n]*", done.stdout)
    units = _units(REPO / "artifacts" / "allure-results")
    first = units[0]["start_ms"] if units else 0
    last = max((u["start_ms"] + u["wall_s"] * 1000 for u in units), default=0)
    return {
        "mode": mode,
        "exit": done.returncode,
        "wall_s": round(wall, 2),
        "pytest_s": float(pytest_wall.group(1)) if pytest_wall else None,
        "tests_span_s": round((last - first) / 1000, 2),
        "verdict": verdict.group(0) if verdict else "(no verdict line)",
        "units": units,
        "load": os.getloadavg(),
        "tail": done.stdout[-1500:] if done.returncode else "",
    }


def report(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## The whole release, serial against -n 2 (target: -n 2 at most 0.7 of serial)", ""]
    lines.append("| round | mode | main command (s) | pytest (s) | first test to last (s) | load 1/5 min | verdict |")
    lines.append("|---|---|---:|---:|---:|---|---|")
    for run in runs:
        load = f"{run['load'][0]:.1f} / {run['load'][1]:.1f}"
        lines.append(
            f"| {run['round']} | {run['mode']} | {run['wall_s']:.1f} | {run['pytest_s']} | "
            f"{run['tests_span_s']:.1f} | {load} | {run['verdict']} |"
        )
    medians = {mode: statistics.median(r["wall_s"] for r in runs if r["mode"] == mode) for mode in MODES}
    ratio = medians["-n 2"] / medians["serial"]
    verdict = "met" if ratio <= TARGET_RATIO else "missed"
    lines += [
        "",
        f"median main command: serial {medians['serial']:.1f} s, -n 2 {medians['-n 2']:.1f} s; "
        f"ratio {ratio:.2f} (target {TARGET_RATIO}): {verdict}",
        "",
    ]
    last = {run["mode"]: run for run in runs}
    units = [u["unit"] for u in last["serial"]["units"]]
    lines.append("Per unit, last round (wall span of the unit's tests with their set-up; gap to the next unit):")
    lines.append("")
    lines.append("| unit | serial (s) | -n 2 (s) | ratio | serial gap (s) | -n 2 gap (s) |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    parallel = {u["unit"]: u for u in last["-n 2"]["units"]}
    for unit in units:
        one = next(u for u in last["serial"]["units"] if u["unit"] == unit)
        two = parallel.get(unit)
        if two is None:
            lines.append(f"| {unit} | {one['wall_s']:.1f} | - | - | {one['gap_s']:.2f} | - |")
            continue
        share = two["wall_s"] / one["wall_s"] if one["wall_s"] else float("nan")
        lines.append(
            f"| {unit} | {one['wall_s']:.1f} | {two['wall_s']:.1f} | {share:.2f} | {one['gap_s']:.2f} | "
            f"{two['gap_s']:.2f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not _ports_free():
        print("whole_release: 127.0.0.1:17100-17109 are in use; stop the default sandbox first", file=sys.stderr)
        return 2
    runs: list[dict[str, Any]] = []
    for round_no in range(args.rounds):
        order = list(MODES.items()) if round_no % 2 == 0 else list(reversed(MODES.items()))
        for mode, extra in order:
            run = {"round": round_no + 1, **run_once(mode, extra)}
            print(f"round {round_no + 1} {mode}: {run['wall_s']:.1f}s exit {run['exit']} {run['verdict']}", flush=True)
            if run["exit"] != 0:
                print(run["tail"], file=sys.stderr)
            runs.append(run)
    runs.sort(key=lambda r: (r["round"], list(MODES).index(r["mode"])))
    print("\n".join(report(runs)))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
