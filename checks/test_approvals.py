"""Approvals before production (runbook "Release Day"): the Product and Engineering leads.

Each lead's approval must be recorded with who, role and when, by an allowed approver, after
the staging sign-off and not late. The sandbox reads a recorded file (labelled so); the
record and the allowed approvers are in ``[targets.<t>.checks.approval]``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from checks.canary.approvals import (
    ApprovalError,
    ApprovalRecord,
    ApprovalSettings,
    check_role,
    from_target,
    load_record,
)
from plugin.settings import Settings

RecordProperty = Callable[[str, object], None]


@pytest.fixture(scope="session")
def approval_settings(release_settings: Settings) -> ApprovalSettings:
    try:
        return from_target(release_settings)
    except ApprovalError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def approval_record(approval_settings: ApprovalSettings, release_settings: Settings) -> ApprovalRecord:
    try:
        record = load_record(approval_settings.record, approval_settings.recorded)
    except ApprovalError as exc:
        pytest.fail(str(exc), pytrace=False)
    if record.release != release_settings.version:
        pytest.fail(
            f"{approval_settings.record} approves {record.release or 'no release'}, not {release_settings.version}",
            pytrace=False,
        )
    return record


def _approved(role: str, record: ApprovalRecord, settings: ApprovalSettings, record_property: RecordProperty) -> None:
    source = f"{'recorded stand-in' if record.recorded else 'record'} {settings.record}"
    record_property("approval_source", source)
    check = check_role(record, role, settings, datetime.now(UTC))
    assert check.accepted is not None, f"no valid {role} approval ({source}):\n  " + "\n  ".join(check.problems)
    approval = check.accepted
    record_property(f"{role}_approval", f"{approval.name} ({role}) at {approval.at.isoformat()}")


@pytest.mark.phase("verify_staging", "approval")
@pytest.mark.checklist("verify_staging.approval.product_lead")
def test_product_lead_approved(
    approval_record: ApprovalRecord, approval_settings: ApprovalSettings, record_property: RecordProperty
) -> None:
    _approved("product_lead", approval_record, approval_settings, record_property)


@pytest.mark.phase("verify_staging", "approval")
@pytest.mark.checklist("verify_staging.approval.engineering_lead")
def test_engineering_lead_approved(
    approval_record: ApprovalRecord, approval_settings: ApprovalSettings, record_property: RecordProperty
) -> None:
    _approved("engineering_lead", approval_record, approval_settings, record_property)
