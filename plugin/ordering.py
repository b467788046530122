"""Collection-time work: read the markers, tie tests to the checklist, order by unit.

Ordering is a stable sort on the unit rank, done once after every other plugin has
reordered or deselected, so every xdist worker arrives at the same list. Workers then add
one hidden barrier item after each unit, which is how the controller learns where units
end (see :mod:`plugin.scheduler`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from plugin.actions import DECLARED_ACTIONS, ActionError, actions_used, resolve_command
from plugin.engine import PROPERTY
from plugin.markers import GateMarks, MarkerError, parse_gate_marks
from plugin.phases import PHASE_NAMES, Unit
from plugin.runtime import MARKS_KEY, Runtime
from plugin.scheduler import barrier_nodeid

_MAX_LISTED: Final = 15
NODEID_LABEL: Final = "gate_nodeid"
RUN_ID_LABEL: Final = "gate_run_id"


class BarrierItem(pytest.Item):
    """A hidden no-op item marking the end of a unit on xdist workers; never reported."""

    def runtest(self) -> None:  # never called: the gate's protocol hook answers for it
        raise AssertionError("a release-gate barrier item is not a test")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


def _listing(problems: list[str]) -> str:
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    return "\n".join(f"  {p}" for p in shown) + (f"\n  ... and {more} more" if more > 0 else "")


def _checklist_problem(runtime: Runtime, item: pytest.Item, marks: GateMarks) -> str | None:
    checklist = runtime.settings.checklist
    if not marks.checklist:
        return None
    if checklist is None:
        return f"{item.nodeid}: @pytest.mark.checklist used, but there is no checklist file (ini release_checklist)"
    for item_id in marks.checklist:
        entry = checklist.items.get(item_id)
        if entry is None:
            close = difflib.get_close_matches(item_id, list(checklist.items), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return f"{item.nodeid}: unknown checklist id {item_id!r} in {checklist.path}{hint}"
        if entry.unit != marks.unit:
            return (
                f"{item.nodeid}: checklist item {item_id!r} belongs to {entry.unit.label!r}, "
                f"but the test is in {marks.unit.label!r}"
            )
    return None


@dataclass(frozen=True, slots=True)
class _Annotation:
    """What every test with the same markers gets; shared, so a big suite allocates little."""

    marks: GateMarks
    implied: tuple[str, ...]
    property: tuple[str, dict[str, object]]


def _annotation(runtime: Runtime, parsed: GateMarks) -> _Annotation:
    checklist = runtime.settings.checklist
    implied: set[str] = set()
    if checklist is not None:
        for item_id in parsed.checklist:
            implied |= checklist.items[item_id].environments
    marks = GateMarks(parsed.unit, parsed.checklist, parsed.advisory, parsed.selections | implied)
    entry: dict[str, object] = {
        "unit": marks.unit.label,
        "rank": marks.unit.rank,
        "advisory": marks.advisory,
        "checklist": list(marks.checklist),
    }
    return _Annotation(marks, tuple(sorted(implied - parsed.selections)), (PROPERTY, entry))


def annotate(config: pytest.Config, runtime: Runtime, items: list[pytest.Item]) -> None:
    """Parse and check the markers of every collected gate test, before deselection.

    Selection markers implied by the checklist (an item that applies to ``staging`` makes
    its tests part of ``-m staging``) are added here, so ``-m`` sees them.
    """
    problems: list[str] = []
    allure_on = bool(config.getoption("allure_report_dir", None))
    shared: dict[GateMarks, _Annotation] = {}
    inherited: dict[int, list[pytest.Mark]] = {}

    def chain(node: pytest.Item | pytest.Collector | None) -> list[pytest.Mark]:
        # The same as node.iter_markers() (closest first), one walk per collector.
        if node is None:
            return []
        found = inherited.get(id(node))
        if found is None:
            found = inherited[id(node)] = [*node.own_markers, *chain(node.parent)]
        return found

    for item in items:
        try:
            parsed = parse_gate_marks(item, [*item.own_markers, *chain(item.parent)])
        except MarkerError as exc:
            problems.append(str(exc))
            continue
        if parsed is None:
            continue
        annotation = shared.get(parsed)
        if annotation is None:
            problem = _checklist_problem(runtime, item, parsed)
            if problem is not None:
                problems.append(problem)
                continue
            annotation = shared[parsed] = _annotation(runtime, parsed)
        for name in annotation.implied:
            item.add_marker(name)
        item.stash[MARKS_KEY] = annotation.marks
        item.user_properties.append(annotation.property)
        if allure_on:
            _allure_labels(item, annotation.marks.unit, annotation.marks, runtime.run_id)
    if problems:
        hint = ""
        if config.inipath is None:
            hint = (
                f"\n(pytest found no configuration file: rootdir {config.rootpath}. An option value that names an "
                "existing folder outside the project, as in `--alluredir /tmp/out`, is taken for a test path when "
                "pytest looks for its rootdir: write it as `--alluredir=/tmp/out`, keep the folder inside the project, "
                "or pass --rootdir and -c.)"
            )
        raise pytest.UsageError("release gate: bad gate test markers:\n" + _listing(problems) + hint)


def _allure_labels(item: pytest.Item, unit: Unit, marks: GateMarks, run_id: str) -> None:
    label = pytest.mark.allure_label
    item.add_marker(label(unit.phase, label_type="epic"))
    item.add_marker(label(unit.step or unit.phase, label_type="feature"))
    for item_id in marks.checklist:
        item.add_marker(label(item_id, label_type="story"))
    item.add_marker(label("minor" if marks.advisory else "blocker", label_type="severity"))
    position = PHASE_NAMES.index(unit.phase) + 1
    item.add_marker(label(f"{position:02d} {unit.phase}", label_type="parentSuite"))
    # The pytest node id and the run, so the CI gate over the results can match them to the
    # run's manifest and refuse results of another run.
    item.add_marker(label(item.nodeid, label_type=NODEID_LABEL))
    item.add_marker(label(run_id, label_type=RUN_ID_LABEL))


def _in_suites(item: pytest.Item, suites: tuple[Path, ...]) -> bool:
    path = Path(item.path)
    return any(path == suite or suite in path.parents for suite in suites)


def order(config: pytest.Config, runtime: Runtime, session: pytest.Session, items: list[pytest.Item]) -> None:
    """Check and sort the selected items in place; add barrier items on xdist workers."""
    gate = [item for item in items if MARKS_KEY in item.stash]
    suites = runtime.settings.suites
    missing = [
        item.nodeid for item in items if MARKS_KEY not in item.stash and (gate or (suites and _in_suites(item, suites)))
    ]
    if missing:
        raise pytest.UsageError(
            "release gate: gate tests need @pytest.mark.phase(name, step=None); missing on:\n"
            + _listing(missing)
            + "\nvalid phases in order: "
            + ", ".join(PHASE_NAMES)
        )
    if not gate:
        return
    _check_actions(runtime, gate)
    runtime.extra["collected_order"] = list(items)
    items.sort(key=lambda item: item.stash[MARKS_KEY].unit.rank)
    runtime.gate_active = True
    runtime.rollback_selected = all(item.stash[MARKS_KEY].unit.is_rollback for item in items)
    if runtime.is_worker:
        items[:] = _with_barriers(session, items)


def _check_actions(runtime: Runtime, items: list[pytest.Item]) -> None:
    problems: dict[str, str] = {}
    declared = set(DECLARED_ACTIONS)
    for item in items:
        fixturenames = getattr(item, "fixturenames", ())
        if declared.isdisjoint(fixturenames):
            continue
        for name in actions_used(fixturenames):
            spec = DECLARED_ACTIONS[name]
            if name in problems:
                continue
            try:
                resolve_command(runtime, spec, strict=False)
            except ActionError as exc:
                problems[name] = f"{exc} (used by {item.nodeid})"
    if problems:
        raise pytest.UsageError(
            "release gate: actions cannot run on this target:\n" + _listing(list(problems.values()))
        )


def _with_barriers(session: pytest.Session, items: list[pytest.Item]) -> list[pytest.Item]:
    ordered: list[pytest.Item] = []
    for index, item in enumerate(items):
        ordered.append(item)
        unit = item.stash[MARKS_KEY].unit
        following = items[index + 1] if index + 1 < len(items) else None
        if following is None or following.stash[MARKS_KEY].unit != unit:
            nodeid = barrier_nodeid(unit)
            ordered.append(BarrierItem.from_parent(session, name=nodeid, nodeid=nodeid))
    return ordered
