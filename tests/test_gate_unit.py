"""Unit tests of :mod:`plugin.gate`: skip reasons, closing units, and the gate state file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from plugin.gate import (
    ROLLBACK_SKIP_PREFIX,
    SKIP_PREFIX,
    Closure,
    GateFile,
    GateState,
    UnitFailures,
    close_unit,
    skip_reason,
)
from plugin.phases import UNIT_BY_LABEL, Unit

INSTALL = UNIT_BY_LABEL["validate/install"]
MIGRATIONS = UNIT_BY_LABEL["deploy_staging/migrations"]
LATER = UNIT_BY_LABEL["rollout/full_ga"]
FLAGS = UNIT_BY_LABEL["rollback/flags"]
REDEPLOY = UNIT_BY_LABEL["rollback/redeploy"]

FAILING = "checks/test_deploy.py::test_migrations"
ROLLBACK_FAILING = "checks/test_rollback.py::test_flags"


def closed(*, triggered: bool = False, reason: str = "", rollback_closed: bool = False) -> GateState:
    return GateState(
        closed_by=Closure(MIGRATIONS.label, FAILING, "failed"),
        rollback_triggered=triggered,
        rollback_reason=reason,
        rollback_closed_by=Closure(FLAGS.label, ROLLBACK_FAILING, "error") if rollback_closed else None,
    )


# -- skip_reason ------------------------------------------------------------------------


@pytest.mark.parametrize("rollback_selected", [False, True])
@pytest.mark.parametrize("unit", [INSTALL, MIGRATIONS, LATER])
def test_an_open_gate_skips_nothing(unit: Unit, rollback_selected: bool) -> None:
    assert skip_reason(unit, GateState(), rollback_selected) is None


@pytest.mark.parametrize("rollback_selected", [False, True])
def test_a_closed_gate_skips_later_units(rollback_selected: bool) -> None:
    reason = skip_reason(LATER, closed(), rollback_selected)
    assert reason == f"{SKIP_PREFIX}: blocking failure in deploy_staging/migrations (failed: {FAILING})"


def test_the_reason_names_the_outcome_of_the_closure() -> None:
    state = GateState(closed_by=Closure("validate/install", "checks/test_x.py::test_y", "crashed"))
    assert skip_reason(MIGRATIONS, state, False) == (
        f"{SKIP_PREFIX}: blocking failure in validate/install (crashed: checks/test_x.py::test_y)"
    )


def test_a_closed_gate_with_a_triggered_rollback_still_skips_later_units() -> None:
    reason = skip_reason(LATER, closed(triggered=True, reason="deployed"), False)
    assert reason is not None
    assert reason.startswith(SKIP_PREFIX)


@pytest.mark.parametrize("unit", [FLAGS, REDEPLOY])
def test_rollback_units_are_skipped_while_the_gate_is_open(unit: Unit) -> None:
    assert skip_reason(unit, GateState(), False) == (f"{ROLLBACK_SKIP_PREFIX}: the release gate did not close")


def test_rollback_units_are_skipped_when_the_gate_closed_without_a_trigger() -> None:
    state = closed(reason="automatic rollback is off for target 'sandbox'")
    assert skip_reason(FLAGS, state, False) == (
        f"{ROLLBACK_SKIP_PREFIX}: automatic rollback is off for target 'sandbox'"
    )


def test_rollback_units_run_when_the_gate_closed_with_a_trigger() -> None:
    state = closed(triggered=True, reason="deployed in this run: migrate")
    assert skip_reason(FLAGS, state, False) is None
    assert skip_reason(REDEPLOY, state, False) is None


def test_rollback_units_are_skipped_once_the_rollback_gate_closed() -> None:
    state = closed(triggered=True, reason="deployed", rollback_closed=True)
    assert skip_reason(REDEPLOY, state, False) == (
        f"{SKIP_PREFIX}: rollback blocked at rollback/flags by error test {ROLLBACK_FAILING}"
    )


def test_a_rollback_selected_run_runs_rollback_units_with_the_gate_open() -> None:
    assert skip_reason(FLAGS, GateState(), True) is None


def test_a_rollback_selected_run_ignores_the_trigger() -> None:
    assert skip_reason(FLAGS, closed(reason="not triggered"), True) is None


def test_a_rollback_selected_run_is_gated_by_the_rollback_gate() -> None:
    state = GateState(rollback_closed_by=Closure(FLAGS.label, ROLLBACK_FAILING, "failed"))
    assert skip_reason(REDEPLOY, state, True) == (
        f"{SKIP_PREFIX}: rollback blocked at rollback/flags by failed test {ROLLBACK_FAILING}"
    )


def test_the_rollback_gate_does_not_skip_other_units() -> None:
    state = GateState(rollback_closed_by=Closure(FLAGS.label, ROLLBACK_FAILING, "failed"))
    assert skip_reason(INSTALL, state, False) is None


# -- close_unit -------------------------------------------------------------------------


def test_a_unit_without_failures_changes_nothing() -> None:
    state = GateState()
    assert close_unit(state, MIGRATIONS, None, (True, "deployed")) is False
    assert state == GateState()


def test_the_first_blocking_failure_closes_the_gate_and_records_the_rollback_decision() -> None:
    state = GateState()
    assert close_unit(state, MIGRATIONS, (FAILING, "failed"), (True, "deployed in this run: migrate")) is True
    assert state.closed_by == Closure("deploy_staging/migrations", FAILING, "failed")
    assert state.rollback_triggered is True
    assert state.rollback_reason == "deployed in this run: migrate"
    assert state.rollback_closed_by is None


def test_a_closed_gate_keeps_its_first_closure() -> None:
    state = GateState()
    close_unit(state, MIGRATIONS, (FAILING, "failed"), (False, "nothing was deployed in this run"))
    assert close_unit(state, LATER, ("checks/test_later.py::test_x", "error"), (True, "other")) is False
    assert state.closed_by == Closure("deploy_staging/migrations", FAILING, "failed")
    assert state.rollback_triggered is False
    assert state.rollback_reason == "nothing was deployed in this run"


def test_a_failing_rollback_unit_closes_the_rollback_gate_only() -> None:
    state = closed(triggered=True, reason="deployed")
    assert close_unit(state, FLAGS, (ROLLBACK_FAILING, "error"), (False, "ignored")) is True
    assert state.rollback_closed_by == Closure("rollback/flags", ROLLBACK_FAILING, "error")
    assert state.closed_by == Closure(MIGRATIONS.label, FAILING, "failed")
    assert state.rollback_triggered is True
    assert state.rollback_reason == "deployed"


def test_the_rollback_gate_keeps_its_first_closure() -> None:
    state = GateState()
    close_unit(state, FLAGS, (ROLLBACK_FAILING, "failed"), (False, ""))
    assert close_unit(state, REDEPLOY, ("checks/test_rollback.py::test_redeploy", "failed"), (False, "")) is False
    assert state.rollback_closed_by == Closure("rollback/flags", ROLLBACK_FAILING, "failed")
    assert state.closed_by is None


def test_close_unit_then_skip_reason() -> None:
    state = GateState()
    close_unit(state, INSTALL, ("checks/test_v.py::test_install", "crashed"), (False, "dry run: nothing was deployed"))
    assert skip_reason(MIGRATIONS, state, False) == (
        f"{SKIP_PREFIX}: blocking failure in validate/install (crashed: checks/test_v.py::test_install)"
    )
    assert skip_reason(FLAGS, state, False) == f"{ROLLBACK_SKIP_PREFIX}: dry run: nothing was deployed"


# -- UnitFailures -----------------------------------------------------------------------


def test_unit_failures_keep_the_first_in_report_order() -> None:
    failures = UnitFailures()
    assert failures.first(INSTALL.rank) is None
    failures.add(INSTALL.rank, "b", "failed")
    failures.add(INSTALL.rank, "a", "error")
    failures.add(MIGRATIONS.rank, "c", "crashed")
    assert failures.first(INSTALL.rank) == ("b", "failed")
    assert failures.first(MIGRATIONS.rank) == ("c", "crashed")
    assert failures.first(LATER.rank) is None


# -- GateFile ---------------------------------------------------------------------------


def test_a_missing_file_is_a_closed_gate(tmp_path: Path) -> None:
    # The controller writes the file before workers start: a worker that cannot see it
    # (one that does not share the run folder) must not run anything.
    gate = GateFile(tmp_path / "run" / "gate.json")
    state = gate.read()
    assert state.closed_by is not None
    assert "workers must share the run folder" in state.closed_by.outcome
    assert not (tmp_path / "run").exists()


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1" / "gate.json"
    state = closed(triggered=True, reason="deployed in this run: migrate", rollback_closed=True)
    state.interrupted = True
    GateFile(path).write(state)
    assert GateFile(path).read() == state
    assert json.loads(path.read_text(encoding="utf-8"))["closed_by"]["nodeid"] == FAILING
    assert sorted(p.name for p in path.parent.iterdir()) == ["gate.json"]  # no temporary file left


def test_an_open_state_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    GateFile(path).write(GateState())
    assert GateFile(path).read() == GateState()


def test_a_reader_sees_a_later_write(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    writer, reader = GateFile(path), GateFile(path)
    writer.write(GateState())
    assert reader.read() == GateState()
    writer.write(closed())
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert reader.read() == closed()


def test_a_reader_sees_a_rewrite_with_the_same_mtime(tmp_path: Path) -> None:
    # Regression (fixed in e704297): the cache was keyed on st_mtime_ns alone, so a rewrite
    # within the file system's timestamp granularity was never seen (the gate failed open).
    path = tmp_path / "gate.json"
    writer, reader = GateFile(path), GateFile(path)
    writer.write(GateState())
    first = path.stat()
    assert reader.read() == GateState()
    writer.write(closed())
    os.utime(path, ns=(first.st_atime_ns, first.st_mtime_ns))  # as on a coarse-timestamp file system
    assert reader.read() == closed()


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"not json", b'{"closed_by": {"unit": "x"}}', b'{"closed_by": "x"}', b"\xff\xfe\x00"],
)
def test_a_corrupt_file_reads_as_a_closed_gate(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "gate.json"
    path.write_bytes(content)
    state = GateFile(path).read()
    assert state.closed_by is not None
    assert state.closed_by.unit == "(gate state)"
    assert state.closed_by.nodeid == str(path)
    assert state.closed_by.outcome.startswith("unreadable: ")
    assert state.rollback_triggered is False
    assert state.rollback_reason == "the gate state file is unreadable"
    reason = skip_reason(INSTALL, state, False)
    assert reason is not None
    assert str(path) in reason
    assert skip_reason(FLAGS, state, False) == f"{ROLLBACK_SKIP_PREFIX}: the gate state file is unreadable"


@pytest.mark.parametrize(
    ("content", "kind"), [(b"[]", "list"), (b"null", "NoneType"), (b'"closed"', "str"), (b"1", "int")]
)
def test_a_file_holding_json_that_is_not_an_object_reads_as_a_closed_gate(
    tmp_path: Path, content: bytes, kind: str
) -> None:
    # Regression (fixed in e704297): GateState.from_json raised AttributeError, uncaught.
    path = tmp_path / "gate.json"
    path.write_bytes(content)
    state = GateFile(path).read()
    assert state.closed_by is not None
    assert state.closed_by.nodeid == str(path)
    assert state.closed_by.outcome == f"unreadable: expected a JSON object, got {kind}"


def test_a_directory_in_place_of_the_file_reads_as_a_closed_gate(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.mkdir()
    state = GateFile(path).read()
    assert state.closed_by is not None
    assert state.closed_by.nodeid == str(path)


def test_a_repaired_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text("{", encoding="utf-8")
    gate = GateFile(path)
    assert gate.read().closed_by is not None
    GateFile(path).write(GateState())
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert gate.read() == GateState()


def test_from_json_fills_defaults_for_missing_keys() -> None:
    assert GateState.from_json({}) == GateState()
    assert GateState.from_json(closed(triggered=True, reason="r").to_json()) == closed(triggered=True, reason="r")
