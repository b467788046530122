"""Counting outcomes per phase, and the closing verdict of a release run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

from plugin.checklist import ChecklistItem
from plugin.engine import SKIP_PROPERTY, gate_property, is_blocking_failure, report_unit
from plugin.gate import GateState
from plugin.phases import PHASE_NAMES, UNITS, Unit


@dataclass(slots=True)
class PhaseTally:
    passed: int = 0
    failed: int = 0
    skipped_by_gate: int = 0
    skipped: int = 0
    advisory_failures: int = 0
    start: float | None = None
    stop: float | None = None

    @property
    def duration_s(self) -> float:
        return 0.0 if self.start is None or self.stop is None else self.stop - self.start


@dataclass(slots=True)
class Tally:
    """Outcomes seen by the deciding process, from test reports alone."""

    phases: dict[str, PhaseTally] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    blocking: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    unattributed: list[str] = field(default_factory=list)  # failures with no unit: fail closed
    properties: dict[str, dict[str, object]] = field(default_factory=dict)  # gate property per test

    def add(self, report: pytest.TestReport, unit_of_crash: Callable[[str], Unit | None]) -> None:
        crashed = report.when not in ("setup", "call", "teardown")
        unit = report_unit(report) or unit_of_crash(report.nodeid)
        if unit is None:
            if report.failed:
                self.unattributed.append(report.nodeid)
            return
        tally = self.phases.setdefault(unit.phase, PhaseTally())
        self._note_progress(report, tally, crashed)
        if report.failed:
            if is_blocking_failure(report):
                tally.failed += 1
                outcome = "crashed" if crashed else ("failed" if report.when == "call" else "error")
                self.blocking.setdefault(unit.rank, []).append((report.nodeid, outcome))
            elif not hasattr(report, "wasxfail"):
                tally.advisory_failures += 1
        elif report.skipped and report.when in ("setup", "call"):
            if any(name == SKIP_PROPERTY for name, _ in report.user_properties):
                tally.skipped_by_gate += 1
            else:
                tally.skipped += 1
        elif report.passed and report.when == "call":
            tally.passed += 1

    def _note_progress(self, report: pytest.TestReport, tally: PhaseTally, crashed: bool) -> None:
        """Checklist coverage, the phase's time span, and which tests have finished."""
        if not crashed and report.when == "setup":
            prop = gate_property(report) or {}
            self.properties[report.nodeid] = prop
            ids = prop.get("checklist")
            if isinstance(ids, list):
                self.covered.update(str(i) for i in ids)
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if isinstance(start, float) and isinstance(stop, float):
            tally.start = start if tally.start is None else min(tally.start, start)
            tally.stop = stop if tally.stop is None else max(tally.stop, stop)
        if crashed or report.when == "teardown":
            self.finished.add(report.nodeid)


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    blocked_at: str = ""
    reason: str = ""

    @property
    def line(self) -> str:
        if self.passed:
            return "RELEASE GATE: PASSED"
        return f"RELEASE GATE: BLOCKED at {self.blocked_at} ({self.reason})"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the verdict depends on."""

    tally: Tally
    state: GateState
    expected: list[str]
    unit_of: Callable[[str], Unit | None]
    uncovered: list[ChecklistItem]
    rollback_selected: bool
    collection_errors: int
    exitstatus: int
    interrupted: bool
    current_unit: Unit | None


def _first_blocking(tally: Tally, rollback: bool) -> tuple[Unit, str, str] | None:
    for rank in sorted(tally.blocking):
        unit = UNITS[rank]
        if unit.is_rollback == rollback:
            nodeid, outcome = tally.blocking[rank][0]
            return unit, nodeid, outcome
    return None


def decide(evidence: Evidence) -> Verdict:  # noqa: PLR0911 - one return per reason to block
    """PASSED only when everything that should have happened did, and nothing blocked."""
    tally = evidence.tally
    if evidence.collection_errors:
        return Verdict(False, "collection", f"{evidence.collection_errors} collection errors")
    if evidence.interrupted:
        where = evidence.current_unit.label if evidence.current_unit else "start"
        return Verdict(False, where, "interrupted: the run did not finish")
    blocking = _first_blocking(tally, rollback=evidence.rollback_selected)
    if blocking is not None:
        unit, nodeid, outcome = blocking
        return Verdict(False, unit.label, f"{outcome}: {nodeid}")
    if tally.unattributed:
        nodeid = tally.unattributed[0]
        return Verdict(False, "session", f"{len(tally.unattributed)} failures outside any test, first {nodeid}")
    closure = evidence.state.closed_by
    if closure is not None and not evidence.rollback_selected:
        return Verdict(False, closure.unit, f"{closure.outcome}: {closure.nodeid}")
    gated = sum(t.skipped_by_gate for name, t in tally.phases.items() if name != "rollback")
    if gated and not evidence.rollback_selected:
        return Verdict(False, "session", f"{gated} tests were skipped by a closed gate the controller did not close")
    if not evidence.expected:
        return Verdict(False, "collection", "no gate tests were selected")
    missing = [nodeid for nodeid in evidence.expected if nodeid not in tally.finished]
    if missing:
        missing_unit = evidence.unit_of(missing[0])
        where = missing_unit.label if missing_unit else "unknown"
        return Verdict(False, where, f"{len(missing)} tests without a result, first {missing[0]}")
    if evidence.uncovered:
        first = evidence.uncovered[0]
        return Verdict(False, first.unit.label, f"checklist incomplete: {len(evidence.uncovered)} items without a test")
    if evidence.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return Verdict(False, "session", f"pytest exit status {int(evidence.exitstatus)}")
    if evidence.exitstatus == pytest.ExitCode.TESTS_FAILED and not any(
        t.advisory_failures for t in tally.phases.values()
    ):
        return Verdict(False, "session", "pytest reported failures the gate did not attribute")
    return Verdict(True)


def rollback_line(state: GateState, tally: Tally, rollback_selected: bool) -> str | None:
    """How the rollback went, when one was due or selected."""
    if rollback_selected:
        return None
    if state.closed_by is None:
        return None
    if not state.rollback_triggered:
        return f"rollback: not triggered ({state.rollback_reason})"
    failure = _first_blocking(tally, rollback=True)
    if failure is not None:
        unit, nodeid, outcome = failure
        return f"rollback: BLOCKED at {unit.label} ({outcome}: {nodeid}); the platform may be partly rolled back"
    ran = tally.phases.get("rollback")
    if ran is None or ran.passed == 0:
        return (
            f"rollback: triggered ({state.rollback_reason}) but no rollback test ran; "
            "run pytest -m rollback to roll back"
        )
    return f"rollback: completed (triggered: {state.rollback_reason})"


def table_lines(tally: Tally, phases: Iterable[str] = PHASE_NAMES) -> list[str]:
    header = f"{'phase':<18} {'passed':>6} {'failed':>6} {'gated':>6} {'skipped':>7} {'advisory':>8} {'duration':>9}"
    lines = [header]
    for name in phases:
        tally_of = tally.phases.get(name)
        if tally_of is None:
            continue
        lines.append(
            f"{name:<18} {tally_of.passed:>6} {tally_of.failed:>6} {tally_of.skipped_by_gate:>6} "
            f"{tally_of.skipped:>7} {tally_of.advisory_failures:>8} {tally_of.duration_s:>8.1f}s"
        )
    return lines
