"""The phase-barrier scheduler for pytest-xdist.

The controller of an xdist run sees nothing of a test but its node id, so workers tell it
where units begin and end by appending one hidden barrier item after each unit's tests
(see :mod:`plugin.ordering`). The scheduler then hands out one unit at a time:

* inside a unit, tests go to workers as they become free, at most :data:`LOOKAHEAD` real
  tests queued per worker;
* a worker only runs the last item of its queue once it receives another index (it needs
  the next item for fixture teardown), so when a unit has nothing left to hand out, each
  worker whose queue ends in a real test gets the unit's barrier item: a no-op that lets
  the real test run without starting anything of the next unit;
* when every test of the unit has completed, the gate decides (close or go on) and writes
  its state file, and only then is the next unit handed out. Units whose tests will all be
  skipped are handed out at once.

A worker crash is recorded as a blocking failure of the test it was running. A collection
without barrier items (no gate tests) is handed to xdist's own scheduler unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from plugin.phases import UNITS, Unit

LOOKAHEAD: Final = 2
BARRIER_PREFIX: Final = "release-gate::barrier"
_BARRIER_ID = re.compile(re.escape(BARRIER_PREFIX) + r"\[(?P<rank>\d+)-[^\]]*\]$")


def barrier_nodeid(unit: Unit) -> str:
    return f"{BARRIER_PREFIX}[{unit.rank:02d}-{unit.label}]"


def barrier_rank(nodeid: str) -> int | None:
    match = _BARRIER_ID.match(nodeid)
    return int(match["rank"]) if match else None


class Node(Protocol):
    """The part of xdist's WorkerController the scheduler uses."""

    @property
    def shutting_down(self) -> bool: ...

    def send_runtest_some(self, indices: Sequence[int]) -> None: ...


class GateDecider(Protocol):
    """What the scheduler asks of the gate."""

    def unit_started(self, unit: Unit) -> None:
        """The tests of ``unit`` are being handed out."""

    def unit_finished(self, unit: Unit) -> None:
        """Every test of ``unit`` completed: close the gate or not, and persist the state."""

    def will_skip(self, unit: Unit, rollback_selected: bool) -> bool:
        """Whether every test of ``unit`` would be skipped if handed out now."""

    def record_crash(self, unit: Unit, nodeid: str) -> None:
        """A worker died while running ``nodeid``."""


@dataclass(slots=True)
class _UnitWork:
    unit: Unit
    tests: list[int]
    barrier: int


@dataclass(slots=True)
class _Wave:
    units: list[_UnitWork]
    pending: list[int]
    remaining: set[int]
    cap: int | None  # real tests queued per worker; None: everything at once
    barrier: int


@dataclass(slots=True)
class _Plan:
    units: list[_UnitWork] = field(default_factory=list)
    real: set[int] = field(default_factory=set)
    rank_of: dict[int, int] = field(default_factory=dict)


class PhaseBarrierScheduling:
    """Implements xdist's ``Scheduling`` protocol with unit barriers."""

    def __init__(
        self,
        numnodes: int,
        decider: GateDecider,
        make_fallback: Callable[[], Any],
        on_planned: Callable[[int], None] | None = None,
    ) -> None:
        self.numnodes = numnodes
        self._on_planned = on_planned
        self.decider = decider
        self._make_fallback = make_fallback
        self._fallback: Any = None
        self.node2collection: dict[Any, list[str]] = {}
        self.node2pending: dict[Any, list[int]] = {}
        self.collection: list[str] | None = None
        self.plan = _Plan()
        self.queue: list[_UnitWork] = []
        self.wave: _Wave | None = None
        self.rollback_selected = False
        self.rejected: set[Any] = set()

    # -- protocol properties -------------------------------------------------------
    @property
    def nodes(self) -> list[Any]:
        if self._fallback is not None:
            return list(self._fallback.nodes)
        return list(self.node2pending)

    @property
    def collection_is_completed(self) -> bool:
        if self._fallback is not None:
            return bool(self._fallback.collection_is_completed)
        return len(self.node2collection) >= self.numnodes

    @property
    def tests_finished(self) -> bool:
        if self._fallback is not None:
            return bool(self._fallback.tests_finished)
        if self.collection is None or not self.collection_is_completed:
            return False
        if self.queue or (self.wave is not None and self.wave.pending):
            return False
        # Each worker may still hold one queued item: SHUTDOWN lets it run.
        return all(len(pending) <= 1 for pending in self.node2pending.values())

    @property
    def has_pending(self) -> bool:
        if self._fallback is not None:
            return bool(self._fallback.has_pending)
        waiting = bool(self.wave and self.wave.pending) or bool(self.queue)
        return waiting or any(self.node2pending.values())

    # -- nodes -----------------------------------------------------------------------
    def add_node(self, node: Any) -> None:
        if self._fallback is not None:
            self._fallback.add_node(node)
            return
        self.node2pending[node] = []

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        if self._fallback is not None:
            self._fallback.add_node_collection(node, collection)
            return
        collected = list(collection)
        if self.collection is not None and collected != self.collection:
            # A replacement worker that collected differently would run other tests than
            # the indices name: it stays known (so it is shut down) but gets no work.
            self.rejected.add(node)
        self.node2collection[node] = collected

    def remove_node(self, node: Any) -> str | None:
        if self._fallback is not None:
            return self._fallback.remove_node(node)  # type: ignore[no-any-return]
        pending = self.node2pending.pop(node)
        self.node2collection.pop(node, None)
        if not pending or self.collection is None:
            return None
        # The worker runs its queue in order: the first item is the one it died on.
        crashed = pending[0]
        requeue = [index for index in pending[1:] if index in self.plan.real]
        wave = self.wave
        if wave is not None:
            wave.remaining.discard(crashed)
            wave.pending[:0] = requeue
        if crashed in self.plan.real:
            unit = UNITS[self.plan.rank_of[crashed]]
        else:
            # Dying on a no-op barrier item blames no test, but still fails closed.
            unit = (wave.units[-1] if wave is not None else self.plan.units[-1]).unit
        self.decider.record_crash(unit, self.collection[crashed])
        self._distribute()
        self._maybe_advance()
        return self.collection[crashed]

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        if self._fallback is not None:
            self._fallback.mark_test_complete(node, item_index, duration)
            return
        self.node2pending[node].remove(item_index)
        if self.wave is not None:
            self.wave.remaining.discard(item_index)
        self._distribute()
        self._maybe_advance()

    def mark_test_pending(self, item: str) -> None:
        if self._fallback is not None:
            self._fallback.mark_test_pending(item)
            return
        assert self.collection is not None
        assert self.wave is not None
        index = self.collection.index(item)
        self.wave.pending.insert(0, index)
        self.wave.remaining.add(index)
        self._distribute()

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        if self._fallback is not None:
            self._fallback.remove_pending_tests_from_node(node, indices)
            return
        raise NotImplementedError("the phase-barrier scheduler never steals work")

    # -- scheduling ------------------------------------------------------------------
    def schedule(self) -> None:
        if self._fallback is not None:
            self._fallback.schedule()
            return
        if self.collection is not None:
            # A replacement worker finished collecting: give it work.
            if self._on_planned is not None:
                self._on_planned(len(self.plan.real))
            live = [node for node in self.node2pending if node not in self.rejected and not node.shutting_down]
            if not live and self.has_pending:
                raise RuntimeError(
                    "the replacement xdist worker collected different tests and no other worker is left; "
                    "the remaining tests cannot run (make the collection deterministic)"
                )
            self._distribute()
            return
        collections = list(self.node2collection.values())
        first = collections[0]
        for other in collections[1:]:
            if other != first:
                raise RuntimeError(
                    "xdist workers collected different tests; the release gate needs one "
                    "deterministic collection (check for random ordering plugins)"
                )
        if not any(barrier_rank(nodeid) is not None for nodeid in first):
            self._hand_over_to_fallback()
            return
        self.collection = first
        self.plan = self._split(first)
        real_units = [work.unit for work in self.plan.units if work.tests]
        self.rollback_selected = bool(real_units) and all(u.is_rollback for u in real_units)
        self.queue = [work for work in self.plan.units if work.tests]
        if self._on_planned is not None:
            self._on_planned(len(self.plan.real))
        self._open_next()

    def _hand_over_to_fallback(self) -> None:
        fallback = self._make_fallback()
        for node in self.node2pending:
            fallback.add_node(node)
        for node, collection in self.node2collection.items():
            fallback.add_node_collection(node, collection)
        self._fallback = fallback
        self.node2pending, self.node2collection = {}, {}
        fallback.schedule()

    @staticmethod
    def _split(collection: list[str]) -> _Plan:
        plan = _Plan()
        bucket: list[int] = []
        for index, nodeid in enumerate(collection):
            rank = barrier_rank(nodeid)
            if rank is None:
                bucket.append(index)
                continue
            plan.units.append(_UnitWork(UNITS[rank], bucket, index))
            for test in bucket:
                plan.real.add(test)
                plan.rank_of[test] = rank
            bucket = []
        if bucket:
            raise RuntimeError(f"{len(bucket)} tests follow the last release-gate barrier item")
        return plan

    def _open_next(self) -> None:
        """Hand out the next unit, or every following unit that will be skipped whole."""
        self.wave = None
        if not self.queue:
            return
        works = [self.queue.pop(0)]
        skipping = self.decider.will_skip(works[0].unit, self.rollback_selected)
        if skipping:
            while self.queue and self.decider.will_skip(self.queue[0].unit, self.rollback_selected):
                works.append(self.queue.pop(0))
        pending = [index for work in works for index in work.tests]
        self.wave = _Wave(works, list(pending), set(pending), None if skipping else LOOKAHEAD, works[-1].barrier)
        if skipping:
            # Tests that will only be skipped need no pacing: hand them all out now.
            live = [node for node in self.node2pending if not node.shutting_down and node not in self.rejected]
            for position, node in enumerate(live):
                batch = pending[position :: len(live)]
                if batch:
                    self._send(node, batch)
            if live:
                self.wave.pending.clear()
        self.decider.unit_started(works[0].unit)
        self._distribute()
        self._maybe_advance()

    def _real_queued(self, node: Any) -> int:
        return sum(1 for index in self.node2pending[node] if index in self.plan.real)

    def _send(self, node: Any, indices: list[int]) -> None:
        self.node2pending[node].extend(indices)
        node.send_runtest_some(indices)

    def _fill(self, node: Any, depth: int | None = None) -> None:
        """Give ``node`` work of the current wave, up to ``depth`` real tests queued."""
        wave = self.wave
        if wave is None or not wave.pending or node not in self.node2pending or node.shutting_down:
            return
        if node in self.rejected:
            return
        limit = wave.cap if depth is None else depth
        free = len(wave.pending) if limit is None else limit - self._real_queued(node)
        if free > 0:
            batch, wave.pending[:] = wave.pending[:free], wave.pending[free:]
            self._send(node, batch)

    def _distribute(self) -> None:
        """Fill every worker a level at a time, then release every tail once nothing is left.

        Filling level by level (one test each, then a second each) spreads a small unit
        over all workers instead of queueing it on the first one.
        """
        wave = self.wave
        if wave is not None and wave.cap is not None:
            for depth in range(1, wave.cap + 1):
                for node in list(self.node2pending):
                    self._fill(node, depth)
        else:
            for node in list(self.node2pending):
                self._fill(node)
        if wave is None or wave.pending or not self.queue:
            return
        for node, queue in self.node2pending.items():
            if queue and queue[-1] in self.plan.real and not node.shutting_down:
                # Release the worker's last real test without starting the next unit.
                self._send(node, [wave.barrier])

    def _maybe_advance(self) -> None:
        wave = self.wave
        if wave is None or wave.pending or wave.remaining:
            return
        for work in wave.units:
            self.decider.unit_finished(work.unit)
        self._open_next()
