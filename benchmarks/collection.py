"""Collection overhead of the release gate on a large generated suite.

Generates a suite of gate tests spread over every unit of the catalogue, then times
``python -m pytest --collect-only -q -p no:cacheprovider`` in a subprocess three ways,
interleaved round by round:

(a) with the release gate (the ``release_gate`` entry point, loaded as installed);
(b) with the gate disabled (``-p no:release_gate``), the same files;
(c) with the gate disabled and the phase order written as ``@pytest.mark.order(rank)``
    for pytest-order, in a second copy of the suite.

It checks that (a) and (c) really came out in unit order (from the ``--collect-only -q``
listing), and, in-process, how much of (a) the gate's own collection work takes.

Run from the repository root with the project's virtual environment:

    .venv/bin/python benchmarks/collection.py

Not run by CI; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Final, ParamSpec, TypeVar

import pytest

from plugin import phases as gate_phases
from plugin.phases import UNITS, Unit

TARGET_RATIO: Final = 1.10
RUN_TIMEOUT_S: Final = 300.0
PARAMS_PER_TEST: Final = 10
ADVISORY_EVERY: Final = 25
PYTEST_ARGS: Final = ("--collect-only", "-q", "-p", "no:cacheprovider")
# Variables that would change what a pytest subprocess loads or how it runs.
SCRUBBED_ENV: Final = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTHONDONTWRITEBYTECODE",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
)

PYTEST_INI: Final = """\
[pytest]
markers =
    phase(name, step=None): the release phase (and step) of a gate test
    checklist(item_id): a runbook checklist item the test covers
    advisory(reason=''): a failure of this test does not close the gate
"""

P = ParamSpec("P")
R = TypeVar("R")


# -- the generated suite --------------------------------------------------------------


@dataclass(slots=True)
class Suite:
    """A generated suite on disk: where it is, and the unit rank of every test function."""

    root: Path
    rank_of: dict[str, int]
    tests: int


def _stride(count: int) -> int:
    """A step coprime with ``count``, so consecutive functions land in scattered units."""
    step = max(2, count // 3)
    while math.gcd(step, count) != 1:
        step += 1
    return step


def _phase_decorator(unit: Unit) -> str:
    if unit.step is None:
        return f"@pytest.mark.phase({unit.phase!r})"
    return f"@pytest.mark.phase({unit.phase!r}, {unit.step!r})"


def _function_source(name: str, unit: Unit, parametrized: bool, advisory: bool, with_order: bool) -> list[str]:
    lines = [_phase_decorator(unit)]
    if with_order:
        lines.append(f"@pytest.mark.order({unit.rank})")
    if advisory:
        lines.append('@pytest.mark.advisory("generated")')
    if parametrized:
        lines += [
            f'@pytest.mark.parametrize("case", range({PARAMS_PER_TEST}))',
            f"def {name}(case: int) -> None:",
            "    assert case >= 0",
        ]
    else:
        lines += [f"def {name}() -> None:", "    pass"]
    return [*lines, "", ""]


def _file_layout(tests_per_file: int) -> list[bool]:
    """Which functions of a file are parametrized: about half of the tests, spread evenly."""
    param_functions = tests_per_file // (2 * PARAMS_PER_TEST)
    plain = tests_per_file - param_functions * PARAMS_PER_TEST
    if param_functions == 0:
        return [False] * plain
    run = plain // param_functions
    layout: list[bool] = []
    for _ in range(param_functions):
        layout += [False] * run + [True]
    return layout + [False] * (plain - run * param_functions)


def generate_suite(root: Path, tests: int, files: int, with_order: bool) -> Suite:
    """Write ``files`` test modules holding ``tests`` gate tests over every unit."""
    if tests % files:
        raise SystemExit(f"--tests ({tests}) must be a multiple of --files ({files})")
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    layout = _file_layout(tests // files)
    step = _stride(len(UNITS))
    rank_of: dict[str, int] = {}
    counter = 0
    for file_index in range(files):
        source = [f'"""Generated gate tests, file {file_index + 1} of {files}."""', "", "import pytest", "", ""]
        for position, parametrized in enumerate(layout):
            unit = UNITS[(counter * step) % len(UNITS)]
            name = f"test_f{file_index:02d}_{position:04d}"
            advisory = not parametrized and counter % ADVISORY_EVERY == 0
            source += _function_source(name, unit, parametrized, advisory, with_order)
            rank_of[name] = unit.rank
            counter += 1
        text = "\n".join(source).rstrip() + "\n"
        (root / f"test_gate_{file_index:02d}.py").write_text(text, encoding="utf-8")
    generated = sum(PARAMS_PER_TEST if p else 1 for p in layout) * files
    if generated != tests or set(rank_of.values()) != {u.rank for u in UNITS}:
        raise SystemExit(f"generator bug: {generated} tests, ranks {sorted(set(rank_of.values()))}")
    return Suite(root, rank_of, tests)


# -- running and checking ---------------------------------------------------------------


@dataclass(slots=True)
class Variant:
    key: str
    label: str
    suite: Suite
    extra_args: tuple[str, ...]
    must_be_ordered: bool
    seconds: list[float] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    exit_codes: set[int] = field(default_factory=set)


def subprocess_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}


def collected_nodeids(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if "::" in line and not line.startswith(" ")]


def function_name(nodeid: str) -> str:
    return nodeid.split("[", 1)[0].rsplit("::", maxsplit=1)[-1]


def run_variant(variant: Variant, record: bool) -> None:
    argv = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *variant.extra_args]
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=variant.suite.root,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - start
    nodeids = collected_nodeids(done.stdout)
    if len(nodeids) != variant.suite.tests or done.returncode not in (0, 1) or "error" in done.stdout.lower():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise SystemExit(
            f"({variant.key}) {' '.join(argv)} in {variant.suite.root}: exit {done.returncode}, "
            f"{len(nodeids)} of {variant.suite.tests} tests listed\n{tail}"
        )
    variant.exit_codes.add(done.returncode)
    variant.order = nodeids
    if record:
        variant.seconds.append(elapsed)


def order_report(variant: Variant, natural: list[str]) -> tuple[bool, str]:
    """Whether the listing is in unit order, and a line saying how it compares."""
    rank_of = variant.suite.rank_of
    ranks = [rank_of[function_name(nodeid)] for nodeid in variant.order]
    descents = sum(1 for a, b in pairwise(ranks) if b < a)
    ordered = descents == 0 and len(set(variant.order)) == variant.suite.tests
    stable = variant.order == sorted(natural, key=lambda nodeid: rank_of[function_name(nodeid)])
    units = len(set(ranks))
    text = (
        f"({variant.key}) {len(variant.order)} tests over {units} units, rank decreases {descents}: "
        f"{'in unit order' if ordered else 'NOT in unit order'}"
        f"{'; same as a stable sort of the natural order' if stable else ''}"
    )
    return ordered, text


# -- in-process probe ---------------------------------------------------------------------

# The gate's functions the probe times, by the name ``plugin.main`` calls them under.
GATE_FUNCTIONS: Final = (
    ("resolve_settings", "resolve_settings (configure)"),
    ("annotate", "annotate (markers)"),
    ("order", "order (check + sort)"),
    ("decide", "decide (verdict)"),
)
ORDERING_PARTS: Final = ("annotate (markers)", "order (check + sort)")


class Stopwatch:
    """Accumulates wall time by name: wrapped functions, hooks and garbage collection."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._gc_started = 0.0

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, name: str, func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def timed(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - start)

        return timed

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.add(f"gc pauses, generation {info['generation']}", time.perf_counter() - self._gc_started)


class CollectionClock:
    """Times pytest's whole collection phase, as a pytest plugin passed to ``pytest.main``."""

    def __init__(self, watch: Stopwatch) -> None:
        self.watch = watch

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> object:
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            self.watch.add("collection phase", time.perf_counter() - start)


def probe(suite_dir: Path, out: Path, gate: bool) -> int:
    """Collect ``suite_dir`` in this process, timing the gate's functions and the GC."""
    import plugin.main as gate_main  # noqa: PLC0415 - only the probe needs the hook module

    watch = Stopwatch()
    for attribute, label in GATE_FUNCTIONS:
        func = getattr(gate_main, attribute, None)
        if callable(func):
            setattr(gate_main, attribute, watch.wrap(label, func))
    os.chdir(suite_dir)
    args = [*PYTEST_ARGS] if gate else [*PYTEST_ARGS, "-p", "no:release_gate"]
    gc.callbacks.append(watch.on_gc)
    start = time.perf_counter()
    try:
        code = pytest.main(args, plugins=[CollectionClock(watch)])
    finally:
        gc.callbacks.remove(watch.on_gc)
    watch.add("pytest.main", time.perf_counter() - start)
    out.write_text(json.dumps({"exit": int(code), "seconds": watch.seconds, "calls": watch.calls}), encoding="utf-8")
    return 0


def run_probe(suite: Suite, out: Path, gate: bool) -> dict[str, float]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--probe", str(suite.root), "--probe-out", str(out)]
    if not gate:
        argv.append("--probe-no-gate")
    done = subprocess.run(
        argv,
        cwd=suite.root,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"probe failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    data = json.loads(out.read_text(encoding="utf-8"))
    calls: dict[str, int] = data["calls"]
    for part in ORDERING_PARTS:
        if calls.get(part, 0) != (1 if gate else 0):
            raise SystemExit(f"the probe saw {part} called {calls.get(part, 0)} times; calls: {calls}")
    seconds: dict[str, float] = data["seconds"]
    seconds["gc pauses, all"] = sum(v for k, v in seconds.items() if k.startswith("gc pauses"))
    return seconds


# -- report ---------------------------------------------------------------------------------


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):7.3f} s   min {min(values):7.3f} s   runs " + " ".join(
        f"{v:.3f}" for v in values
    )


def _ratio_line(name: str, top: Variant, bottom: Variant, target: float | None) -> tuple[str, dict[str, float]]:
    by_median = statistics.median(top.seconds) / statistics.median(bottom.seconds)
    by_min = min(top.seconds) / min(bottom.seconds)
    paired = statistics.median(t / b for t, b in zip(top.seconds, bottom.seconds, strict=True))
    verdict = ""
    if target is not None:
        verdict = f"   target <= {target:.2f}: {'PASS' if by_median <= target else 'FAIL'} (on the medians)"
    line = f"ratio {name}: medians {by_median:.3f}   mins {by_min:.3f}   paired median {paired:.3f}{verdict}"
    return line, {"median": by_median, "min": by_min, "paired_median": paired}


def plugin_fingerprint() -> str:
    """A short digest of the gate's sources, so a result names the engine it measured."""
    package = Path(gate_phases.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=20_000, help="gate tests in the suite (default 20000)")
    parser.add_argument("--files", type=int, default=20, help="test modules (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after one warm-up (default 5)")
    parser.add_argument("--no-probe", action="store_true", help="skip the in-process timing of the gate's hooks")
    parser.add_argument("--keep", action="store_true", help="keep the generated suites and print where they are")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-no-gate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.tests < 1 or args.files < 1:
        parser.error("--tests, --files and --rounds must be positive")
    return args


def measure(variants: list[Variant], rounds: int) -> None:
    for round_index in range(rounds + 1):
        for variant in variants:
            run_variant(variant, record=round_index > 0)
        if round_index == 0:
            print("  warm-up done", flush=True)
            continue
        times = "  ".join(f"({v.key}) {v.seconds[-1]:.3f} s" for v in variants)
        print(f"  round {round_index}: {times}   {load_line()}", flush=True)


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    plain = generate_suite(workdir / "suite", args.tests, args.files, with_order=False)
    ordered = generate_suite(workdir / "suite-order", args.tests, args.files, with_order=True)
    variants = [
        Variant("a", "release gate", plain, (), must_be_ordered=True),
        Variant("b", "-p no:release_gate", plain, ("-p", "no:release_gate"), must_be_ordered=False),
        Variant("c", "-p no:release_gate + pytest-order", ordered, ("-p", "no:release_gate"), must_be_ordered=True),
    ]
    print(
        f"suite: {args.tests} tests in {args.files} files over {len(UNITS)} units "
        f"(half plain functions, half {PARAMS_PER_TEST}-case parametrized); "
        f"{args.rounds} rounds after 1 warm-up, interleaved a, b, c",
        flush=True,
    )
    measure(variants, args.rounds)
    a, b, c = variants
    print()
    for variant in variants:
        print(f"({variant.key}) {variant.label:<36} {_fmt(variant.seconds)}")
    line_ab, ratio_ab = _ratio_line("(a)/(b)", a, b, TARGET_RATIO)
    line_cb, ratio_cb = _ratio_line("(c)/(b)", c, b, None)
    print(line_ab)
    print(line_cb)

    print()
    checks: dict[str, bool] = {}
    for variant in variants:
        ok, text = order_report(variant, b.order)
        checks[variant.key] = ok
        print(text)
    if checks["b"]:
        print("warning: the natural order is already unit order, so (a) measures no sorting")
    print(f"exit codes: (a) {sorted(a.exit_codes)}  (b) {sorted(b.exit_codes)}  (c) {sorted(c.exit_codes)}")
    result: dict[str, object] = {
        "tests": args.tests,
        "files": args.files,
        "units": len(UNITS),
        "rounds": args.rounds,
        "seconds": {v.key: v.seconds for v in variants},
        "ratio_a_b": ratio_ab,
        "ratio_c_b": ratio_cb,
        "ordered": checks,
        "exit_codes": {v.key: sorted(v.exit_codes) for v in variants},
    }
    if not args.no_probe:
        result["probe"] = probe_report(plain, workdir, args.rounds, statistics.median(a.seconds))
    bad = [v.key for v in variants if v.must_be_ordered and not checks[v.key]]
    if bad:
        raise SystemExit(f"variants {bad} did not come out in unit order; the timings do not measure ordering")
    return result


def probe_report(suite: Suite, workdir: Path, rounds: int, median_a: float) -> dict[str, dict[str, float]]:
    samples: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for index in range(rounds):
        for key, runs in samples.items():
            runs.append(run_probe(suite, workdir / f"probe-{key}-{index}.json", gate=key == "a"))
    medians: dict[str, dict[str, float]] = {}
    for key, runs in samples.items():
        names = {name for run in runs for name in run}
        medians[key] = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}
    rows = sorted(set(medians["a"]) | set(medians["b"]), key=lambda n: (n.startswith(("pytest", "coll", "gc")), n))
    print()
    print(f"in-process, one pytest.main per process, {rounds} runs each (medians):")
    print(f"    {'':<32} {'(a) gate':>10} {'(b) no gate':>12} {'a - b':>9}")
    for name in rows:
        in_a, in_b = medians["a"].get(name), medians["b"].get(name)
        cell_b = f"{in_b * 1000:9.1f} ms" if in_b is not None else f"{'-':>12}"
        delta = f"{(in_a - in_b) * 1000:+7.1f}ms" if in_a is not None and in_b is not None else ""
        print(f"    {name:<32} {(in_a or 0.0) * 1000:7.1f} ms {cell_b} {delta:>9}")
    ordering = sum(medians["a"].get(name, 0.0) for name in ORDERING_PARTS)
    print(
        f"    ordering alone (annotate + order): {ordering * 1000:.1f} ms = "
        f"{ordering / medians['a']['collection phase']:.1%} of (a)'s collection phase, "
        f"{ordering / median_a:.1%} of the median (a) subprocess wall time"
    )
    medians["a"]["ordering alone"] = ordering
    return medians


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.probe is not None:
        return probe(args.probe, args.probe_out, gate=not args.probe_no_gate)
    print(
        f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs, pytest {pytest.__version__}, "
        f"gate sources {plugin_fingerprint()}, {load_line()}"
    )
    if args.keep:
        workdir = Path(tempfile.mkdtemp(prefix="gate-collection-"))
        print(f"suites kept in {workdir}")
        result = benchmark(args, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="gate-collection-") as tmp:
            result = benchmark(args, Path(tmp))
    print(f"done, {load_line()}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
