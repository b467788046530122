"""Wall time of the concurrent smoke runner: 200 checks against a 100 ms loopback server.

A threaded HTTP server on 127.0.0.1, in its own process, answers every request after 100 ms. The script runs
200 checks (the same ``/health`` contract, 200 ids) through ``smoke.runner.run_checks``,
once as a warm-up and then ``--rounds`` times, and prints each round's wall time, the
median, the sequential time it stands against (200 x 100 ms = 20 s) and the ratio. The
target is under 2 s.

Run from the repository root with the project's virtual environment:

    .venv/bin/python benchmarks/smoke_checks.py

Not run by CI; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smoke.contracts import Check, Contract
from smoke.runner import Target, run_checks

REPO = Path(__file__).resolve().parents[1]
DELAY_S = 0.1
TARGET_S = 2.0


@contextmanager
def server_process(delay_s: float) -> Iterator[str]:
    """The loopback server in its own process, so it does not share the runner's GIL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.smoke.loopback", "--delay-s", str(delay_s)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the loopback server did not start: {url!r}")
        yield url
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


def _checks(count: int) -> list[Check]:
    contract = Contract.model_validate(
        {
            "name": "bench-health",
            "base": "agents",
            "path": "/health",
            "status": 200,
            "json_fields": ["status", "version"],
            "json_values": {"version": "{version}"},
            "latency_ms": 30_000,
        }
    )
    return [Check(f"bench-{n:03d}", contract, False, False, 30.0) for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-connections", type=int, default=200)
    args = parser.parse_args()
    checks = _checks(args.checks)
    walls: list[float] = []
    with server_process(DELAY_S) as url:
        target = Target(bases={"agents": url}, version="v1.2.3")
        for round_no in range(args.rounds + 1):
            began = time.perf_counter()
            results = run_checks(checks, target, max_connections=args.max_connections)
            wall = time.perf_counter() - began
            failed = [r.message for r in results.values() if not r.ok]
            if failed:
                print(f"round {round_no}: {len(failed)} checks failed, first: {failed[0]}")
                return 1
            if round_no == 0:
                print(f"warm-up: {wall:.3f} s")
                continue
            walls.append(wall)
            print(f"round {round_no}: {wall:.3f} s")
    sequential = args.checks * DELAY_S
    median = statistics.median(walls)
    print(
        f"{args.checks} checks x {DELAY_S * 1000:.0f} ms, max_connections={args.max_connections}: "
        f"median {median:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}); "
        f"sequential {sequential:.1f} s; speed-up x{sequential / median:.1f}; "
        f"target < {TARGET_S:.0f} s: {'met' if median < TARGET_S else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
