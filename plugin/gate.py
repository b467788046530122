"""Gate semantics: when the gate closes, and what that means for every later test.

The gate closes when a unit finishes with a blocking failure (a failed or errored test that
is not advisory; an expected failure does not count). Closing happens at the unit's
barrier, so a unit behaves the same whether its tests ran one after another or in
parallel. Rollback units are the exception to "everything later is skipped": they run when
the gate closed and a rollback was triggered, or when the run selected only them, and
they are gated among themselves.

The state is kept in a small JSON file of the run, written before any test of a later unit
is started, so that xdist workers read the same decision the controller made.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plugin.phases import Unit


@dataclass(frozen=True, slots=True)
class Closure:
    unit: str
    nodeid: str
    outcome: str  # "failed", "error" or "crashed"


@dataclass(slots=True)
class GateState:
    closed_by: Closure | None = None
    rollback_triggered: bool = False
    rollback_reason: str = ""
    rollback_closed_by: Closure | None = None
    interrupted: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateState:
        def closure(value: Any) -> Closure | None:
            return None if value is None else Closure(**value)

        return cls(
            closed_by=closure(data.get("closed_by")),
            rollback_triggered=bool(data.get("rollback_triggered", False)),
            rollback_reason=str(data.get("rollback_reason", "")),
            rollback_closed_by=closure(data.get("rollback_closed_by")),
            interrupted=bool(data.get("interrupted", False)),
        )


SKIP_PREFIX = "release gate closed"
ROLLBACK_SKIP_PREFIX = "rollback not triggered"


def skip_reason(unit: Unit, state: GateState, rollback_selected: bool) -> str | None:
    """Why a test of ``unit`` must not run now, or None when it may run."""
    if unit.is_rollback:
        if not rollback_selected:
            if state.closed_by is None:
                return f"{ROLLBACK_SKIP_PREFIX}: the release gate did not close"
            if not state.rollback_triggered:
                return f"{ROLLBACK_SKIP_PREFIX}: {state.rollback_reason}"
        closure = state.rollback_closed_by
        if closure is not None:
            return f"{SKIP_PREFIX}: rollback blocked at {closure.unit} by {closure.outcome} test {closure.nodeid}"
        return None
    closure = state.closed_by
    if closure is not None:
        return f"{SKIP_PREFIX}: blocking failure in {closure.unit} ({closure.outcome}: {closure.nodeid})"
    return None


@dataclass(slots=True)
class UnitFailures:
    """Blocking failures seen so far, per unit rank, in the order they were reported."""

    by_rank: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, rank: int, nodeid: str, outcome: str) -> None:
        self.by_rank.setdefault(rank, []).append((nodeid, outcome))

    def first(self, rank: int) -> tuple[str, str] | None:
        found = self.by_rank.get(rank)
        return found[0] if found else None


class GateFile:
    """The gate state of one run, on disk, shared by the controller and its workers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self._cached = GateState()

    def write(self, state: GateState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def read(self) -> GateState:
        """The current state, as a worker sees it. The controller writes the file before any
        worker starts, so a missing file (a worker that does not share the run folder) or an
        unreadable one is a closed gate: nothing runs on a state it cannot see."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return GateState(
                closed_by=Closure("(gate state)", str(self.path), "missing: xdist workers must share the run folder"),
                rollback_reason="the gate state file is missing",
            )
        # Every write replaces the file, so the inode changes even within one mtime tick.
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise TypeError(f"expected a JSON object, got {type(data).__name__}")
                self._cached = GateState.from_json(data)
            except (OSError, ValueError, TypeError) as exc:
                # Fail closed: a gate whose state cannot be read lets nothing else run.
                self._cached = GateState(
                    closed_by=Closure("(gate state)", str(self.path), f"unreadable: {exc}"),
                    rollback_reason="the gate state file is unreadable",
                )
            self._seen = seen
        return self._cached


def close_unit(
    state: GateState,
    unit: Unit,
    failure: tuple[str, str] | None,
    rollback_decision: tuple[bool, str],
) -> bool:
    """Apply a finished unit's first blocking failure to ``state``; True if it changed."""
    if failure is None:
        return False
    nodeid, outcome = failure
    closure = Closure(unit.label, nodeid, outcome)
    if unit.is_rollback:
        if state.rollback_closed_by is None:
            state.rollback_closed_by = closure
            return True
        return False
    if state.closed_by is not None:
        return False
    state.closed_by = closure
    state.rollback_triggered, state.rollback_reason = rollback_decision
    return True
