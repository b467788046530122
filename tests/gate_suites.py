"""Sources of small gate suites that the engine tests run with pytester."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

TRACE_HOOKS = """
import json, os, time
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    path = os.environ.get("GATE_TRACE")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"ev": "start", "id": item.nodeid, "t": time.time(), "w": worker}) + "\\n")
    try:
        return (yield)
    finally:
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"ev": "end", "id": item.nodeid, "t": time.time(), "w": worker}) + "\\n")
"""


def unit_suite(units: Sequence[tuple[str, str | None]], per_unit: int, sleep_s: float = 0.0) -> str:
    """A test module with ``per_unit`` tests in each unit; ``GATE_FAIL=<test name>`` fails one."""
    lines = ["import os, time", "import pytest", ""]
    for u_index, (phase, step) in enumerate(units):
        mark = f"@pytest.mark.phase({phase!r}, {step!r})" if step else f"@pytest.mark.phase({phase!r})"
        for t_index in range(per_unit):
            name = f"test_u{u_index}_t{t_index}"
            lines += [
                mark,
                f"def {name}():",
                f"    time.sleep({sleep_s})",
                f"    assert os.environ.get('GATE_FAIL') != {name!r}",
                "",
            ]
    return "\n".join(lines)


def read_trace(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def barrier_violations(events: list[dict[str, Any]], unit_of: dict[str, int]) -> list[str]:
    """Pairs of units where a later unit started before an earlier one ended."""
    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    for event in events:
        unit = unit_of[event["id"].split("::")[-1]]
        if event["ev"] == "start":
            starts[unit] = min(starts.get(unit, event["t"]), event["t"])
        else:
            ends[unit] = max(ends.get(unit, event["t"]), event["t"])
    ranks = sorted(starts)
    return [f"unit {b} started before unit {a} ended" for a, b in pairwise(ranks) if ends[a] > starts[b]]
