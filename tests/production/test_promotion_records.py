"""The staging sign-off from the gate's run records, and the approvals (file, CLI, GitHub format)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checks.canary.approvals import Approval, ApprovalError, ApprovalSettings, load_approvals
from checks.promotion import (
    ApprovalSource,
    PromotionError,
    Signoff,
    approvals_from_comments,
    find_signoff,
    issue_comments,
    judge_approvals,
)
from checks.remote.github import GitHubClient
from checks.remote.server import LoopbackServer, Request, Response
from tests.production.conftest import write_run

REPO_ROOT = Path(__file__).resolve().parents[2]
FLAG_OK = {"status": "ok", "executed": True, "ended": "2026-11-27T09:58:00.000Z"}
SIGNED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LEADS: dict[str, tuple[str, ...]] = {"product_lead": ("amara.uwase",), "engineering_lead": ("jean.mugabo",)}


# --- staging sign-off -------------------------------------------------------------------


def test_a_passed_staging_run_signs_off(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T095000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    signoff = find_signoff(tmp_path, "sandbox", "v0.1.0")
    assert signoff.run_id == "20261127T095000Z-aaaaaa"
    assert signoff.finished_at == SIGNED
    assert signoff.canary_started_at == datetime(2026, 11, 27, 9, 58, tzinfo=UTC)


def test_no_staging_run_at_all(tmp_path: Path) -> None:
    with pytest.raises(PromotionError, match=r"no staging gate run of sandbox v0.1.0 in .*/runs: run the staging"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_other_targets_versions_and_production_runs_do_not_count(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK, version="v0.0.9")
    write_run(tmp_path, "20261127T090100Z-bbbbbb", verdict={}, flag=FLAG_OK, target="icupa")
    write_run(tmp_path, "20261127T090200Z-cccccc", verdict={}, flag=FLAG_OK, env="production")
    with pytest.raises(PromotionError, match=r"no staging gate run of sandbox v0\.1\.0"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_later_failed_staging_run_revokes_the_signoff(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    line = "RELEASE GATE: BLOCKED at verify_staging/canary (failed: checks/test_canary.py::test_canary_error_rate)"
    write_run(tmp_path, "20261127T100000Z-bbbbbb", verdict={"passed": False, "verdict": line}, flag=FLAG_OK)
    with pytest.raises(PromotionError, match=r"20261127T100000Z-bbbbbb/verdict.json: .* did not pass: RELEASE GATE"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_later_dry_run_neither_signs_off_nor_revokes(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    write_run(tmp_path, "20261127T100000Z-bbbbbb", verdict={"dry_run": True}, flag={**FLAG_OK, "status": "planned"})
    assert find_signoff(tmp_path, "sandbox", "v0.1.0").run_id == "20261127T090000Z-aaaaaa"


def test_only_dry_runs_do_not_sign_off(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T100000Z-bbbbbb", verdict={"dry_run": True}, flag=FLAG_OK)
    with pytest.raises(PromotionError, match="no staging gate run"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_later_run_without_a_verdict_revokes(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    write_run(tmp_path, "20261127T100000Z-bbbbbb", flag=FLAG_OK)  # crashed: a ledger, no verdict
    with pytest.raises(PromotionError, match=r"bbbbbb/verdict.json is missing: .* \(still running, crashed or"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_the_current_run_is_not_read(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    write_run(tmp_path, "20261127T100000Z-bbbbbb", flag=FLAG_OK)
    found = find_signoff(tmp_path, "sandbox", "v0.1.0", current_run="20261127T100000Z-bbbbbb")
    assert found.run_id == "20261127T090000Z-aaaaaa"


@pytest.mark.parametrize(("content", "problem"), [("{not json", "is unreadable"), ("[1]", "is not a JSON object")])
def test_a_corrupt_verdict_fails_naming_the_file(tmp_path: Path, content: str, problem: str) -> None:
    folder = write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    (folder / "verdict.json").write_text(content, encoding="utf-8")
    with pytest.raises(PromotionError, match=rf"aaaaaa/verdict.json: the verdict {problem}"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_run_that_did_not_select_staging_is_no_signoff(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={"selections": []}, flag=FLAG_OK)
    with pytest.raises(PromotionError, match=r"passed but did not select the staging release \(selections \[\]\)"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_verdict_without_finished_at(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={"finished_at": None}, flag=FLAG_OK)
    with pytest.raises(PromotionError, match=r"verdict.json: finished_at: no time recorded"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_missing_canary_record(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={})
    with pytest.raises(PromotionError, match=r"ledger.jsonl: no record of canary_flags_on: .* ran no canary"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_canary_flag_that_failed(tmp_path: Path) -> None:
    write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag={**FLAG_OK, "status": "failed"})
    with pytest.raises(PromotionError, match=r"canary_flags_on is 'failed' \(executed True\), not ok and executed"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


def test_a_torn_ledger_is_not_trusted(tmp_path: Path) -> None:
    folder = write_run(tmp_path, "20261127T090000Z-aaaaaa", verdict={}, flag=FLAG_OK)
    with (folder / "ledger.jsonl").open("a", encoding="utf-8") as ledger:
        ledger.write('{"kind": "act')
    with pytest.raises(PromotionError, match=r"ledger.jsonl:2: not a ledger record"):
        find_signoff(tmp_path, "sandbox", "v0.1.0")


# --- approvals --------------------------------------------------------------------------


def _source(record: Path) -> ApprovalSource:
    settings = ApprovalSettings(record, False, timedelta(hours=72), dict(LEADS))
    return ApprovalSource("file", record, None, "/approve production", ("product_lead", "engineering_lead"), settings)


def _signoff(tmp_path: Path) -> Signoff:
    return Signoff("20261127T095000Z-aaaaaa", tmp_path, {}, SIGNED, SIGNED - timedelta(minutes=2))


def _record(path: Path, approvals: list[dict[str, Any]], release: str = "v0.1.0") -> Path:
    path.write_text(json.dumps({"release": release, "approvals": approvals}), encoding="utf-8")
    return path


def _judge(tmp_path: Path, approvals: list[dict[str, Any]]) -> list[str]:
    record = _record(tmp_path / "v0.1.0.json", approvals)
    loaded = load_approvals(record, "v0.1.0")
    verdict = judge_approvals(loaded, _source(record), _signoff(tmp_path), "v0.1.0", SIGNED + timedelta(hours=1))
    problems = [*verdict.problems]
    for check in verdict.checks.values():
        problems += check.problems if check.accepted is None else []
    assert verdict.passed == (problems == [])
    return problems


PRODUCT_OK = {"role": "product_lead", "name": "amara.uwase", "at": "2026-11-27T10:05:00Z"}
ENGINEERING_OK = {"role": "engineering_lead", "name": "jean.mugabo", "at": "2026-11-27T10:06:00Z"}


def test_both_leads_after_the_signoff(tmp_path: Path) -> None:
    assert _judge(tmp_path, [PRODUCT_OK, ENGINEERING_OK]) == []


def test_an_approval_before_the_signoff_does_not_count(tmp_path: Path) -> None:
    early = {**ENGINEERING_OK, "at": "2026-11-27T09:00:00Z"}
    assert _judge(tmp_path, [PRODUCT_OK, early]) == [
        "jean.mugabo approved at 2026-11-27T09:00:00+00:00, before the staging sign-off at 2026-11-27T10:00:00+00:00"
    ]


def test_a_stranger_does_not_count(tmp_path: Path) -> None:
    stranger = {**PRODUCT_OK, "name": "mallory"}
    assert _judge(tmp_path, [stranger, ENGINEERING_OK]) == [
        "mallory is not an allowed product_lead (allowed: amara.uwase)"
    ]


def test_a_missing_role(tmp_path: Path) -> None:
    assert _judge(tmp_path, [PRODUCT_OK]) == ["no approval from a engineering_lead is recorded"]


def test_a_late_approval(tmp_path: Path) -> None:
    late = {**PRODUCT_OK, "at": "2026-11-30T11:00:00Z"}
    assert _judge(tmp_path, [late, ENGINEERING_OK]) == [
        "amara.uwase approved late: 73.0 h after the sign-off (limit 72 h)"
    ]


def test_one_person_cannot_approve_both_roles(tmp_path: Path) -> None:
    settings = ApprovalSettings(tmp_path, False, timedelta(hours=72), {role: ("amara.uwase",) for role in LEADS})
    source = ApprovalSource("file", tmp_path, None, "", ("product_lead", "engineering_lead"), settings)
    both = (
        Approval("product_lead", "amara.uwase", SIGNED + timedelta(minutes=1)),
        Approval("engineering_lead", "amara.uwase", SIGNED + timedelta(minutes=2)),
    )
    verdict = judge_approvals(both, source, _signoff(tmp_path), "v0.1.0", SIGNED + timedelta(hours=1))
    assert not verdict.passed
    assert verdict.problems == [
        "amara.uwase approved as product_lead, engineering_lead: each role needs its own approver"
    ]


def test_a_missing_record(tmp_path: Path) -> None:
    with pytest.raises(ApprovalError, match=r"no approval record at .*v0.1.0.json: nobody has approved v0.1.0"):
        load_approvals(tmp_path / "v0.1.0.json", "v0.1.0")


def test_a_record_of_another_release(tmp_path: Path) -> None:
    record = _record(tmp_path / "v0.1.0.json", [PRODUCT_OK], release="v0.0.9")
    with pytest.raises(ApprovalError, match=r"v0.1.0.json approves v0.0.9, not v0.1.0"):
        load_approvals(record, "v0.1.0")


def _approve(record: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checks.canary.approvals", "approve", "--record", str(record), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_appends_approvals_stamped_now(tmp_path: Path) -> None:
    record = tmp_path / "approvals" / "v0.1.0.json"
    now = datetime.now(UTC)
    before = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the record keeps milliseconds
    first = _approve(record, "--release", "v0.1.0", "--role", "product_lead", "--name", "amara.uwase")
    second = _approve(
        record, "--release", "v0.1.0", "--role", "engineering_lead", "--name", "jean.mugabo", "--comment", "go"
    )
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1])["approval"]["comment"] == "go"
    approvals = load_approvals(record, "v0.1.0")
    assert [(a.role, a.name) for a in approvals] == [
        ("product_lead", "amara.uwase"),
        ("engineering_lead", "jean.mugabo"),
    ]
    assert all(before <= approval.at <= datetime.now(UTC) for approval in approvals)
    # Milliseconds: an approval in the same second as the staging sign-off is still after it.
    stamps = [item["at"] for item in json.loads(record.read_text())["approvals"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp) for stamp in stamps), stamps


def test_the_cli_refuses_another_release_and_bad_roles(tmp_path: Path) -> None:
    record = _record(tmp_path / "v0.1.0.json", [PRODUCT_OK], release="v0.0.9")
    refused = _approve(record, "--release", "v0.1.0", "--role", "product_lead", "--name", "amara.uwase")
    assert refused.returncode == 1
    assert "approves v0.0.9, not v0.1.0" in refused.stderr
    assert json.loads(record.read_text())["approvals"] == [PRODUCT_OK]
    usage = _approve(record, "--release", "v0.1.0", "--role", "Product Lead", "--name", "amara.uwase")
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr + refused.stderr


# --- approvals as comments on the release issue (GitHub's REST format) -------------------


def _comment(login: str, at: str, body: str) -> dict[str, Any]:
    return {"id": hash(body) & 0xFFFF, "user": {"login": login, "type": "User"}, "created_at": at, "body": body}


COMMENTS = [
    _comment("ci-bot", "2026-11-27T10:01:00Z", "Staging passed."),
    _comment("amara.uwase", "2026-11-27T10:05:00Z", "/approve production\nLooks good."),
    _comment("mallory", "2026-11-27T10:06:00Z", "/approve production engineering_lead"),
    _comment("jean.mugabo", "2026-11-27T10:07:00Z", "/approve production"),
]


def test_approvals_from_issue_comments() -> None:
    found = approvals_from_comments(COMMENTS, "/approve production", ("product_lead", "engineering_lead"), LEADS)
    assert [(a.role, a.name) for a in found] == [
        ("product_lead", "amara.uwase"),
        ("engineering_lead", "mallory"),
        ("engineering_lead", "jean.mugabo"),
    ]
    assert found[0].comment == "/approve production"


def test_issue_comments_through_the_github_client_paged(tmp_path: Path) -> None:
    server = LoopbackServer("github")

    def comments(request: Request, groups: dict[str, str]) -> Response:
        page = int(request.param("page") or 1)
        headers = {}
        if page == 1:
            headers["Link"] = f'<{request.base_url}{request.path}?page=2>; rel="next"'
        return Response.json(200, COMMENTS[:2] if page == 1 else COMMENTS[2:], headers)

    server.add_route("GET", r"/repos/icupa/icupa/issues/42/comments", comments)
    with server, GitHubClient(server.base_url, "icupa/icupa", "ghs_" + "x" * 36) as client:
        fetched = issue_comments(client, 42)
        with pytest.raises(PromotionError, match=r"GitHub GET /repos/icupa/icupa/issues/7/comments\?per_page=\d+: 404"):
            issue_comments(client, 7)
    assert [(c["user"]["login"], c["created_at"], c["body"]) for c in fetched] == [
        (c["user"]["login"], c["created_at"], c["body"]) for c in COMMENTS
    ]
    found = approvals_from_comments(fetched, "/approve production", ("product_lead", "engineering_lead"), LEADS)
    source = _source(tmp_path)
    verdict = judge_approvals(found, source, _signoff(tmp_path), "v0.1.0", SIGNED + timedelta(hours=1))
    assert verdict.passed, verdict.checks
    assert verdict.checks["engineering_lead"].problems == [
        "mallory is not an allowed engineering_lead (allowed: jean.mugabo)"
    ]
