"""The gate's markers: registration, and parsing into frozen objects.

Marker arguments are bound through real Python signatures, so a wrong call fails the same
way a wrong function call would, and the message names the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pytest

from plugin.phases import Unit, resolve_unit

SELECTION_MARKERS: Final[dict[str, str]] = {
    "local": "the developer's local validation subset (pytest -m local)",
    "ci": "the CI validation set, the pull-request check (pytest -m ci)",
    "staging": "the staging release (pytest -m staging)",
    "production": "the production promotion (pytest -m production --release-env production)",
    "rollback": "the rollback procedure (pytest -m rollback)",
}

MARKER_LINES: Final[tuple[str, ...]] = (
    "phase(name, step=None): the release phase (and step) this gate test belongs to; "
    "required on every gate test. Tests run unit by unit in phase order.",
    "checklist(item_id): ties the test to an item of the runbook checklist "
    "(checks/runbook.toml); an unknown id is a usage error.",
    "advisory(reason=''): a failure of this test is reported but does not close the gate.",
    *(f"{name}: {help_text}" for name, help_text in SELECTION_MARKERS.items()),
)


def register_markers(config: pytest.Config) -> None:
    for line in MARKER_LINES:
        config.addinivalue_line("markers", line)


@dataclass(frozen=True, slots=True)
class GateMarks:
    """What the markers of one gate test say."""

    unit: Unit
    checklist: tuple[str, ...]
    advisory: bool
    selections: frozenset[str]


def _phase_args(name: str, step: str | None = None) -> tuple[str, str | None]:
    return name, step


def _checklist_args(item_id: str) -> str:
    return item_id


def _advisory_args(reason: str = "") -> str:
    return reason


class MarkerError(Exception):
    """A marker on a test is missing or malformed; the message names the test."""


def _checklist_id(nodeid: str, mark: pytest.Mark) -> str:
    try:
        item_id = _checklist_args(*mark.args, **mark.kwargs)
    except TypeError as exc:
        raise MarkerError(f"{nodeid}: bad @pytest.mark.checklist(...): {exc}") from None
    if not isinstance(item_id, str):
        raise MarkerError(f"{nodeid}: checklist ids are strings, got {item_id!r}")
    return item_id


def parse_gate_marks(item: pytest.Item, marks: list[pytest.Mark]) -> GateMarks | None:
    """Parse the markers of one test, closest first; None when it carries no ``phase``.

    ``marks`` is ``list(item.iter_markers())``: one walk of the node chain serves every
    marker, which matters for suites of tens of thousands of tests.
    """
    nodeid = item.nodeid
    phase_mark = advisory_mark = None
    ids: list[str] = []
    selections: set[str] = set()
    for mark in marks:
        name = mark.name
        if name == "phase":
            phase_mark = phase_mark or mark
        elif name == "checklist":
            item_id = _checklist_id(nodeid, mark)
            if item_id not in ids:
                ids.append(item_id)
        elif name == "advisory":
            advisory_mark = advisory_mark or mark
        elif name in SELECTION_MARKERS:
            selections.add(name)
    if phase_mark is None:
        return None
    try:
        phase, step = _phase_args(*phase_mark.args, **phase_mark.kwargs)
    except TypeError as exc:
        raise MarkerError(f"{nodeid}: bad @pytest.mark.phase(...): {exc}") from None
    if not isinstance(phase, str) or not (step is None or isinstance(step, str)):
        raise MarkerError(f"{nodeid}: @pytest.mark.phase takes strings, got {phase!r}, {step!r}")
    try:
        unit = resolve_unit(phase, step)
    except ValueError as exc:
        raise MarkerError(f"{nodeid}: {exc}") from None
    if advisory_mark is not None:
        try:
            _advisory_args(*advisory_mark.args, **advisory_mark.kwargs)
        except TypeError as exc:
            raise MarkerError(f"{nodeid}: bad @pytest.mark.advisory(...): {exc}") from None
    return GateMarks(
        unit=unit, checklist=tuple(ids), advisory=advisory_mark is not None, selections=frozenset(selections)
    )
