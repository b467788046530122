"""Approvals: who, role, when, after the staging sign-off, from the allowed approvers only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checks.canary.approvals import ApprovalError, ApprovalSettings, check_role, load_record

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = ApprovalSettings(
    record=Path("unused"),
    recorded=True,
    max_delay=timedelta(hours=72),
    approvers={"product_lead": ("amara.uwase",), "engineering_lead": ("jean.mugabo",)},
)


def _record(tmp_path: Path, approvals: list[dict[str, Any]], signoff_at: str = "2026-11-20T09:00:00Z") -> Path:
    path = tmp_path / "v0.1.0.json"
    payload = {"release": "v0.1.0", "staging_signoff": {"by": "rm", "at": signoff_at}, "approvals": approvals}
    path.write_text(json.dumps(payload))
    return path


def test_the_recorded_sandbox_approvals_count() -> None:
    root = Path(__file__).resolve().parents[2]
    record = load_record(root / "sandbox" / "recorded" / "approvals" / "v0.1.0.json", recorded=True)
    for role in ("product_lead", "engineering_lead"):
        check = check_role(record, role, SETTINGS, NOW)
        assert check.ok, check.problems


def test_a_missing_approval_fails_clearly(tmp_path: Path) -> None:
    path = _record(tmp_path, [{"role": "engineering_lead", "name": "jean.mugabo", "at": "2026-11-20T10:00:00Z"}])
    check = check_role(load_record(path, True), "product_lead", SETTINGS, NOW)
    assert not check.ok
    assert check.problems == ["no approval from a product_lead is recorded"]


def test_an_approver_outside_the_list_does_not_count(tmp_path: Path) -> None:
    path = _record(tmp_path, [{"role": "product_lead", "name": "mallory", "at": "2026-11-20T10:00:00Z"}])
    check = check_role(load_record(path, True), "product_lead", SETTINGS, NOW)
    assert not check.ok
    assert check.problems == ["mallory is not an allowed product_lead (allowed: amara.uwase)"]


def test_an_approval_before_the_signoff_does_not_count(tmp_path: Path) -> None:
    path = _record(tmp_path, [{"role": "product_lead", "name": "amara.uwase", "at": "2026-11-20T08:59:00Z"}])
    check = check_role(load_record(path, True), "product_lead", SETTINGS, NOW)
    assert not check.ok
    assert "before the staging sign-off" in check.problems[0]


def test_a_late_approval_does_not_count(tmp_path: Path) -> None:
    path = _record(tmp_path, [{"role": "product_lead", "name": "amara.uwase", "at": "2026-11-24T10:00:00Z"}])
    check = check_role(load_record(path, True), "product_lead", SETTINGS, NOW)
    assert not check.ok
    assert "approved late: 97.0 h after the sign-off (limit 72 h)" in check.problems[0]


def test_one_valid_approval_is_enough(tmp_path: Path) -> None:
    path = _record(
        tmp_path,
        [
            {"role": "product_lead", "name": "mallory", "at": "2026-11-20T10:00:00Z"},
            {"role": "product_lead", "name": "amara.uwase", "at": "2026-11-20T11:00:00Z"},
        ],
    )
    check = check_role(load_record(path, True), "product_lead", SETTINGS, NOW)
    assert check.accepted is not None
    assert check.accepted.name == "amara.uwase"


def test_no_record_or_no_signoff_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ApprovalError, match="no approval record at"):
        load_record(tmp_path / "absent.json", True)
    path = tmp_path / "nosignoff.json"
    path.write_text(json.dumps({"release": "v0.1.0", "approvals": []}))
    with pytest.raises(ApprovalError, match="no staging sign-off recorded"):
        load_record(path, True)
