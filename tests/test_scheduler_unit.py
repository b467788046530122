"""Unit tests of :class:`plugin.scheduler.PhaseBarrierScheduling`, driven with fake xdist nodes.

The fake workers behave like xdist's: a worker runs the head of its queue only once it holds
a second item (pytest needs the next item for teardown), or once it was told to shut down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

from plugin.phases import UNIT_BY_LABEL, UNITS, Unit
from plugin.scheduler import BARRIER_PREFIX, LOOKAHEAD, PhaseBarrierScheduling, barrier_nodeid, barrier_rank

REVIEW = UNIT_BY_LABEL["pre_release/review"]
NOTIFY = UNIT_BY_LABEL["pre_release/notify"]
INSTALL = UNIT_BY_LABEL["validate/install"]
PIPELINE = UNIT_BY_LABEL["validate/pipeline"]
CONFIRM = UNIT_BY_LABEL["validate/confirm"]
MIGRATIONS = UNIT_BY_LABEL["deploy_staging/migrations"]
ROLLBACK_FLAGS = UNIT_BY_LABEL["rollback/flags"]
ROLLBACK_REDEPLOY = UNIT_BY_LABEL["rollback/redeploy"]

Log = list[tuple[str, object]]


class FakeNode:
    """The part of xdist's WorkerController the scheduler uses, plus what it was sent."""

    def __init__(self, name: str, log: Log | None = None) -> None:
        self.name = name
        self.shutting_down = False
        self.sent: list[list[int]] = []
        self.queue: list[int] = []  # received and not yet reported complete
        self._log = log

    def send_runtest_some(self, indices: Sequence[int]) -> None:
        batch = list(indices)
        self.sent.append(batch)
        self.queue.extend(batch)
        if self._log is not None:
            self._log.append(("send", (self.name, batch)))

    @property
    def received(self) -> list[int]:
        return [index for batch in self.sent for index in batch]

    def __repr__(self) -> str:
        return f"FakeNode({self.name})"


class FakeDecider:
    """Records what the scheduler tells the gate; ``skip`` names the units it would skip."""

    def __init__(self, skip: Iterable[Unit] = (), log: Log | None = None) -> None:
        self.skip = set(skip)
        self.finished: list[Unit] = []
        self.crashes: list[tuple[Unit, str]] = []
        self.will_skip_calls: list[tuple[Unit, bool]] = []
        self.started: list[Unit] = []
        self._log = log

    def unit_started(self, unit: Unit) -> None:
        self.started.append(unit)
        if self._log is not None:
            self._log.append(("started", unit))

    def unit_finished(self, unit: Unit) -> None:
        self.finished.append(unit)
        if self._log is not None:
            self._log.append(("finished", unit))

    def will_skip(self, unit: Unit, rollback_selected: bool) -> bool:
        self.will_skip_calls.append((unit, rollback_selected))
        return unit in self.skip

    def record_crash(self, unit: Unit, nodeid: str) -> None:
        self.crashes.append((unit, nodeid))


class FakeFallback:
    """Stands in for xdist's own scheduler; records every call made to it."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.nodes: list[Any] = []
        self.collection_is_completed = True
        self.tests_finished = False
        self.has_pending = True

    def add_node(self, node: Any) -> None:
        self.calls.append(("add_node", node))
        self.nodes.append(node)

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        self.calls.append(("add_node_collection", node, list(collection)))

    def remove_node(self, node: Any) -> str | None:
        self.calls.append(("remove_node", node))
        return "from-fallback"

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.calls.append(("mark_test_complete", node, item_index, duration))

    def mark_test_pending(self, item: str) -> None:
        self.calls.append(("mark_test_pending", item))

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        self.calls.append(("remove_pending_tests_from_node", node, list(indices)))

    def schedule(self) -> None:
        self.calls.append(("schedule",))


def no_fallback() -> Any:
    raise AssertionError("a collection with barrier items must not be handed to the fallback")


def build_collection(layout: Sequence[tuple[Unit, int]]) -> list[str]:
    """Node ids as a worker collects them: each unit's tests, then that unit's barrier item."""
    ids: list[str] = []
    for unit, count in layout:
        module = f"checks/test_{unit.phase}.py"
        ids.extend(f"{module}::test_{unit.step}[{n}]" for n in range(count))
        ids.append(barrier_nodeid(unit))
    return ids


class Run:
    """A scheduler, its fake nodes and decider, and a driver that behaves like xdist workers."""

    def __init__(
        self,
        layout: Sequence[tuple[Unit, int]],
        nodes: int = 2,
        skip: Iterable[Unit] = (),
        on_planned: Callable[[int], None] | None = None,
    ) -> None:
        self.layout = list(layout)
        self.log: Log = []
        self.collection = build_collection(self.layout)
        self.decider = FakeDecider(skip, self.log)
        self.sched = PhaseBarrierScheduling(nodes, self.decider, no_fallback, on_planned=on_planned)
        self.nodes = [FakeNode(f"gw{n}", self.log) for n in range(nodes)]
        self.completed: list[int] = []
        self.ran_on: dict[int, list[str]] = {}
        self.tests: dict[Unit, list[int]] = {}
        self.barrier: dict[Unit, int] = {}
        index = 0
        for unit, count in self.layout:
            self.tests[unit] = list(range(index, index + count))
            self.barrier[unit] = index + count
            index += count + 1
        self.unit_of = {i: unit for unit, indices in self.tests.items() for i in indices}

    @property
    def real(self) -> list[int]:
        return sorted(self.unit_of)

    def start(self) -> Run:
        for node in self.nodes:
            self.sched.add_node(node)
        for node in self.nodes:
            self.sched.add_node_collection(node, self.collection)
        self.sched.schedule()
        return self

    def replace(self, crashed: FakeNode, name: str) -> FakeNode:
        """What xdist does after a crash: start a worker that collects and is scheduled."""
        node = FakeNode(name, self.log)
        self.nodes = [n for n in self.nodes if n is not crashed] + [node]
        self.sched.add_node(node)
        self.sched.add_node_collection(node, self.collection)
        self.sched.schedule()
        return node

    def complete(self, node: FakeNode) -> int:
        """The worker finished the head of its queue."""
        index = node.queue.pop(0)
        self.completed.append(index)
        self.ran_on.setdefault(index, []).append(node.name)
        self.log.append(("complete", index))
        self.sched.mark_test_complete(node, index)
        return index

    def runnable(self) -> list[FakeNode]:
        return [node for node in self.nodes if len(node.queue) >= 2 or (node.shutting_down and node.queue)]

    def drain(self, max_steps: int = 10_000) -> None:
        """Let the workers run round-robin until nothing moves; shut down when the scheduler says so."""
        for _ in range(max_steps):
            ready = self.runnable()
            if ready:
                for node in ready:
                    if node in self.runnable():
                        self.complete(node)
                continue
            if self.sched.tests_finished and not all(node.shutting_down for node in self.nodes):
                for node in self.nodes:
                    node.shutting_down = True
                continue
            return
        raise AssertionError("the run did not settle")

    def finished_units(self) -> list[Unit]:
        return [unit for unit, count in self.layout if count]


def sends(log: Log) -> list[tuple[int, str, list[int]]]:
    """Every send of the run as (position in the log, node name, indices)."""
    found: list[tuple[int, str, list[int]]] = []
    for position, (kind, payload) in enumerate(log):
        if kind == "send":
            assert isinstance(payload, tuple)
            name, indices = payload
            found.append((position, name, indices))
    return found


# -- barrier ids ------------------------------------------------------------------------


def test_barrier_nodeid_round_trips_the_rank() -> None:
    for unit in UNITS:
        nodeid = barrier_nodeid(unit)
        assert nodeid.startswith(BARRIER_PREFIX)
        assert unit.label in nodeid
        assert barrier_rank(nodeid) == unit.rank


@pytest.mark.parametrize(
    "nodeid",
    ["checks/test_x.py::test_a", f"{BARRIER_PREFIX}", f"x{BARRIER_PREFIX}[01-a]", f"{BARRIER_PREFIX}[ab-c]"],
)
def test_barrier_rank_of_other_node_ids_is_none(nodeid: str) -> None:
    assert barrier_rank(nodeid) is None


# -- complete runs ----------------------------------------------------------------------

LAYOUTS: list[tuple[int, list[tuple[Unit, int]]]] = [
    (1, [(REVIEW, 3), (INSTALL, 1), (PIPELINE, 5)]),
    (2, [(REVIEW, 5), (NOTIFY, 1), (INSTALL, 2), (PIPELINE, 7)]),
    (2, [(REVIEW, 1), (NOTIFY, 1), (INSTALL, 1)]),
    (3, [(REVIEW, 1), (NOTIFY, 1), (INSTALL, 1), (PIPELINE, 1)]),
    (3, [(REVIEW, 8), (INSTALL, 2), (CONFIRM, 7), (MIGRATIONS, 1)]),
    (4, [(NOTIFY, 3), (PIPELINE, 13), (MIGRATIONS, 2)]),
]


@pytest.mark.parametrize(("nodes", "layout"), LAYOUTS)
def test_every_test_runs_once_and_units_finish_in_order(nodes: int, layout: list[tuple[Unit, int]]) -> None:
    run = Run(layout, nodes).start()
    run.drain()
    assert sorted(i for i in run.completed if i in run.unit_of) == run.real
    assert all(len(run.ran_on[i]) == 1 for i in run.real)
    assert run.decider.finished == run.finished_units()
    assert run.decider.started == run.finished_units()
    assert run.sched.tests_finished
    assert not run.sched.has_pending
    assert run.decider.crashes == []


@pytest.mark.parametrize(("nodes", "layout"), LAYOUTS)
def test_nothing_of_a_unit_is_sent_before_the_previous_unit_completed(
    nodes: int, layout: list[tuple[Unit, int]]
) -> None:
    run = Run(layout, nodes).start()
    run.drain()
    for position, name, indices in sends(run.log):
        before = run.log[:position]
        completed = {payload for kind, payload in before if kind == "complete"}
        finished = {payload for kind, payload in before if kind == "finished"}
        for index in indices:
            unit = run.unit_of.get(index)
            if unit is None:  # a barrier item: the unit it closes must be the one in progress
                unit = next(u for u, b in run.barrier.items() if b == index)
            for earlier, tests in run.tests.items():
                if earlier.rank < unit.rank:
                    missing = [t for t in tests if t not in completed]
                    assert not missing, f"{index} sent to {name} while {earlier.label} had {missing} running"
                    assert earlier in finished, f"{index} sent to {name} before {earlier.label} was decided"


@pytest.mark.parametrize(("nodes", "layout"), LAYOUTS)
def test_at_most_lookahead_real_tests_are_queued_per_node(nodes: int, layout: list[tuple[Unit, int]]) -> None:
    run = Run(layout, nodes)
    real = set(run.unit_of)
    peak: dict[str, int] = {}

    def check(node: FakeNode) -> None:
        queued = sum(1 for index in node.queue if index in real)
        peak[node.name] = max(peak.get(node.name, 0), queued)
        assert queued <= LOOKAHEAD, (node, node.queue)

    run.start()
    for node in run.nodes:
        check(node)
    while ready := run.runnable():
        for node in ready:
            run.complete(node)
            for other in run.nodes:
                check(other)
        if not run.runnable() and run.sched.tests_finished:
            for node in run.nodes:
                node.shutting_down = True
    assert max(peak.values()) == min(LOOKAHEAD, max(count for _, count in layout))


def test_first_unit_is_handed_out_lookahead_tests_per_node() -> None:
    run = Run([(REVIEW, 9), (INSTALL, 2)], nodes=3).start()
    # a level at a time: every node gets one test before any node gets a second
    assert [(name, indices) for _, name, indices in sends(run.log)] == [
        ("gw0", [0]),
        ("gw1", [1]),
        ("gw2", [2]),
        ("gw0", [3]),
        ("gw1", [4]),
        ("gw2", [5]),
    ]
    assert [node.queue for node in run.nodes] == [[0, 3], [1, 4], [2, 5]]
    assert run.sched.has_pending
    assert not run.sched.tests_finished


def test_a_two_test_unit_runs_one_test_on_each_node_and_each_gets_the_barrier() -> None:
    run = Run([(REVIEW, 2), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert [(name, indices) for _, name, indices in sends(run.log)] == [
        ("gw0", [0]),
        ("gw1", [1]),
        ("gw0", [barrier]),
        ("gw1", [barrier]),
    ]
    # each worker holds its test and a next item, so the two tests run in parallel
    assert run.runnable() == [gw0, gw1]
    assert run.complete(gw0) == 0
    assert run.decider.finished == []
    assert all(index not in node.received for node in run.nodes for index in run.tests[INSTALL])
    assert run.complete(gw1) == 1
    assert run.decider.finished == [REVIEW]
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL]
    assert run.ran_on == {0: ["gw0"], 1: ["gw1"], barrier: ["gw0", "gw1"], 3: ["gw0"]}


def test_a_unit_with_more_tests_than_twice_the_nodes_is_fed_as_nodes_free_up() -> None:
    run = Run([(REVIEW, 7), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    assert gw0.queue == [0, 2]
    assert gw1.queue == [1, 3]
    assert run.complete(gw1) == 1
    assert gw1.queue == [3, 4]
    assert run.complete(gw0) == 0
    assert gw0.queue == [2, 5]
    assert run.complete(gw0) == 2
    # the last test of the unit is handed out: every worker's tail is released at once
    assert gw0.queue == [5, 6, run.barrier[REVIEW]]
    assert gw1.queue == [3, 4, run.barrier[REVIEW]]
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL]


# -- barrier items ----------------------------------------------------------------------


def test_nodes_whose_queue_ends_in_a_real_test_get_the_barrier_when_nothing_is_left() -> None:
    run = Run([(REVIEW, 3), (INSTALL, 2)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    # the unit has nothing left to hand out: every worker's last real test is released
    assert gw0.sent == [[0], [2], [barrier]]
    assert gw1.sent == [[1], [barrier]]
    # nothing of the next unit until every test of this one completed
    assert run.complete(gw0) == 0
    assert run.complete(gw1) == 1
    assert run.decider.finished == []
    assert all(index not in node.received for node in run.nodes for index in run.tests[INSTALL])
    assert run.complete(gw0) == 2
    assert run.decider.finished == [REVIEW]
    # the next unit is spread over both workers; it is the final one, so no barrier follows
    assert [gw0.sent[-1], gw1.sent[-1]] == [[t] for t in run.tests[INSTALL]]


def test_a_node_gets_the_barrier_once_the_unit_runs_out_while_it_holds_work() -> None:
    run = Run([(REVIEW, 5), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert gw0.queue == [0, 2]
    assert gw1.queue == [1, 3]
    run.complete(gw0)  # 0 done: gw0 takes 4, the last test, and then the barrier
    assert gw0.queue == [2, 4, barrier]
    assert gw1.queue == [1, 3, barrier]  # gw1 is released at the same moment
    assert gw1.sent == [[1], [3], [barrier]]
    run.complete(gw1)  # 1 done: nothing left to send and the tail is already released
    assert gw1.queue == [3, barrier]
    assert gw1.sent == [[1], [3], [barrier]]


def test_a_node_already_ending_in_the_barrier_is_not_sent_another() -> None:
    run = Run([(REVIEW, 4), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert gw0.queue == [0, 2, barrier]
    assert gw1.queue == [1, 3, barrier]
    run.complete(gw1)
    assert gw1.queue == [3, barrier]
    assert gw1.received.count(barrier) == 1


def test_the_final_unit_never_gets_a_barrier() -> None:
    run = Run([(REVIEW, 2), (INSTALL, 3)], nodes=2).start()
    run.drain()
    final_barrier = run.barrier[INSTALL]
    assert all(final_barrier not in node.received for node in run.nodes)
    assert run.decider.finished == [REVIEW, INSTALL]


def test_a_single_unit_run_sends_no_barrier_and_finishes_through_shutdown() -> None:
    run = Run([(PIPELINE, 3)], nodes=2).start()
    gw0, gw1 = run.nodes
    assert gw0.queue == [0, 2]
    assert gw1.queue == [1]
    assert not run.sched.tests_finished
    run.complete(gw0)
    assert gw0.queue == [2]
    assert run.sched.tests_finished  # each node holds one item: SHUTDOWN lets it run
    assert run.decider.finished == []
    run.drain()
    assert run.decider.finished == [PIPELINE]
    assert all(run.barrier[PIPELINE] not in node.received for node in run.nodes)


def test_barriers_of_units_without_tests_are_never_sent() -> None:
    run = Run([(REVIEW, 2), (NOTIFY, 0), (INSTALL, 2)], nodes=1).start()
    run.drain()
    assert run.barrier[NOTIFY] not in run.nodes[0].received
    assert run.decider.finished == [REVIEW, INSTALL]


# -- tests_finished ---------------------------------------------------------------------


def test_tests_finished_is_false_before_scheduling() -> None:
    run = Run([(REVIEW, 1)], nodes=2)
    assert not run.sched.tests_finished
    run.sched.add_node(run.nodes[0])
    run.sched.add_node_collection(run.nodes[0], run.collection)
    assert not run.sched.collection_is_completed
    assert not run.sched.tests_finished


def test_tests_finished_only_when_every_unit_is_dispatched_and_nodes_hold_one_item() -> None:
    run = Run([(REVIEW, 2), (INSTALL, 2)], nodes=1).start()
    (gw0,) = run.nodes
    barrier = run.barrier[REVIEW]
    assert gw0.queue == [0, 1, barrier]
    assert not run.sched.tests_finished  # a unit is still waiting
    run.complete(gw0)
    assert not run.sched.tests_finished
    run.complete(gw0)  # the unit completes; the final unit is handed out
    assert gw0.queue == [barrier, 3, 4]
    assert not run.sched.tests_finished  # everything dispatched, but the node holds three items
    run.complete(gw0)
    assert gw0.queue == [3, 4]
    assert not run.sched.tests_finished
    run.complete(gw0)
    assert gw0.queue == [4]
    assert run.sched.tests_finished
    assert run.sched.has_pending
    gw0.shutting_down = True
    run.complete(gw0)
    assert run.sched.tests_finished
    assert not run.sched.has_pending
    assert run.decider.finished == [REVIEW, INSTALL]


def test_tests_finished_waits_for_every_node_to_drain_to_one_item() -> None:
    run = Run([(REVIEW, 4)], nodes=2).start()
    gw0, gw1 = run.nodes
    run.complete(gw0)
    assert gw0.queue == [2]
    assert gw1.queue == [1, 3]
    assert not run.sched.tests_finished
    run.complete(gw1)
    assert run.sched.tests_finished


# -- units that will be skipped ---------------------------------------------------------


def test_units_that_will_be_skipped_are_dispatched_together_without_the_cap() -> None:
    layout = [(REVIEW, 2), (NOTIFY, 3), (INSTALL, 4), (PIPELINE, 2)]
    run = Run(layout, nodes=1, skip={NOTIFY, INSTALL}).start()
    (gw0,) = run.nodes
    assert gw0.sent == [[0], [1], [run.barrier[REVIEW]]]
    run.complete(gw0)
    run.complete(gw0)
    skipped = run.tests[NOTIFY] + run.tests[INSTALL]
    # one batch, far over the cap, then the barrier of the last skipped unit
    assert gw0.sent[3:] == [skipped, [run.barrier[INSTALL]]]
    assert len(skipped) > LOOKAHEAD
    assert run.decider.finished == [REVIEW]
    assert [u for u, _ in run.decider.will_skip_calls] == [REVIEW, NOTIFY, INSTALL, PIPELINE]
    # the unit after them waits until every skipped test completed
    while not set(skipped) <= set(run.completed):
        assert all(index not in gw0.received for index in run.tests[PIPELINE])
        run.complete(gw0)
    assert run.decider.finished == [REVIEW, NOTIFY, INSTALL]
    assert gw0.sent[-2:] == [[t] for t in run.tests[PIPELINE]]
    run.drain()
    assert run.decider.finished == [REVIEW, NOTIFY, INSTALL, PIPELINE]


def test_skipped_units_at_the_end_are_dispatched_at_once_and_finish() -> None:
    layout = [(REVIEW, 1), (INSTALL, 3), (ROLLBACK_FLAGS, 2), (ROLLBACK_REDEPLOY, 2)]
    run = Run(layout, nodes=1, skip={ROLLBACK_FLAGS, ROLLBACK_REDEPLOY}).start()
    run.drain()
    (gw0,) = run.nodes
    assert run.tests[ROLLBACK_FLAGS] + run.tests[ROLLBACK_REDEPLOY] in gw0.sent
    assert run.decider.finished == [REVIEW, INSTALL, ROLLBACK_FLAGS, ROLLBACK_REDEPLOY]


def test_skipped_units_are_spread_over_nodes_and_finish_when_they_are_last() -> None:
    layout = [(REVIEW, 2), (INSTALL, 4), (PIPELINE, 3)]
    run = Run(layout, nodes=2, skip={INSTALL, PIPELINE}).start()
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL, PIPELINE]
    assert sorted(i for i in run.completed if i in run.unit_of) == run.real
    assert all(node.received for node in run.nodes)


@pytest.mark.parametrize(("nodes", "skipped"), [(2, 2), (2, 3), (2, 4), (2, 5), (3, 5), (4, 9)])
def test_skipped_units_followed_by_another_unit_complete_on_several_nodes(nodes: int, skipped: int) -> None:
    # Regression (fixed in e704297): the gate closed and a rollback was triggered, so later
    # units are skipped and the rollback runs; a worker was left holding one skipped test
    # with no next item, and the run hung.
    layout = [(REVIEW, 1), (INSTALL, skipped), (ROLLBACK_FLAGS, 2)]
    run = Run(layout, nodes=nodes, skip={INSTALL}).start()
    run.drain()
    stuck = {node.name: node.queue for node in run.nodes if node.queue}
    assert run.decider.finished == [REVIEW, INSTALL, ROLLBACK_FLAGS], f"workers waiting forever: {stuck}"


@pytest.mark.parametrize("nodes", [2, 3])
def test_a_skipped_wave_is_handed_out_whole_over_all_nodes(nodes: int) -> None:
    run = Run([(REVIEW, 1), (INSTALL, 5), (PIPELINE, 1)], nodes=nodes, skip={INSTALL}).start()
    gw0 = run.nodes[0]
    run.complete(gw0)  # REVIEW's only test ran (gw0 held it and its barrier)
    assert run.decider.finished == [REVIEW]
    handed_out = sorted(i for node in run.nodes for i in node.received if i in run.tests[INSTALL])
    assert handed_out == run.tests[INSTALL]
    assert all(any(i in run.tests[INSTALL] for i in node.received) for node in run.nodes)
    # every worker's tail is released with the barrier of the skipped wave
    assert all(node.queue[-1] == run.barrier[INSTALL] for node in run.nodes)


@pytest.mark.parametrize("nodes", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "skip",
    [set(), {REVIEW}, {NOTIFY}, {NOTIFY, INSTALL}, {INSTALL, PIPELINE}, {PIPELINE, ROLLBACK_FLAGS}],
    ids=["none", "first", "one", "two-in-a-row", "two-later", "last-two"],
)
def test_runs_with_skipped_units_settle(nodes: int, skip: set[Unit]) -> None:
    layout = [(REVIEW, 3), (NOTIFY, 4), (INSTALL, 1), (PIPELINE, 6), (ROLLBACK_FLAGS, 2)]
    run = Run(layout, nodes, skip=skip).start()
    run.drain()
    assert run.decider.finished == run.finished_units()
    assert sorted(i for i in run.completed if i in run.unit_of) == run.real
    assert all(len(run.ran_on[i]) == 1 for i in run.real)
    assert run.sched.tests_finished


# -- unit_started -----------------------------------------------------------------------


@pytest.mark.parametrize("nodes", [1, 2, 3])
def test_unit_started_is_called_once_per_wave_in_unit_order(nodes: int) -> None:
    layout = [(REVIEW, 2), (NOTIFY, 0), (INSTALL, 3), (PIPELINE, 2), (CONFIRM, 1), (MIGRATIONS, 3)]
    run = Run(layout, nodes, skip={INSTALL, PIPELINE}).start()
    assert run.decider.started == [REVIEW]
    run.drain()
    # waves: REVIEW, then INSTALL and PIPELINE together (both skipped), CONFIRM, MIGRATIONS;
    # NOTIFY has no tests and is never handed out
    assert run.decider.started == [REVIEW, INSTALL, CONFIRM, MIGRATIONS]
    assert run.decider.finished == [REVIEW, INSTALL, PIPELINE, CONFIRM, MIGRATIONS]
    events = [(kind, payload) for kind, payload in run.log if kind in {"started", "finished"}]
    assert events == [
        ("started", REVIEW),
        ("finished", REVIEW),
        ("started", INSTALL),
        ("finished", INSTALL),
        ("finished", PIPELINE),
        ("started", CONFIRM),
        ("finished", CONFIRM),
        ("started", MIGRATIONS),
        ("finished", MIGRATIONS),
    ]
    # a wave is started before any of its tests completes
    for position, (kind, payload) in enumerate(run.log):
        if kind == "complete" and payload in run.unit_of:
            unit = run.unit_of[payload]
            wave_start = INSTALL if unit is PIPELINE else unit
            assert ("started", wave_start) in run.log[:position]


def test_unit_started_is_not_called_without_real_tests() -> None:
    run = Run([(REVIEW, 0), (INSTALL, 0)], nodes=2).start()
    run.drain()
    assert run.decider.started == []


# -- rollback_selected ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ([(ROLLBACK_FLAGS, 2), (ROLLBACK_REDEPLOY, 1)], True),
        ([(ROLLBACK_FLAGS, 1)], True),
        ([(REVIEW, 1), (ROLLBACK_FLAGS, 2)], False),
        ([(REVIEW, 2), (INSTALL, 1)], False),
        ([(REVIEW, 0), (ROLLBACK_FLAGS, 2)], True),
    ],
)
def test_rollback_selected_only_when_every_real_test_is_a_rollback_test(
    layout: list[tuple[Unit, int]], expected: bool
) -> None:
    run = Run(layout, nodes=1).start()
    assert run.sched.rollback_selected is expected
    assert all(selected is expected for _, selected in run.decider.will_skip_calls)


def test_rollback_selected_is_false_without_real_tests() -> None:
    run = Run([(REVIEW, 0), (INSTALL, 0)], nodes=1).start()
    assert run.sched.rollback_selected is False
    assert run.sched.tests_finished
    assert run.nodes[0].sent == []


# -- crashes and replacement nodes ------------------------------------------------------


def test_a_crash_is_blamed_on_the_running_test_and_the_rest_is_requeued() -> None:
    run = Run([(REVIEW, 4), (INSTALL, 2)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert gw0.queue == [0, 2, barrier]
    assert gw1.queue == [1, 3, barrier]

    crashed = run.sched.remove_node(gw1)  # gw1 died running test 1

    assert crashed == run.collection[1]
    assert run.decider.crashes == [(REVIEW, run.collection[1])]
    assert run.sched.nodes == [gw0]
    assert run.decider.finished == []
    assert gw0.queue == [0, 2, barrier]  # gw0 is full; test 3 waits for room
    run.nodes = [gw0]
    run.complete(gw0)
    # gw1's other queued test moved to the remaining node, and its tail is released again
    assert gw0.queue == [2, barrier, 3, barrier]
    run.replace(gw1, "gw2")
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL]
    assert run.ran_on[3] == ["gw0"]
    assert 1 not in run.ran_on  # the crashed test is not run again
    # the next unit is spread over the surviving worker and the replacement
    assert [run.ran_on[t] for t in run.tests[INSTALL]] == [["gw0"], ["gw2"]]


def test_a_crash_in_a_later_unit_names_that_unit() -> None:
    run = Run([(REVIEW, 1), (INSTALL, 1), (PIPELINE, 3)], nodes=2).start()
    gw0, gw1 = run.nodes
    assert run.complete(gw0) == 0
    assert run.complete(gw0) == run.barrier[REVIEW]
    assert run.complete(gw0) == 2
    assert run.decider.finished == [REVIEW, INSTALL]
    assert run.complete(gw0) == run.barrier[INSTALL]
    assert gw0.queue == [4, 6]
    assert gw1.queue == [5]

    assert run.sched.remove_node(gw0) == run.collection[4]

    assert run.decider.crashes == [(PIPELINE, run.collection[4])]
    assert gw1.queue == [5, 6]
    run.replace(gw0, "gw2")
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL, PIPELINE]


def test_after_a_crash_the_run_waits_for_the_replacement_to_collect() -> None:
    run = Run([(REVIEW, 2)], nodes=2).start()
    gw0, gw1 = run.nodes
    assert gw0.queue == [0]
    assert gw1.queue == [1]
    assert run.sched.remove_node(gw0) == run.collection[0]
    assert gw1.queue == [1]  # one item: only the missing collection holds the run back
    assert not run.sched.collection_is_completed  # the crashed node's collection is dropped
    assert not run.sched.tests_finished
    gw2 = run.replace(gw0, "gw2")
    assert gw2.sent == []
    assert run.sched.tests_finished
    run.drain()
    assert run.decider.finished == [REVIEW]


def test_removing_a_node_without_real_tests_queued_blames_nothing() -> None:
    run = Run([(REVIEW, 1), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    assert gw0.queue == [0, run.barrier[REVIEW]]
    assert gw1.queue == []
    assert run.sched.remove_node(gw1) is None
    assert run.decider.crashes == []
    run.replace(gw1, "gw2")
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL]


def test_a_replacement_node_gets_work() -> None:
    planned: list[int] = []
    run = Run([(REVIEW, 7), (INSTALL, 2)], nodes=2, on_planned=planned.append).start()
    assert planned == [9]
    gw0, gw1 = run.nodes
    assert gw0.queue == [0, 2]
    assert gw1.queue == [1, 3]
    assert run.sched.remove_node(gw0) == run.collection[0]
    assert gw1.queue == [1, 3]  # already holds LOOKAHEAD tests

    gw2 = FakeNode("gw2", run.log)
    run.sched.add_node(gw2)
    run.sched.add_node_collection(gw2, run.collection)
    assert run.sched.collection_is_completed
    run.sched.schedule()

    assert gw2.sent[:2] == [[2], [4]]  # the requeued test first, then the unit's next one
    assert planned == [9, 9]
    run.nodes = [gw1, gw2]
    run.drain()
    assert run.decider.finished == [REVIEW, INSTALL]
    assert sorted(i for i in run.completed if i in run.unit_of) == [i for i in run.real if i != 0]


def test_a_replacement_with_a_different_collection_gets_no_work() -> None:
    run = Run([(REVIEW, 7), (INSTALL, 2)], nodes=2).start()
    gw0, _ = run.nodes
    assert run.sched.remove_node(gw0) == run.collection[0]
    gw2 = FakeNode("gw2", run.log)
    run.sched.add_node(gw2)
    run.sched.add_node_collection(gw2, list(reversed(run.collection)))
    raised = False
    try:
        run.sched.schedule()
    except RuntimeError:
        raised = True
    assert raised or gw2.sent == [], f"gw2 was sent {gw2.sent} from a collection it does not share"


def test_a_crash_while_the_last_test_of_a_unit_runs_lets_the_unit_finish() -> None:
    run = Run([(REVIEW, 2), (INSTALL, 1)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert gw0.queue == [0, barrier]
    assert gw1.queue == [1, barrier]
    run.complete(gw0)
    assert run.decider.finished == []
    assert run.sched.remove_node(gw1) == run.collection[1]
    assert run.decider.crashes == [(REVIEW, run.collection[1])]
    assert run.decider.finished == [REVIEW]
    assert gw0.sent[-1] == run.tests[INSTALL]


def test_a_crash_while_running_a_barrier_item_blames_no_test() -> None:
    # Regression (fixed in e704297): the first queued real test was blamed, though it never started.
    run = Run([(REVIEW, 2), (INSTALL, 4)], nodes=2).start()
    gw0, gw1 = run.nodes
    barrier = run.barrier[REVIEW]
    assert run.complete(gw0) == 0
    assert run.complete(gw1) == 1
    assert run.decider.finished == [REVIEW]
    assert gw0.queue == [barrier, 3, 5]  # the worker now runs the barrier item (it holds a next item)
    assert gw1.queue == [barrier, 4, 6]

    crashed = run.sched.remove_node(gw0)

    # the crash is reported on the barrier item, and still recorded against the unit in progress
    assert crashed == barrier_nodeid(REVIEW)
    assert run.decider.crashes == [(INSTALL, barrier_nodeid(REVIEW))]
    run.replace(gw0, "gw2")
    run.drain()
    assert sorted(i for i in run.completed if i in run.tests[INSTALL]) == run.tests[INSTALL]
    assert run.decider.finished == [REVIEW, INSTALL]


# -- collections ------------------------------------------------------------------------


def test_different_collections_on_two_nodes_raise() -> None:
    run = Run([(REVIEW, 2), (INSTALL, 1)], nodes=2)
    gw0, gw1 = run.nodes
    run.sched.add_node(gw0)
    run.sched.add_node(gw1)
    run.sched.add_node_collection(gw0, run.collection)
    run.sched.add_node_collection(gw1, list(reversed(run.collection)))
    with pytest.raises(RuntimeError, match="collected different tests"):
        run.sched.schedule()
    assert gw0.sent == gw1.sent == []


def test_tests_after_the_last_barrier_raise() -> None:
    run = Run([(REVIEW, 2)], nodes=1)
    run.collection.append("checks/test_stray.py::test_stray")
    with pytest.raises(RuntimeError, match="1 tests follow the last release-gate barrier item"):
        run.start()


def test_remove_pending_tests_from_node_is_refused() -> None:
    run = Run([(REVIEW, 4)], nodes=1).start()
    with pytest.raises(NotImplementedError, match="never steals"):
        run.sched.remove_pending_tests_from_node(run.nodes[0], [1])


def test_mark_test_pending_puts_the_test_back_in_front() -> None:
    run = Run([(REVIEW, 3), (INSTALL, 1)], nodes=1).start()
    (gw0,) = run.nodes
    assert gw0.queue == [0, 1]
    run.complete(gw0)
    assert gw0.queue == [1, 2, run.barrier[REVIEW]]
    run.sched.mark_test_pending(run.collection[0])
    run.drain()
    assert run.completed.count(0) == 2
    assert run.decider.finished == [REVIEW, INSTALL]


# -- the fallback -----------------------------------------------------------------------


def test_a_collection_without_barriers_is_handed_to_the_fallback() -> None:
    fallback = FakeFallback()
    made: list[FakeFallback] = []

    def make() -> FakeFallback:
        made.append(fallback)
        return fallback

    decider = FakeDecider()
    sched = PhaseBarrierScheduling(2, decider, make)
    gw0, gw1 = FakeNode("gw0"), FakeNode("gw1")
    collection = ["tests/test_a.py::test_one", "tests/test_a.py::test_two"]
    sched.add_node(gw0)
    sched.add_node(gw1)
    sched.add_node_collection(gw0, collection)
    sched.add_node_collection(gw1, collection)
    sched.schedule()

    assert made == [fallback]
    assert fallback.calls == [
        ("add_node", gw0),
        ("add_node", gw1),
        ("add_node_collection", gw0, collection),
        ("add_node_collection", gw1, collection),
        ("schedule",),
    ]
    assert sched.collection is None
    assert gw0.sent == gw1.sent == []

    fallback.calls.clear()
    gw2 = FakeNode("gw2")
    sched.mark_test_complete(gw0, 1, 0.5)
    sched.mark_test_pending("tests/test_a.py::test_two")
    sched.remove_pending_tests_from_node(gw1, [0])
    assert sched.remove_node(gw1) == "from-fallback"
    sched.add_node(gw2)
    sched.add_node_collection(gw2, collection)
    sched.schedule()
    assert fallback.calls == [
        ("mark_test_complete", gw0, 1, 0.5),
        ("mark_test_pending", "tests/test_a.py::test_two"),
        ("remove_pending_tests_from_node", gw1, [0]),
        ("remove_node", gw1),
        ("add_node", gw2),
        ("add_node_collection", gw2, collection),
        ("schedule",),
    ]
    assert sched.nodes == [gw0, gw1, gw2]
    assert sched.has_pending is True
    assert sched.collection_is_completed is True
    assert sched.tests_finished is False
    fallback.tests_finished, fallback.has_pending, fallback.collection_is_completed = True, False, False
    assert sched.tests_finished is True
    assert sched.has_pending is False
    assert sched.collection_is_completed is False
    assert made == [fallback]
    assert decider.will_skip_calls == decider.finished == decider.crashes == []
