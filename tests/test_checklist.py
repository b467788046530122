"""Unit tests of :func:`plugin.checklist.load_checklist` and :func:`plugin.checklist.uncovered`."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.checklist import Checklist, ChecklistError, load_checklist, uncovered
from plugin.phases import PHASES, UNIT_BY_LABEL

REAL_CHECKLIST = Path(__file__).resolve().parent.parent / "checks" / "runbook.toml"

SMALL = """
schema = 1

[[item]]
id = "validate.lint"
phase = "validate"
step = "pipeline"
environments = ["local", "ci"]
section = "Validation / Pipeline"
text = "Run lint"
command = "pnpm lint"

[[item]]
id = "pre_release.triage"
phase = "pre_release"
step = "review"
environments = ["staging"]
section = "Pre-Release"
text = "Triage S0/S1 issues"

[[item]]
id = "rollback.flags.disable"
phase = "rollback"
step = "flags"
environments = ["rollback"]
section = "Rollback"
text = "Disable the feature flags"
threshold = "n/a"

[[item]]
id = "validate.install.deps"
phase = "validate"
step = "install"
environments = ["local", "ci", "staging"]
section = "Validation / Install"
text = "Install dependencies"
"""

GOOD_ITEM = {
    "id": '"validate.lint"',
    "phase": '"validate"',
    "step": '"pipeline"',
    "environments": '["ci"]',
    "section": '"Validation"',
    "text": '"Run lint"',
}


def item_toml(**overrides: str | None) -> str:
    """One ``[[item]]`` table; a value of None leaves the key out, values are TOML literals."""
    fields = GOOD_ITEM | overrides
    lines = ["[[item]]", *(f"{key} = {value}" for key, value in fields.items() if value is not None)]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runbook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def checklist_error(path: Path) -> str:
    with pytest.raises(ChecklistError) as excinfo:
        load_checklist(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: "), message
    return message


# -- a valid file -----------------------------------------------------------------------


def test_a_valid_small_file(tmp_path: Path) -> None:
    path = write(tmp_path, SMALL)
    checklist = load_checklist(path)
    assert isinstance(checklist, Checklist)
    assert checklist.path == path
    assert list(checklist.items) == [
        "validate.lint",
        "pre_release.triage",
        "rollback.flags.disable",
        "validate.install.deps",
    ]
    lint = checklist.items["validate.lint"]
    assert lint.unit == UNIT_BY_LABEL["validate/pipeline"]
    assert lint.environments == frozenset({"local", "ci"})
    assert lint.section == "Validation / Pipeline"
    assert lint.text == "Run lint"
    assert lint.command == "pnpm lint"
    assert checklist.items["pre_release.triage"].command is None
    assert checklist.items["rollback.flags.disable"].unit == UNIT_BY_LABEL["rollback/flags"]


def test_applying_to_a_selection(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, SMALL))
    assert [i.id for i in checklist.applying_to("ci")] == ["validate.lint", "validate.install.deps"]
    assert [i.id for i in checklist.applying_to("rollback")] == ["rollback.flags.disable"]
    assert checklist.applying_to("production") == []


# -- uncovered --------------------------------------------------------------------------


def test_uncovered_lists_applying_items_no_test_covers_in_unit_order(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, SMALL))
    missing = uncovered(checklist, [], ["staging", "ci"])
    assert [i.id for i in missing] == ["pre_release.triage", "validate.install.deps", "validate.lint"]


def test_uncovered_leaves_out_covered_items(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, SMALL))
    missing = uncovered(checklist, {"validate.install.deps", "pre_release.triage"}, ["staging", "ci"])
    assert [i.id for i in missing] == ["validate.lint"]


def test_uncovered_ignores_items_of_other_selections(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, SMALL))
    assert [i.id for i in uncovered(checklist, [], ["rollback"])] == ["rollback.flags.disable"]
    assert uncovered(checklist, [], ["production"]) == []


def test_uncovered_ignores_selections_that_are_not_selection_markers(tmp_path: Path) -> None:
    checklist = load_checklist(write(tmp_path, SMALL))
    assert uncovered(checklist, [], ["slow", "smoke"]) == []
    assert uncovered(checklist, [], []) == []


def test_uncovered_sorts_by_id_inside_a_unit(tmp_path: Path) -> None:
    text = "schema = 1\n" + "".join(
        item_toml(id=f'"validate.{name}"', environments='["ci"]') for name in ("zeta", "alpha", "mid")
    )
    checklist = load_checklist(write(tmp_path, text))
    assert [i.id for i in uncovered(checklist, ["validate.mid"], ["ci"])] == ["validate.alpha", "validate.zeta"]


# -- errors that name the file and the entry --------------------------------------------


def test_duplicate_id(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml() + item_toml(text='"again"'))
    message = checklist_error(path)
    assert message == f"{path}: item[1] 'validate.lint': duplicate id"


def test_id_not_starting_with_its_phase(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(id='"deploy_staging.lint"'))
    message = checklist_error(path)
    assert message == f"{path}: item[0] 'deploy_staging.lint': id must start with its phase 'validate'"


@pytest.mark.parametrize(
    "bad_id", ["validate", "Validate.lint", "validate.", "validate..lint", "validate.Lint", "1x.y"]
)
def test_bad_id_shape(tmp_path: Path, bad_id: str) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(id=f'"{bad_id}"'))
    message = checklist_error(path)
    assert message.startswith(f"{path}: item[0] {bad_id!r}: id must match ")


def test_unknown_phase(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(id='"validation.lint"', phase='"validation"', step=None))
    message = checklist_error(path)
    assert message.startswith(f"{path}: item[0] 'validation.lint': unknown phase 'validation'")
    assert "valid phases in order" in message


def test_unknown_step(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(step='"lint"'))
    message = checklist_error(path)
    assert message == (
        f"{path}: item[0] 'validate.lint': unknown step 'lint' for phase 'validate'; "
        "valid steps: install, pipeline, confirm"
    )


def test_missing_step_where_the_phase_has_steps(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(step=None))
    message = checklist_error(path)
    assert message == (
        f"{path}: item[0] 'validate.lint': phase 'validate' has steps, so a step is required; "
        "valid steps: install, pipeline, confirm"
    )


def test_the_entry_is_named_by_its_position(tmp_path: Path) -> None:
    text = "schema = 1\n" + item_toml() + item_toml(id='"validate.other"', step='"nope"')
    assert "item[1] 'validate.other': unknown step 'nope'" in checklist_error(write(tmp_path, text))


def test_unknown_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(environments='["ci", "prod"]'))
    message = checklist_error(path)
    assert "invalid checklist" in message
    assert "\n  item.0.environments.1: Input should be 'local', 'ci', 'staging', 'production' or 'rollback'" in message


def test_empty_environments(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(environments="[]"))
    assert "\n  item.0.environments: List should have at least 1 item" in checklist_error(path)


def test_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml() + item_toml(id='"validate.b"', retired="true"))
    message = checklist_error(path)
    assert "\n  item.1.retired: Extra inputs are not permitted" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\nversion = 2\n" + item_toml())
    assert "\n  version: Extra inputs are not permitted" in checklist_error(path)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("text", '""', "String should have at least 1 character"),
        ("text", None, "Field required"),
        ("section", None, "Field required"),
        ("id", "7", "Input should be a valid string"),
        ("environments", '"ci"', "Input should be a valid list"),
    ],
)
def test_bad_item_values(tmp_path: Path, key: str, value: str | None, problem: str) -> None:
    path = write(tmp_path, "schema = 1\n" + item_toml(**{key: value}))
    assert f"\n  item.0.{key}: {problem}" in checklist_error(path)


def test_schema_2_is_not_supported(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 2\n" + item_toml())
    assert checklist_error(path) == f"{path}: schema 2 is not supported (expected 1)"


def test_missing_schema_and_items(tmp_path: Path) -> None:
    message = checklist_error(write(tmp_path, ""))
    assert "\n  schema: Field required" in message
    assert "\n  item: Field required" in message


def test_broken_toml(tmp_path: Path) -> None:
    path = write(tmp_path, 'schema = 1\n[[item]\nid = "validate.lint"\n')
    message = checklist_error(path)
    assert message.startswith(f"{path}: not valid TOML: ")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "runbook.toml"
    path.write_bytes(b"schema = 1\n# caf\xe9\n")
    assert checklist_error(path).startswith(f"{path}: not valid TOML: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "runbook.toml"
    assert checklist_error(path).startswith(f"{path}: cannot read: ")


# -- the project's own checklist --------------------------------------------------------


@pytest.fixture(scope="module")
def real_checklist() -> Checklist:
    return load_checklist(REAL_CHECKLIST)


def test_the_real_checklist_loads_with_at_least_100_items(real_checklist: Checklist) -> None:
    assert len(real_checklist.items) >= 100


@pytest.mark.parametrize("phase", [p.name for p in PHASES])
def test_every_phase_has_an_item_in_the_real_checklist(real_checklist: Checklist, phase: str) -> None:
    assert any(item.unit.phase == phase for item in real_checklist.items.values())


def test_every_real_item_names_its_environments(real_checklist: Checklist) -> None:
    empty = [item.id for item in real_checklist.items.values() if not item.environments]
    assert empty == []
