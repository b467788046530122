"""The rollout's logic without a platform: settings, stage analysis, flag-change records."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from checks.rollout import (
    FlagState,
    RolloutSettingsError,
    canary_for,
    flag_change_entry,
    flag_changes_in_log,
    partial_change_message,
    rollout_settings,
)
from plugin.settings import Settings
from tests.sandbox_settings import REPO, sandbox_settings


def _settings(checks_update: dict[str, Any] | None = None, vars_update: dict[str, str] | None = None) -> Settings:
    return sandbox_settings("production", checks_update=checks_update, vars_update=vars_update)


def test_the_sandbox_stages_are_the_seeded_tiers_in_order() -> None:
    rollout = rollout_settings(_settings())
    assert rollout.stages["internal"] == ("icupa-hq", "icupa-qa")
    assert rollout.cumulative("pilot") == ("icupa-hq", "icupa-qa", "kigali-bistro", "lakeside-grill")
    assert len(rollout.all_tenants) == 12
    assert rollout.ticket == REPO / "artifacts/release-ticket/v0.1.0.md"


def test_a_tenant_in_two_stages_is_refused() -> None:
    table = dict(_settings().target.checks["rollout"])  # type: ignore[union-attr]
    table["stages"] = {**table["stages"], "pilot": ["icupa-hq"]}
    with pytest.raises(RolloutSettingsError, match="'icupa-hq' is in both internal and pilot"):
        rollout_settings(_settings({"rollout": table}))


def test_an_unknown_key_names_the_table() -> None:
    table = {**_settings().target.checks["rollout"], "windw_s": 3}  # type: ignore[union-attr]
    with pytest.raises(RolloutSettingsError, match=r"targets\.sandbox\.checks\.rollout\.windw_s"):
        rollout_settings(_settings({"rollout": table}))


def test_vars_that_disagree_with_the_stages_are_refused() -> None:
    with pytest.raises(RolloutSettingsError, match="rollout_pilot_tenants"):
        rollout_settings(_settings(vars_update={"rollout_pilot_tenants": "kigali-bistro"}))


def test_owner_from_a_missing_variable_is_refused() -> None:
    table = {**_settings().target.checks["rollout"], "owner_env": "NO_SUCH_OWNER"}  # type: ignore[union-attr]
    del table["owner"]
    with pytest.raises(RolloutSettingsError, match="NO_SUCH_OWNER is not set"):
        rollout_settings(_settings({"rollout": table}), environ={})


def test_the_stage_analysis_is_the_canary_for_the_stage_tenants() -> None:
    canary = canary_for(_settings(), ["kigali-bistro", "lakeside-grill"], 30, {"min_conclusive_samples": 2})
    assert canary.analysis.window_s == 30
    assert canary.analysis.min_conclusive_samples == 2
    assert 'tenant=~"kigali-bistro|lakeside-grill"' in canary.metric("payments_success").query
    assert canary.traffic is not None


def test_a_failed_stage_says_which_tenants_changed() -> None:
    states = {
        "kigali-bistro": FlagState("kigali-bistro", True, True, "2026-01-01T00:00:00+00:00", "release-gate"),
        "nowhere": FlagState("nowhere", False, None, None, None),
    }
    message = partial_change_message("pilot", "ai_waiter", ["kigali-bistro", "nowhere"], states, "exit 3")
    assert "changed (on) for: kigali-bistro (on since" in message
    assert "NOT changed for: nowhere (no such tenant)" in message
    unknown = partial_change_message("pilot", "ai_waiter", ["kigali-bistro"], None, "exit 4")
    assert "unknown: the database did not answer" in unknown


def test_flag_changes_are_read_from_the_cli_output() -> None:
    log = '$ node flags.mjs\n{"event": "feature_flag_changed", "tenant": "a", "changed": true}\nnoise {"x": 1}\n'
    assert flag_changes_in_log(log) == [{"event": "feature_flag_changed", "tenant": "a", "changed": True}]
    entry = flag_change_entry(
        when="T",
        stage="pilot",
        version="v0.1.0",
        where="sandbox/production",
        flag="ai_waiter",
        tenants=["a", "b"],
        changes=[{"tenant": "a", "changed": True}, {"tenant": "b", "changed": False}],
        outcome="action ok",
        owner="amara",
        who={"user": "u", "host": "h", "pid": "1", "worker": "main"},
        run="r",
    )
    assert entry.startswith("## T rollout pilot of v0.1.0 on sandbox/production\n")
    assert "changed: a; already on: b" in entry
    assert "- owner: amara" in entry


def test_settings_are_frozen() -> None:
    rollout = rollout_settings(_settings())
    with pytest.raises(dataclasses.FrozenInstanceError):
        rollout.flag = "x"  # type: ignore[misc]
