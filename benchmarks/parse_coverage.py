"""Parsing a 100 MB coverage report: the gate's streaming parsers against loading the whole document.

Generates, in a temporary folder, a Cobertura XML report and an lcov tracefile of about
100 MB each, shaped like istanbul's (vitest's) output: per file, a few methods and 300
lines, every seventh line a branch. Then runs each case in its own process, so each peak
is that case's alone:

- ``cobertura stream``: ``checks.artifacts.coverage.load_cobertura`` (defusedxml
  ``iterparse``, elements cleared as they end);
- ``cobertura whole tree``: ``defusedxml.ElementTree.parse``, then counting the tree (the
  same safety, the whole document in memory);
- ``cobertura whole tree, stdlib``: ``xml.etree.ElementTree.parse`` (the C parser; no
  defusedxml, for scale only);
- ``lcov stream``: ``checks.artifacts.coverage.load_lcov`` (blocks of whole records);
- ``lcov line by line``: the exact reader ``load_lcov`` falls back to when its block check
  rejects a file (a bad file, or an unusual one such as a line of spaces), to name the line;
- ``lcov whole read()``: ``read()`` the file, split it into lines, count.

Each case runs ``--rounds`` times; the table shows the median wall time, the largest
peak resident set (``ru_maxrss``, the interpreter and its imports included) and, from one
more run under ``tracemalloc``, the peak of Python allocations. Every case must find the
totals the generator wrote. Targets for what the gate runs: under 5 s and 200 MB.

Run from the repository root with the project's virtual environment:

    .venv/bin/python benchmarks/parse_coverage.py [--size-mb 100] [--rounds 3]

Not run by CI; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
TARGET_SECONDS: Final = 5.0
TARGET_MB: Final = 200.0
CASE_TIMEOUT_S: Final = 600.0
LINES_PER_FILE: Final = 300
METHODS_PER_FILE: Final = 5
BRANCH_EVERY: Final = 7

Totals = tuple[int, int, int, int]  # lines, lines hit, branches, branches taken


# -- the generated reports --------------------------------------------------------------


def _hits(rng: random.Random) -> int:
    return 0 if rng.random() < 0.2 else rng.randint(1, 50)


def write_cobertura(path: Path, size_mb: float, seed: int = 1) -> Totals:
    """An istanbul-shaped Cobertura report of about ``size_mb`` MB; returns the totals it declares."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    body = path.with_suffix(".body")
    lines = hit = branches = taken = 0
    written, files = 0, 0
    with body.open("w", encoding="utf-8") as out:
        while written < size_mb * 1e6:
            files += 1
            parts = [
                f'        <class name="f{files}.ts" filename="src/m{files}/f{files}.ts" '
                'line-rate="0" branch-rate="0">\n'
            ]
            parts.append("          <methods>\n")
            for m in range(METHODS_PER_FILE):
                parts.append(
                    f'            <method name="fn{m}" hits="3" signature="()V">\n              <lines>\n'
                    f'                <line number="{m * 10 + 1}" hits="3"/>\n'
                    "              </lines>\n            </method>\n"
                )
            parts.append("          </methods>\n          <lines>\n")
            for number in range(1, LINES_PER_FILE + 1):
                count = _hits(rng)
                lines += 1
                hit += count > 0
                if number % BRANCH_EVERY == 0:
                    both = count > 0 and rng.random() < 0.7
                    branches += 2
                    taken += 1 + both if count > 0 else 0
                    covered = (1 + both) if count > 0 else 0
                    parts.append(
                        f'            <line number="{number}" hits="{count}" branch="true" '
                        f'condition-coverage="{covered * 50}% ({covered}/2)"/>\n'
                    )
                else:
                    parts.append(f'            <line number="{number}" hits="{count}" branch="false"/>\n')
            parts.append("          </lines>\n        </class>\n")
            chunk = "".join(parts)
            out.write(chunk)
            written += len(chunk)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" ?>\n<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
        )
        out.write(
            f'<coverage lines-valid="{lines}" lines-covered="{hit}" line-rate="0" branches-valid="{branches}" '
            f'branches-covered="{taken}" branch-rate="0" timestamp="1" complexity="0" version="0.1">\n'
            "  <sources><source>/repo/apps/web</source></sources>\n  <packages>\n"
            '    <package name="main" line-rate="0" branch-rate="0">\n      <classes>\n'
        )
        with body.open(encoding="utf-8") as source:
            while chunk := source.read(1 << 20):
                out.write(chunk)
        out.write("      </classes>\n    </package>\n  </packages>\n</coverage>\n")
    body.unlink()
    return lines, hit, branches, taken


def write_lcov(path: Path, size_mb: float, seed: int = 2) -> Totals:
    """An istanbul-shaped lcov tracefile of about ``size_mb`` MB; returns its totals."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    totals = [0, 0, 0, 0]
    written, files = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < size_mb * 1e6:
            files += 1
            parts = [f"TN:\nSF:src/m{files}/f{files}.ts\n"]
            parts.extend(f"FN:{m * 10 + 1},fn{m}\n" for m in range(METHODS_PER_FILE))
            parts.append(f"FNF:{METHODS_PER_FILE}\nFNH:{METHODS_PER_FILE}\n")
            parts.extend(f"FNDA:3,fn{m}\n" for m in range(METHODS_PER_FILE))
            record = [0, 0, 0, 0]
            branch_lines: list[str] = []
            for number in range(1, LINES_PER_FILE + 1):
                count = _hits(rng)
                record[0] += 1
                record[1] += count > 0
                parts.append(f"DA:{number},{count}\n")
                if number % BRANCH_EVERY == 0:
                    for arm in range(2):
                        taken = "-" if count == 0 else str(rng.randint(0, 4))
                        record[2] += 1
                        record[3] += taken not in ("-", "0")
                        branch_lines.append(f"BRDA:{number},{number // BRANCH_EVERY},{arm},{taken}\n")
            parts.append(f"LF:{record[0]}\nLH:{record[1]}\n")
            parts.extend(branch_lines)
            parts.append(f"BRF:{record[2]}\nBRH:{record[3]}\nend_of_record\n")
            chunk = "".join(parts)
            out.write(chunk)
            written += len(chunk)
            totals = [a + b for a, b in zip(totals, record, strict=True)]
    return totals[0], totals[1], totals[2], totals[3]


# -- the cases (each run in a child process) ---------------------------------------------


def _count_tree(root: object) -> Totals:
    lines = hit = 0
    for cls in root.iter("class"):  # type: ignore[attr-defined]
        for line in cls.find("lines"):
            lines += 1
            hit += int(line.get("hits")) > 0
    attributes = root.attrib  # type: ignore[attr-defined]
    return lines, hit, int(attributes["branches-valid"]), int(attributes["branches-covered"])


def _cobertura_stream(path: Path) -> Totals:
    from checks.artifacts.coverage import load_cobertura  # noqa: PLC0415 - imported in the measured child

    report = load_cobertura(path)
    return report.lines.total, report.lines.covered, report.branches.total, report.branches.covered


def _cobertura_whole_defused(path: Path) -> Totals:
    from defusedxml.ElementTree import parse  # noqa: PLC0415

    return _count_tree(parse(str(path)).getroot())


def _cobertura_whole_stdlib(path: Path) -> Totals:
    from xml.etree.ElementTree import parse  # noqa: PLC0415 - a generated file, for scale only

    return _count_tree(parse(str(path)).getroot())  # noqa: S314


def _lcov_stream(path: Path) -> Totals:
    from checks.artifacts.coverage import load_lcov  # noqa: PLC0415

    report = load_lcov(path)
    return report.lines.total, report.lines.covered, report.branches.total, report.branches.covered


def _lcov_line_by_line(path: Path) -> Totals:
    from checks.artifacts.coverage import _lcov_lines  # noqa: PLC0415

    report = _lcov_lines(path)
    return report.lines.total, report.lines.covered, report.branches.total, report.branches.covered


def _lcov_whole_read(path: Path) -> Totals:
    lines = hit = branches = taken = 0
    for raw in path.read_bytes().splitlines():
        if raw.startswith(b"DA:"):
            lines += 1
            hit += int(raw.split(b",")[1]) > 0
        elif raw.startswith(b"BRDA:"):
            branches += 1
            last = raw.rsplit(b",", 1)[1]
            taken += last != b"-" and int(last) > 0
    return lines, hit, branches, taken


@dataclass(frozen=True)
class Case:
    name: str
    report: str  # "cobertura" or "lcov"
    run: Callable[[Path], Totals]
    role: str  # "gate": what the gate runs; "fallback": its reader for files the block check rejects; "reference"


CASES: Final = (
    Case("cobertura stream", "cobertura", _cobertura_stream, "gate"),
    Case("cobertura whole tree (defusedxml)", "cobertura", _cobertura_whole_defused, "reference"),
    Case("cobertura whole tree (stdlib C parser)", "cobertura", _cobertura_whole_stdlib, "reference"),
    Case("lcov stream", "lcov", _lcov_stream, "gate"),
    Case("lcov line by line", "lcov", _lcov_line_by_line, "fallback"),
    Case("lcov whole read()", "lcov", _lcov_whole_read, "reference"),
)


def _child(name: str, path: Path, traced: bool) -> None:
    """Run one case here and print its measurements as JSON."""
    sys.path.insert(0, str(REPO))
    case = next(case for case in CASES if case.name == name)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    totals = case.run(path)
    seconds = time.perf_counter() - started
    traced_mb = tracemalloc.get_traced_memory()[1] / 1e6 if traced else None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "traced_mb": traced_mb, "totals": totals}))


@dataclass(frozen=True)
class Measured:
    seconds: float
    rss_mb: float
    traced_mb: float | None
    totals: Totals


def _measure(case: Case, path: Path, traced: bool) -> Measured:
    argv = [sys.executable, __file__, "--child", case.name, "--file", str(path)] + (["--traced"] if traced else [])
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=CASE_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{case.name} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    lines, hit, branches, taken = (int(value) for value in result["totals"])
    traced_mb = result["traced_mb"]
    return Measured(
        float(result["seconds"]),
        float(result["rss_mb"]),
        None if traced_mb is None else float(traced_mb),
        (lines, hit, branches, taken),
    )


def _baseline_mb() -> float:
    script = (
        "import resource, sys; sys.path.insert(0, '.'); import checks.artifacts.coverage, defusedxml.ElementTree; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.file, args.traced)
        return

    with tempfile.TemporaryDirectory(prefix="parse-coverage-") as folder:
        files = {"cobertura": Path(folder) / "cobertura-coverage.xml", "lcov": Path(folder) / "lcov.info"}
        started = time.perf_counter()
        expected = {
            "cobertura": write_cobertura(files["cobertura"], args.size_mb),
            "lcov": write_lcov(files["lcov"], args.size_mb),
        }
        print(f"generated in {time.perf_counter() - started:.1f}s:")
        for kind, path in files.items():
            lines, hit, branches, taken = expected[kind]
            print(
                f"  {path.name}: {path.stat().st_size / 1e6:.1f} MB, {lines} lines ({hit} hit), "
                f"{branches} branches ({taken} taken)"
            )
        print(f"interpreter with the parsers imported: {_baseline_mb():.0f} MB resident\n")
        header = f"| case | role | file MB | wall s (median of {args.rounds}) | peak RSS MB | traced peak MB | target |"
        rows = [header, "|---|---|---:|---:|---:|---:|---|"]
        for case in CASES:
            path = files[case.report]
            timed = [_measure(case, path, traced=False) for _ in range(args.rounds)]
            traced = _measure(case, path, traced=True)
            for result in [*timed, traced]:
                if result.totals != expected[case.report]:
                    raise SystemExit(f"{case.name} counted {result.totals}, expected {expected[case.report]}")
            seconds = statistics.median(result.seconds for result in timed)
            rss = max(result.rss_mb for result in timed)
            traced_mb = traced.traced_mb or 0.0
            met = seconds < TARGET_SECONDS and rss < TARGET_MB
            verdict = "met" if met else "missed"
            size = path.stat().st_size / 1e6
            rows.append(
                f"| {case.name} | {case.role} | {size:.0f} | {seconds:.2f} | {rss:.0f} | {traced_mb:.0f} | {verdict} |"
            )
            print(rows[-1], flush=True)
        print("\n" + "\n".join(rows))
        print(f"\ntargets: under {TARGET_SECONDS:g} s and {TARGET_MB:g} MB peak RSS (binding for the gate rows)")
        print(f"python {sys.version.split()[0]}, {_cpu()}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return re.sub(r"\s+", " ", line.split(":", 1)[1].strip())
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
