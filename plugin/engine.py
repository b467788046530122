"""The deciding side of the gate: recording outcomes and finishing units.

In a plain run the pytest process decides; under xdist the controller does, driven by
the scheduler. Either way the same functions record blocking failures, finish units and
persist the gate state that workers (and the verdict) read.
"""

from __future__ import annotations

from typing import Final

import pytest

from plugin.gate import close_unit, skip_reason
from plugin.phases import UNITS, Unit
from plugin.runtime import Runtime

PROPERTY: Final = "release_gate"
SKIP_PROPERTY: Final = "release_gate_skip"


def gate_property(report: pytest.TestReport) -> dict[str, object] | None:
    for name, value in report.user_properties:
        if name == PROPERTY and isinstance(value, dict):
            return value
    return None


def report_unit(report: pytest.TestReport) -> Unit | None:
    prop = gate_property(report)
    if prop is None:
        return None
    rank = prop.get("rank")
    return UNITS[rank] if isinstance(rank, int) and 0 <= rank < len(UNITS) else None


def is_blocking_failure(report: pytest.TestReport) -> bool:
    if not report.failed or hasattr(report, "wasxfail"):
        return False
    prop = gate_property(report)
    # A report without gate properties (a worker crash) is blocking: fail closed.
    return prop is None or not prop.get("advisory", False)


def record_report(runtime: Runtime, report: pytest.TestReport) -> None:
    """Note a blocking failure for the unit it belongs to."""
    if not is_blocking_failure(report):
        return
    unit = report_unit(report)
    if unit is None:
        return  # crash reports are recorded by the scheduler, which knows the unit
    outcome = "failed" if report.when == "call" else "error"
    runtime.failures.add(unit.rank, report.nodeid, outcome)


def finish_unit(runtime: Runtime, unit: Unit) -> None:
    """Every test of ``unit`` is done: close the gate if it failed, and persist."""
    failure = runtime.failures.first(unit.rank)
    decision = runtime.rollback_decision() if failure and not unit.is_rollback else (False, "")
    if close_unit(runtime.state, unit, failure, decision):
        runtime.gate_file.write(runtime.state)


class RuntimeDecider:
    """The scheduler's view of the gate (see :class:`plugin.scheduler.GateDecider`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def unit_started(self, unit: Unit) -> None:
        self.runtime.current_unit = unit

    def unit_finished(self, unit: Unit) -> None:
        finish_unit(self.runtime, unit)

    def will_skip(self, unit: Unit, rollback_selected: bool) -> bool:
        self.runtime.rollback_selected = rollback_selected
        return skip_reason(unit, self.runtime.state, rollback_selected) is not None

    def record_crash(self, unit: Unit, nodeid: str) -> None:
        self.runtime.failures.add(unit.rank, nodeid, "crashed")
