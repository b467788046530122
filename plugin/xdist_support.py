"""Wiring into pytest-xdist's controller; registered only when xdist distributes tests."""

from __future__ import annotations

from typing import Any

import pytest
from xdist.workermanage import parse_tx_spec_config

from plugin.engine import RuntimeDecider
from plugin.runtime import USAGE_ERROR_KEY, WORKERINPUT_KEY, Runtime
from plugin.scheduler import PhaseBarrierScheduling


class XdistController:
    """Hooks of the xdist controller: hand the run to workers, schedule by unit."""

    def __init__(self, runtime: Runtime, session: pytest.Session) -> None:
        self.runtime = runtime
        self.session = session
        self.scheduler: PhaseBarrierScheduling | None = None
        self.usage_error: str | None = None

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Keep the first usage error a worker found while collecting (bad markers, actions)."""
        message = getattr(node, "workeroutput", {}).get(USAGE_ERROR_KEY)
        if message is not None and self.usage_error is None:
            self.usage_error = str(message)

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = {
            "run_id": self.runtime.run_id,
            "run_dir": str(self.runtime.run_dir),
        }

    # tryfirst: xdist's own implementation is trylast and answers for every --dist mode;
    # ours must be asked first (it hands non-gate runs back to xdist's choice).
    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> PhaseBarrierScheduling:
        dsession = config.pluginmanager.get_plugin("dsession")
        assert dsession is not None, "the scheduler hook is only called by xdist's DSession"

        def default_scheduler() -> Any:
            return dsession.pytest_xdist_make_scheduler(config=config, log=log)

        def planned(real_tests: int) -> None:
            # Barrier items are not tests: keep them out of the progress count.
            self.session.testscollected = real_tests
            self.runtime.gate_active = True

        self.scheduler = PhaseBarrierScheduling(
            numnodes=len(parse_tx_spec_config(config)),
            decider=RuntimeDecider(self.runtime),
            make_fallback=default_scheduler,
            on_planned=planned,
        )
        return self.scheduler

    @property
    def expected_nodeids(self) -> list[str] | None:
        """The real tests of the run, or None when xdist's own scheduler ran it."""
        scheduler = self.scheduler
        if scheduler is None or scheduler.collection is None:
            return None
        return [scheduler.collection[i] for i in sorted(scheduler.plan.real)]
