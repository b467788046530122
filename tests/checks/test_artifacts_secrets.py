"""Secret scans: gitleaks JSON reports, and real detect-secrets scans of folders.

No secret value may reach a finding, a message or a repr: the planted values here are
random, so a match in any output can only be a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.secrets import load_gitleaks, scan_detect_secrets
from tests.checks.workspace_copy import REPO, copy_workspace, fake_aws_key_id, plant_secret

RECORDED_GITLEAKS = REPO / "sandbox" / "recorded" / "validate" / "gitleaks.json"
EXCLUDED = ("node_modules", "dist", "coverage", ".turbo")


def _finding(**changes: Any) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "RuleID": "generic-api-key",
        "Description": "Detected a Generic API Key, potentially exposing access to various services.",
        "StartLine": 12,
        "EndLine": 12,
        "StartColumn": 18,
        "EndColumn": 67,
        "Match": "SUPABASE_SERVICE_ROLE_KEY=REDACTED",
        "Secret": "REDACTED",
        "File": "supabase/functions/notify/index.ts",
        "SymlinkFile": "",
        "Commit": "cd5226711335c68be1e720b318b7bc3135a30eb2",
        "Entropy": 4.7321,
        "Author": "Jane Dev",
        "Email": "jane@example.com",
        "Date": "2026-01-14T09:12:44Z",
        "Message": "feat(notify): add edge function",
        "Tags": [],
        "Fingerprint": "cd5226711335c68be1e720b318b7bc3135a30eb2:supabase/functions/notify/index.ts:generic-api-key:12",
    }
    for key, value in changes.items():
        if value is None:
            del finding[key]
        else:
            finding[key] = value
    return finding


def _write(tmp_path: Path, content: str | bytes | list[Any] | dict[str, Any]) -> Path:
    path = tmp_path / "gitleaks.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --- gitleaks -----------------------------------------------------------------------------------


def test_the_recorded_clean_report() -> None:
    report = load_gitleaks(RECORDED_GITLEAKS)
    assert (report.findings, report.unredacted) == ((), 0)


def test_findings_name_file_line_and_rule(tmp_path: Path) -> None:
    report = load_gitleaks(_write(tmp_path, [_finding(), _finding(Commit="", File="a.env", StartLine=3)]))
    assert [str(finding) for finding in report.findings] == [
        "supabase/functions/notify/index.ts@cd5226711335:12: generic-api-key",
        "a.env:3: generic-api-key",
    ]
    assert report.unredacted == 0


def test_an_unredacted_secret_is_counted_never_kept(tmp_path: Path) -> None:
    secret = fake_aws_key_id()
    partial = secret[:8] + "..."  # --redact=60 keeps a prefix
    report = load_gitleaks(_write(tmp_path, [_finding(Secret=secret, Match=f"k={secret}"), _finding(Secret=partial)]))
    assert report.unredacted == 1
    assert secret not in repr(report)


GITLEAKS_CASES: dict[str, tuple[str | bytes | list[Any] | dict[str, Any], tuple[str, ...]]] = {
    "empty": ("", ("empty file",)),
    "truncated": (json.dumps([_finding()])[:150], ("not valid JSON", "cut short")),
    "nesting_bomb": ("[" * 100_000 + "]" * 100_000, ("nested too deeply",)),
    "sarif_not_json_report": ({"version": "2.1.0", "runs": []}, ("expected a JSON array of findings",)),
    "line_as_string": ([_finding(StartLine="12")], ("findings.0.StartLine", "got a str")),
    "missing_rule": ([_finding(RuleID=None)], ("findings.0.RuleID: missing field",)),
    "missing_file": ([_finding(File=None)], ("findings.0.File: missing field",)),
    "secret_wrong_type": ([_finding(Secret=12345678901234)], ("findings.0.Secret", "got a int")),
}


@pytest.mark.parametrize("case", GITLEAKS_CASES)
def test_bad_gitleaks_report(tmp_path: Path, case: str) -> None:
    content, needles = GITLEAKS_CASES[case]
    path = _write(tmp_path, content)
    with pytest.raises(ArtifactError) as caught:
        load_gitleaks(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for needle in needles:
        assert needle in message, message
    assert "12345678901234" not in message


# --- detect-secrets (the real tool) -------------------------------------------------------------


def test_a_planted_secret_is_found_and_never_shown(tmp_path: Path) -> None:
    secret, path, line = plant_secret(copy_workspace(tmp_path / "workspace"))
    scan = scan_detect_secrets(
        tmp_path / "workspace", exclude_dirs=EXCLUDED, baseline=tmp_path / "workspace" / ".secrets.baseline"
    )
    assert [str(finding) for finding in scan.findings] == [
        f"{path.relative_to(tmp_path / 'workspace')}:{line}: AWS Access Key"
    ]
    assert scan.accepted >= 1  # the workspace's own test fixtures, audited in its baseline
    assert secret not in repr(scan)


def test_the_workspace_copy_is_clean_with_its_baseline(tmp_path: Path) -> None:
    workspace = copy_workspace(tmp_path / "workspace")
    scan = scan_detect_secrets(workspace, exclude_dirs=EXCLUDED, baseline=workspace / ".secrets.baseline")
    assert scan.findings == ()


def test_excluded_folders_are_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "pkg" / "node_modules" / "x" / "key.js").write_text(f'k = "{fake_aws_key_id()}"\n')
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "bundle.js").write_text(f'k = "{fake_aws_key_id()}"\n')
    assert scan_detect_secrets(tmp_path, exclude_dirs=EXCLUDED).findings == ()


def _baseline(folder: Path, *, audited: bool) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    document = json.loads(done.stdout)
    if audited:
        for items in document["results"].values():
            for item in items:
                item["is_secret"] = False
    path = folder.parent / "baseline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_only_an_audited_baseline_entry_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "fixture.ts").write_text(f'export const key = "{fake_aws_key_id()}";\n')
    unaudited = scan_detect_secrets(folder, baseline=_baseline(folder, audited=False))
    assert [finding.rule for finding in unaudited.findings] == ["AWS Access Key"]
    audited = scan_detect_secrets(folder, baseline=_baseline(folder, audited=True))
    assert (audited.findings, audited.accepted) == ((), 1)
    # A second secret in the same file is not covered by the first one's audit.
    (folder / "fixture.ts").write_text(f'export const key = "{fake_aws_key_id()}";\n', encoding="utf-8")
    assert len(scan_detect_secrets(folder, baseline=folder.parent / "baseline.json").findings) == 1


def test_scanning_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such folder to scan"):
        scan_detect_secrets(tmp_path / "absent")


def test_a_broken_baseline_is_an_error(tmp_path: Path) -> None:
    baseline = tmp_path / ".secrets.baseline"
    baseline.write_text('{"results": {"a.ts": [{"type": 1}]}}', encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"results\.a\.ts\.0\.type"):
        scan_detect_secrets(tmp_path, baseline=baseline)
