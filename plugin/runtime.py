"""Per-process state of one release run, kept in ``config.stash``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest

from plugin.gate import GateFile, GateState, UnitFailures
from plugin.ledger import Ledger, LedgerError
from plugin.markers import GateMarks
from plugin.phases import Unit
from plugin.settings import Settings

WORKERINPUT_KEY: Final = "release_gate_run"
USAGE_ERROR_KEY: Final = "release_gate_usage_error"  # workeroutput: a usage error a worker found


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass(slots=True)
class Runtime:
    settings: Settings
    run_id: str
    run_dir: Path
    ledger: Ledger
    gate_file: GateFile
    worker_id: str | None
    gate_active: bool = False
    rollback_selected: bool = False
    current_unit: Unit | None = None
    # Only the deciding process (plain run, or xdist controller) uses the fields below.
    state: GateState = field(default_factory=GateState)
    failures: UnitFailures = field(default_factory=UnitFailures)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_worker(self) -> bool:
        return self.worker_id is not None

    def rollback_decision(self) -> tuple[bool, str]:
        """Whether a closing gate triggers the rollback units, and why (not)."""
        target = self.settings.target
        if target is None or not target.auto_rollback:
            return False, f"automatic rollback is off for target {self.settings.target_name!r}"
        if self.settings.dry_run:
            return False, "dry run: nothing was deployed"
        try:
            deployed = self.ledger.executed_mutations()
        except LedgerError as exc:
            return False, f"{exc}; check by hand what was deployed and roll back with pytest -m rollback"
        if not deployed:
            return False, "nothing was deployed in this run"
        return True, f"deployed in this run: {', '.join(deployed)}"


RUNTIME_KEY: Final = pytest.StashKey[Runtime]()
MARKS_KEY: Final = pytest.StashKey[GateMarks]()


def make_runtime(settings: Settings, workerinput: dict[str, Any] | None) -> Runtime:
    if workerinput is not None and WORKERINPUT_KEY in workerinput:
        shared = workerinput[WORKERINPUT_KEY]
        run_id, run_dir = str(shared["run_id"]), Path(shared["run_dir"])
        worker_id: str | None = str(workerinput.get("workerid", "gw?"))
    else:
        run_id = new_run_id()
        run_dir = settings.state_dir / "runs" / run_id
        worker_id = None
    return Runtime(
        settings=settings,
        run_id=run_id,
        run_dir=run_dir,
        ledger=Ledger(run_dir / "ledger.jsonl", run_id, settings.masker.mask),
        gate_file=GateFile(run_dir / "gate.json"),
        worker_id=worker_id,
    )


def get_runtime(config: pytest.Config) -> Runtime:
    return config.stash[RUNTIME_KEY]
