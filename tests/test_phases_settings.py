"""Unit tests of the phase catalogue (:mod:`plugin.phases`) and ``-m`` parsing in :mod:`plugin.settings`."""

from __future__ import annotations

import pytest

from plugin.markers import SELECTION_MARKERS
from plugin.phases import PHASE_BY_NAME, PHASE_NAMES, PHASES, UNIT_BY_LABEL, UNITS, Unit, resolve_unit
from plugin.settings import selections_from_markexpr

# -- resolve_unit -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "step", "label"),
    [
        ("pre_release", "review", "pre_release/review"),
        ("deploy_staging", "migrations", "deploy_staging/migrations"),
        ("deploy_production", "final_checks", "deploy_production/final_checks"),
        ("rollback", "record", "rollback/record"),
    ],
)
def test_resolve_unit_finds_the_unit(phase: str, step: str, label: str) -> None:
    unit = resolve_unit(phase, step)
    assert unit.phase == phase
    assert unit.step == step
    assert unit.label == label
    assert unit is UNIT_BY_LABEL[label]
    assert UNITS[unit.rank] is unit


def test_resolve_unit_of_an_unknown_phase_lists_the_phases_in_order() -> None:
    with pytest.raises(ValueError, match="unknown phase 'deploy'; valid phases in order:") as excinfo:
        resolve_unit("deploy", None)
    lines = str(excinfo.value).splitlines()[1:]
    assert [line.split()[0] for line in lines] == list(PHASE_NAMES)
    assert lines[2] == "  deploy_staging (steps: migrations, functions, agents, web)"


def test_resolve_unit_of_an_unknown_step_lists_the_valid_steps() -> None:
    with pytest.raises(ValueError, match="unknown step") as excinfo:
        resolve_unit("rollout", "everyone")
    assert str(excinfo.value) == (
        "unknown step 'everyone' for phase 'rollout'; valid steps: internal, pilot, low_volume_ga, full_ga"
    )


def test_a_step_of_another_phase_is_unknown() -> None:
    with pytest.raises(ValueError, match="unknown step 'review' for phase 'validate'"):
        resolve_unit("validate", "review")


def test_resolve_unit_without_a_step_where_the_phase_has_steps() -> None:
    with pytest.raises(ValueError, match="step is required") as excinfo:
        resolve_unit("post_release", None)
    assert str(excinfo.value) == (
        "phase 'post_release' has steps, so a step is required; valid steps: monitor, records"
    )


@pytest.mark.parametrize(("phase", "step"), [("Validate", "install"), ("validate", "Install"), ("", None)])
def test_names_are_case_sensitive_and_exact(phase: str, step: str | None) -> None:
    with pytest.raises(ValueError, match="unknown"):
        resolve_unit(phase, step)


# -- the catalogue and its units --------------------------------------------------------


def test_units_follow_the_catalogue_order() -> None:
    expected = [(phase.name, step) for phase in PHASES for step in phase.steps or (None,)]
    assert [(unit.phase, unit.step) for unit in UNITS] == expected
    assert [unit.rank for unit in UNITS] == list(range(len(UNITS)))


def test_units_sort_by_rank() -> None:
    shuffled = sorted(UNITS, key=lambda unit: unit.label)
    assert sorted(shuffled) == list(UNITS)
    assert resolve_unit("validate", "install") < resolve_unit("deploy_staging", "migrations")
    assert resolve_unit("deploy_production", "web") < resolve_unit("rollout", "internal")


def test_phases_come_in_release_order() -> None:
    assert PHASE_NAMES == (
        "pre_release",
        "validate",
        "deploy_staging",
        "verify_staging",
        "deploy_production",
        "rollout",
        "post_release",
        "rollback",
    )


def test_deploy_staging_steps_are_exactly_the_runbook_steps() -> None:
    assert PHASE_BY_NAME["deploy_staging"].steps == ("migrations", "functions", "agents", "web")
    labels = [unit.label for unit in UNITS if unit.phase == "deploy_staging"]
    assert labels == [
        "deploy_staging/migrations",
        "deploy_staging/functions",
        "deploy_staging/agents",
        "deploy_staging/web",
    ]


def test_only_rollback_units_are_rollback_units() -> None:
    assert [unit.label for unit in UNITS if unit.is_rollback] == [
        "rollback/flags",
        "rollback/redeploy",
        "rollback/schema",
        "rollback/verify",
        "rollback/record",
    ]
    assert UNITS[-1].is_rollback


def test_labels_are_unique_and_a_stepless_unit_is_labelled_by_its_phase() -> None:
    assert len(UNIT_BY_LABEL) == len(UNITS)
    assert Unit(99, "somewhere", None).label == "somewhere"


# -- selections_from_markexpr -----------------------------------------------------------


@pytest.mark.parametrize(
    ("markexpr", "expected"),
    [
        ("staging", {"staging"}),
        ("staging and not rollback", {"staging"}),
        ("not staging", set()),
        ("local or ci", {"local", "ci"}),
        ("(production)", {"production"}),
        ("", set()),
        ("slow", set()),
        ("rollback", {"rollback"}),
        ("staging and slow", {"staging"}),
        ("not slow and (ci or local)", {"ci", "local"}),
        ("not rollback and not production", set()),
        ("staging_extra or prestaging", set()),
    ],
)
def test_selections_from_markexpr(markexpr: str, expected: set[str]) -> None:
    assert selections_from_markexpr(markexpr) == frozenset(expected)


def test_selections_are_always_selection_markers() -> None:
    everything = " or ".join([*SELECTION_MARKERS, "slow", "smoke"])
    assert selections_from_markexpr(everything) == frozenset(SELECTION_MARKERS)


@pytest.mark.parametrize("markexpr", ["not (staging)", "not(staging)", "not (staging or production)"])
def test_a_negated_group_selects_nothing(markexpr: str) -> None:
    # Regression (fixed in e704297): only the token right before a marker was looked at, so
    # "not (staging)" selected staging (and implied --release-env staging).
    assert selections_from_markexpr(markexpr) == frozenset()


@pytest.mark.parametrize(
    ("markexpr", "expected"),
    [
        ("not not staging", {"staging"}),
        ("not (ci and not local)", {"local"}),
        ("(not staging) or ci", {"ci"}),
        ("((staging)", {"staging"}),
        ("staging)", {"staging"}),
        ("staging or", {"staging"}),
        ("not", set()),
        (")(", set()),
    ],
)
def test_polarity_is_followed_through_not_and_parentheses(markexpr: str, expected: set[str]) -> None:
    assert selections_from_markexpr(markexpr) == frozenset(expected)
