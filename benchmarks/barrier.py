"""Cost of the release gate's unit barrier under pytest-xdist.

Generates 4 units x 16 gate tests that each sleep 0.25 s and runs them with ``-n 4``.
With perfect scheduling every unit takes 16 x 0.25 s / 4 workers = 1 s, so the ideal wall
time is 4 s plus the start-up of an ``-n 4`` run that does no work. The script reports
wall time / ideal for each of 3 rounds (after a warm-up) and the median, and checks from
a trace written by the suite's conftest that no test of unit k+1 started before the last
test of unit k ended, and how many workers each unit used.

Run from the repository root with the project's virtual environment:

    .venv/bin/python benchmarks/barrier.py

Not run by CI; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from plugin.phases import UNITS, Unit

TARGET_RATIO: Final = 1.3
RUN_TIMEOUT_S: Final = 180.0
TRACE_ENV: Final = "BARRIER_TRACE"
SCRUBBED_ENV: Final = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    TRACE_ENV,
)
DESELECT_ALL: Final = "no_test_has_this_name"

PYTEST_INI: Final = """\
[pytest]
markers =
    phase(name, step=None): the release phase (and step) of a gate test
    checklist(item_id): a runbook checklist item the test covers
    advisory(reason=''): a failure of this test does not close the gate
"""

# Start: before any setup hook (the gate's included); end: after every teardown hook.
# Both are taken before pytest reports the phase, so before the controller can react.
CONFTEST: Final = '''\
"""Trace hooks of the barrier benchmark: one JSON line per test, appended to $BARRIER_TRACE."""

import json
import os
import time

import pytest

TRACE = os.environ.get("BARRIER_TRACE", "")
STARTED = pytest.StashKey[float]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[STARTED] = time.time()
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        if TRACE and STARTED in item.stash:
            record = {
                "test": item.name,
                "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                "start": item.stash[STARTED],
                "end": time.time(),
            }
            fd = os.open(TRACE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (json.dumps(record) + "\\n").encode())
            finally:
                os.close(fd)
'''


# -- suites ---------------------------------------------------------------------------------


def _phase_decorator(unit: Unit) -> str:
    if unit.step is None:
        return f"@pytest.mark.phase({unit.phase!r})"
    return f"@pytest.mark.phase({unit.phase!r}, {unit.step!r})"


def _write_common(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")


def write_barrier_suite(root: Path, units: list[Unit], per_unit: int, sleep_s: float) -> dict[str, int]:
    """The sleeping suite, defined round-robin (so unit order is the gate's doing)."""
    _write_common(root)
    unit_of: dict[str, int] = {}
    lines = ['"""Generated barrier benchmark tests."""', "", "import time", "", "import pytest", "", ""]
    for test in range(per_unit):
        for index, unit in enumerate(units):
            name = f"test_u{index}_t{test:02d}"
            unit_of[name] = index
            lines += [_phase_decorator(unit), f"def {name}() -> None:", f"    time.sleep({sleep_s!r})", "", ""]
    (root / "test_barrier.py").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return unit_of


def write_trivial_suite(root: Path, unit: Unit) -> None:
    _write_common(root)
    lines = ['"""One trivial gate test."""', "", "import pytest", "", "", _phase_decorator(unit)]
    lines += ["def test_trivial() -> None:", "    pass", ""]
    (root / "test_trivial.py").write_text("\n".join(lines), encoding="utf-8")


# -- runs -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    key: str
    label: str
    root: Path
    extra_args: tuple[str, ...]
    expect_passed: int
    expect_exit: int
    seconds: list[float] = field(default_factory=list)


def subprocess_env(trace: Path | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
    if trace is not None:
        env[TRACE_ENV] = str(trace)
    return env


def execute(run: Run, workers: int, trace: Path | None, record: bool) -> float:
    argv = [sys.executable, "-m", "pytest", "-n", str(workers), "-p", "no:cacheprovider", *run.extra_args]
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=run.root,
        env=subprocess_env(trace),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    passed = re.search(r"(\d+) passed", done.stdout)
    count = int(passed[1]) if passed else 0
    gate_ok = run.expect_passed == 0 or "RELEASE GATE: PASSED" in done.stdout
    if done.returncode != run.expect_exit or count != run.expect_passed or not gate_ok:
        tail = "\n".join(output.splitlines()[-30:])
        raise SystemExit(
            f"{run.label}: {' '.join(argv)} in {run.root}: exit {done.returncode} (expected {run.expect_exit}), "
            f"{count} passed (expected {run.expect_passed})\n{tail}"
        )
    if record:
        run.seconds.append(elapsed)
    return elapsed


# -- trace ------------------------------------------------------------------------------------


@dataclass(slots=True)
class UnitTrace:
    label: str
    tests: int
    first_start: float
    last_end: float
    workers: list[str]

    @property
    def span(self) -> float:
        return self.last_end - self.first_start


def read_trace(path: Path, unit_of: dict[str, int], labels: list[str]) -> list[UnitTrace]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found: list[UnitTrace] = []
    for index, label in enumerate(labels):
        mine = [r for r in records if unit_of[str(r["test"])] == index]
        if not mine:
            raise SystemExit(f"the trace has no test of unit {label}")
        found.append(
            UnitTrace(
                label=label,
                tests=len(mine),
                first_start=min(float(r["start"]) for r in mine),
                last_end=max(float(r["end"]) for r in mine),
                workers=sorted({str(r["worker"]) for r in mine}),
            )
        )
    return found


def barrier_findings(units: list[UnitTrace]) -> tuple[list[str], list[float]]:
    """Violations (a test of a later unit started before unit k ended), and the gaps."""
    violations: list[str] = []
    gaps: list[float] = []
    for index, unit in enumerate(units[:-1]):
        later_start = min(u.first_start for u in units[index + 1 :])
        gaps.append(units[index + 1].first_start - unit.last_end)
        if later_start < unit.last_end:
            violations.append(
                f"a test after {unit.label} started {(unit.last_end - later_start) * 1000:.1f} ms before it ended"
            )
    return violations, gaps


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=4, help="units (default 4)")
    parser.add_argument("--per-unit", type=int, default=16, help="tests per unit (default 16)")
    parser.add_argument("--sleep", type=float, default=0.25, help="seconds each test sleeps (default 0.25)")
    parser.add_argument("--workers", type=int, default=4, help="xdist workers, -n (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds after one warm-up (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the generated suites and traces")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    gate_units = [u for u in UNITS if not u.is_rollback]
    if not 1 <= args.units <= len(gate_units) or args.per_unit < 1 or args.workers < 1 or args.rounds < 1:
        parser.error(f"--units must be 1..{len(gate_units)}; --per-unit, --workers and --rounds positive")
    return args


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def round_line(index: int, wall: float, ideal: float, units: list[UnitTrace], gaps: list[float]) -> str:
    workers = ", ".join(f"{len(u.workers)}" for u in units)
    spans = ", ".join(f"{u.span:.2f}" for u in units)
    gap_text = ", ".join(f"{g * 1000:.0f}" for g in gaps)
    inside = units[-1].last_end - units[0].first_start
    return (
        f"  round {index}: wall {wall:.3f} s, ratio {wall / ideal:.3f}; workers per unit [{workers}]; "
        f"unit spans [{spans}] s; barrier gaps [{gap_text}] ms; "
        f"first test start to last test end {inside:.3f} s, outside that {wall - inside:.3f} s"
    )


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    units = [u for u in UNITS if not u.is_rollback][: args.units]
    labels = [u.label for u in units]
    unit_of = write_barrier_suite(workdir / "barrier", units, args.per_unit, args.sleep)
    write_trivial_suite(workdir / "trivial", units[0])
    tests = args.units * args.per_unit
    gate = Run("gate", "barrier suite", workdir / "barrier", (), tests, 0)
    trivial = Run("trivial", "one trivial gate test", workdir / "trivial", (), 1, 0)
    deselected = Run("deselected", "barrier suite, all deselected", workdir / "barrier", ("-k", DESELECT_ALL), 0, 5)
    work_s = args.units * math.ceil(args.per_unit / args.workers) * args.sleep
    print(
        f"suite: {args.units} units ({', '.join(labels)}) x {args.per_unit} tests sleeping {args.sleep} s, "
        f"-n {args.workers}, on {os.cpu_count()} CPUs; ideal work {args.units} x ceil({args.per_unit}/{args.workers}) "
        f"x {args.sleep} s = {work_s:.3f} s",
        flush=True,
    )
    for run in (trivial, deselected, gate):
        execute(run, args.workers, None, record=False)
    print("  warm-up done", flush=True)
    walls: list[float] = []
    traces: list[list[UnitTrace]] = []
    all_gaps: list[list[float]] = []
    violations: list[str] = []
    for index in range(1, args.rounds + 1):
        execute(trivial, args.workers, None, record=True)
        execute(deselected, args.workers, None, record=True)
        trace = workdir / f"trace-{index}.jsonl"
        walls.append(execute(gate, args.workers, trace, record=True))
        found = read_trace(trace, unit_of, labels)
        problems, gaps = barrier_findings(found)
        traces.append(found)
        all_gaps.append(gaps)
        violations += [f"round {index}: {p}" for p in problems]
        print(f"  round {index} measured: wall {walls[-1]:.3f} s; {load_line()}", flush=True)

    startup = statistics.median(trivial.seconds)
    ideal = work_s + startup
    ratios = [wall / ideal for wall in walls]
    print()
    print(
        f"start-up (used for the ideal): one trivial gate test, same ini and conftest, -n {args.workers}: "
        f"median {startup:.3f} s (runs {' '.join(f'{s:.3f}' for s in trivial.seconds)})"
    )
    print(
        "    = interpreter, plugins, worker spawn and collection, the gate's scheduler, one barrier, the verdict:"
        f" all the fixed cost of a gate run under -n {args.workers}, and no sleeping."
    )
    other = statistics.median(deselected.seconds)
    print(
        f"for comparison: the same barrier suite with every test deselected (-k {DESELECT_ALL}): median "
        f"{other:.3f} s (runs {' '.join(f'{s:.3f}' for s in deselected.seconds)}); it skips the gate's "
        f"scheduling and verdict (no gate test selected), so it is not used; ratio against it would be "
        f"{statistics.median(walls) / (work_s + other):.3f}"
    )
    print(f"ideal = {work_s:.3f} s + {startup:.3f} s = {ideal:.3f} s")
    for index, (wall, found, gaps) in enumerate(zip(walls, traces, all_gaps, strict=True), start=1):
        print(round_line(index, wall, ideal, found, gaps))
    median_ratio = statistics.median(ratios)
    verdict = "PASS" if median_ratio <= TARGET_RATIO else "FAIL"
    print(
        f"wall median {statistics.median(walls):.3f} s, ratio median {median_ratio:.3f} "
        f"(runs {' '.join(f'{r:.3f}' for r in ratios)}); target <= {TARGET_RATIO}: {verdict}"
    )
    strict = statistics.median(walls) / (work_s + min(trivial.seconds))
    inside = [(found[-1].last_end - found[0].first_start) / work_s for found in traces]
    print(
        f"stricter, against the fastest start-up ({min(trivial.seconds):.3f} s): {strict:.3f}; "
        f"load-insensitive, first test start to last test end / {work_s:.3f} s: "
        f"{' '.join(f'{r:.3f}' for r in inside)} (median {statistics.median(inside):.3f})"
    )
    print("unit order in the trace: " + ("VIOLATED\n  " + "\n  ".join(violations) if violations else "barrier held"))
    return {
        "units": labels,
        "per_unit": args.per_unit,
        "sleep_s": args.sleep,
        "workers": args.workers,
        "work_s": work_s,
        "startup_trivial_s": trivial.seconds,
        "startup_deselected_s": deselected.seconds,
        "ideal_s": ideal,
        "walls_s": walls,
        "ratios": ratios,
        "median_ratio": median_ratio,
        "ratio_vs_fastest_startup": strict,
        "in_units_over_work": inside,
        "barrier_gaps_s": all_gaps,
        "workers_per_unit": [[len(u.workers) for u in found] for found in traces],
        "violations": violations,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs, {load_line()}")
    if args.keep:
        workdir = Path(tempfile.mkdtemp(prefix="gate-barrier-"))
        print(f"suites and traces kept in {workdir}")
        result = benchmark(args, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="gate-barrier-") as tmp:
            result = benchmark(args, Path(tmp))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
