"""Speed of the gate over Allure results (``python -m reports.gate``) on 50,000 result files.

Writes a synthetic results folder in allure-pytest's format: ``--count`` ``*-result.json``
files (default 50,000) with the labels the release gate adds (``gate_nodeid`` included),
spread over all units of ``plugin.phases.UNITS``; every checklist item of
``checks/runbook.toml`` that applies to staging is covered by one test, every 25th test is
advisory and fails, the rest pass. Also ``environment.properties`` and the run's
``release-gate-manifest.json``. The gate must answer 0 (PASSED) on it.

It times the gate as a child process (one warm-up, then ``--rounds`` rounds; median and
minimum), and, when the Allure command line is available (``--allure PATH``, or ``allure``
on PATH; it needs Java), times ``allure generate`` once on the same folder and reports the
ratio gate / allure. Target: the gate under 5 s.

Run from the repository root with the project's virtual environment:

    .venv/bin/python benchmarks/report_gate.py [--allure /tmp/allure-cli/node_modules/.bin/allure]

Not run by CI; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Final

from plugin.checklist import load_checklist
from plugin.phases import PHASE_NAMES, UNITS, Unit

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
CHECKLIST: Final = REPO_ROOT / "checks" / "runbook.toml"
TARGET_S: Final = 5.0
GATE_TIMEOUT_S: Final = 120.0
ALLURE_TIMEOUT_S: Final = 1800.0
RUN_ID: Final = "20261127T080000Z-b3c4d5"
RUN_START_MS: Final = 1_795_766_400_000  # 2026-11-27T08:00:00Z, the run id's time
TESTS_PER_MODULE: Final = 500


def _labels(nodeid: str, unit: Unit, advisory: bool, items: list[str]) -> list[dict[str, str]]:
    module = nodeid.split("::", 1)[0].removesuffix(".py").replace("/", ".")
    labels = [
        {"name": "parentSuite", "value": f"{PHASE_NAMES.index(unit.phase) + 1:02d} {unit.phase}"},
        {"name": "feature", "value": unit.step or unit.phase},
        {"name": "severity", "value": "minor" if advisory else "blocker"},
        *({"name": "story", "value": item} for item in items),
        {"name": "gate_nodeid", "value": nodeid},
        {"name": "epic", "value": unit.phase},
        {"name": "tag", "value": "staging"},
        {"name": "suite", "value": module.rsplit(".", 1)[-1]},
        {"name": "host", "value": "bench"},
        {"name": "thread", "value": "1000-MainThread"},
        {"name": "framework", "value": "pytest"},
        {"name": "language", "value": "cpython3"},
        {"name": "package", "value": module},
    ]
    return labels


def _result(nodeid: str, unit: Unit, advisory: bool, items: list[str], index: int) -> dict[str, Any]:
    path, function = nodeid.split("::", 1)
    start = RUN_START_MS + 1000 + index * 3
    failed = advisory
    result: dict[str, Any] = {
        "name": function,
        "status": "failed" if failed else "passed",
        "start": start,
        "stop": start + 2,
        "uuid": str(uuid.uuid4()),
        "historyId": uuid.uuid4().hex,
        "testCaseId": uuid.uuid4().hex,
        "fullName": f"{path.removesuffix('.py').replace('/', '.')}#{function.split('[', 1)[0]}",
        "labels": _labels(nodeid, unit, advisory, items),
        "titlePath": path.split("/"),
    }
    if failed:
        result["statusDetails"] = {"message": "AssertionError: over budget", "trace": "def test(): assert False"}
    return result


def generate(directory: Path, count: int) -> None:
    """The results folder of one synthetic staging run with ``count`` gate tests."""
    directory.mkdir(parents=True)
    owed = [item for item in load_checklist(CHECKLIST).applying_to("staging")]
    tests: list[dict[str, Any]] = []
    for index in range(count):
        unit = UNITS[index % len(UNITS)]
        items = [owed[index].id] if index < len(owed) else []
        if items:
            unit = owed[index].unit
        advisory = index % 25 == 24 and not items
        nodeid = f"checks/bench/test_m{index // TESTS_PER_MODULE:03d}.py::test_case[{index}]"
        data = _result(nodeid, unit, advisory, items, index)
        (directory / f"{data['uuid']}-result.json").write_text(json.dumps(data), encoding="utf-8")
        tests.append(
            {"nodeid": nodeid, "unit": unit.label, "rank": unit.rank, "advisory": advisory, "checklist": items}
        )
    properties = f"target=sandbox\nversion=v0.1.0\nenvironment=staging\nrun_id={RUN_ID}\nworkers=2\ndry_run=false\n"
    (directory / "environment.properties").write_text(properties, encoding="utf-8")
    manifest = {
        "schema": 1,
        "run_id": RUN_ID,
        "target": "sandbox",
        "environment": "staging",
        "version": "v0.1.0",
        "selections": ["staging"],
        "checklist": str(CHECKLIST),
        "verdict": "RELEASE GATE: PASSED",
        "tests": tests,
    }
    (directory / "release-gate-manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def time_gate(directory: Path, summary: Path) -> tuple[float, int, str]:
    argv = [sys.executable, "-m", "reports.gate", str(directory), "--env", "staging", "--summary", str(summary)]
    env = {key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"}
    began = time.perf_counter()
    done = subprocess.run(
        argv, check=False, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=GATE_TIMEOUT_S
    )
    return time.perf_counter() - began, done.returncode, done.stdout + done.stderr


def time_allure(allure: str, directory: Path, output: Path) -> tuple[float | None, str]:
    argv = [allure, "generate", str(directory), "-o", str(output), "--clean"]
    began = time.perf_counter()
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=ALLURE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"allure generate did not finish: {exc}"
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        return None, f"allure generate exited {done.returncode}: {(done.stdout + done.stderr)[-500:]}"
    return elapsed, (done.stdout + done.stderr).strip().splitlines()[-1:][0] if done.stdout + done.stderr else ""


def find_allure(given: str | None) -> str | None:
    if given:
        return given if Path(given).is_file() else None
    return shutil.which("allure")


def java_version() -> str | None:
    try:
        done = subprocess.run(["java", "-version"], check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stderr.splitlines()
    return lines[0] if done.returncode == 0 and lines else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000, help="result files to generate")
    parser.add_argument("--rounds", type=int, default=3, help="measured gate rounds after one warm-up")
    parser.add_argument("--allure", help="path of the allure command line (default: allure on PATH)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results = workdir / "allure-results"
    began = time.perf_counter()
    generate(results, args.count)
    figures: dict[str, Any] = {"count": args.count, "generate_s": round(time.perf_counter() - began, 2)}
    size = sum(entry.stat().st_size for entry in os.scandir(results))
    figures["folder_mb"] = round(size / 1e6, 1)
    _warm, code, output = time_gate(results, workdir / "summary.md")
    if code != 0:
        raise SystemExit(f"the gate answered {code} on the synthetic folder, expected 0:\n{output[-2000:]}")
    rounds = [time_gate(results, workdir / "summary.md")[0] for _ in range(args.rounds)]
    figures["gate_rounds_s"] = [round(r, 3) for r in rounds]
    figures["gate_median_s"] = round(statistics.median(rounds), 3)
    figures["gate_min_s"] = round(min(rounds), 3)
    figures["java"] = java_version()
    allure = find_allure(args.allure)
    figures["allure"] = allure
    if allure and figures["java"]:
        elapsed, note = time_allure(allure, results, workdir / "allure-report")
        figures["allure_generate_s"] = round(elapsed, 2) if elapsed is not None else None
        figures["allure_note"] = note
        if elapsed:
            figures["ratio_gate_to_allure"] = round(figures["gate_median_s"] / elapsed, 4)
    return figures


def report(figures: dict[str, Any]) -> list[str]:
    one, five, _ = os.getloadavg()
    lines = [
        f"load average: {one:.2f} {five:.2f}; cpus: {os.cpu_count()}",
        f"{figures['count']} result files, {figures['folder_mb']} MB, generated in {figures['generate_s']} s",
        "",
        f"{'run':<34} {'seconds':>9}",
        f"{'gate (median of ' + str(len(figures['gate_rounds_s'])) + ')':<34} {figures['gate_median_s']:>9.3f}",
        f"{'gate (min)':<34} {figures['gate_min_s']:>9.3f}",
    ]
    allure_s = figures.get("allure_generate_s")
    if allure_s is not None:
        lines.append(f"{'allure generate':<34} {allure_s:>9.2f}")
        lines.append(f"{'ratio gate / allure generate':<34} {figures['ratio_gate_to_allure']:>9.4f}")
    else:
        why = figures.get("allure_note") or ("no java" if not figures["java"] else "allure not found")
        lines.append(f"{'allure generate':<34} {'n/a':>9}  ({why})")
    verdict = "met" if figures["gate_median_s"] < TARGET_S else "NOT met"
    lines.append(f"target: gate under {TARGET_S:.0f} s: {verdict}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="report-gate-bench-") as tmp:
        figures = benchmark(args, Path(tmp))
    for line in report(figures):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
