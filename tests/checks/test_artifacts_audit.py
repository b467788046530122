"""The dependency-audit parser: pnpm 10, pnpm 11+ and npm v2 reports, and a corpus of bad ones.

The verdict comes from the advisories, never from ``metadata.vulnerabilities`` (pnpm filters
the advisories by ``--audit-level`` but not those counts): both directions of that trap are
cases here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.audit import SEVERITIES, load_audit

RECORDED = Path(__file__).resolve().parents[2] / "sandbox" / "recorded" / "validate" / "pnpm-audit.json"


def _pnpm_advisory(number: int, module: str, severity: str, *, v10: bool) -> dict[str, Any]:
    advisory: dict[str, Any] = {
        "findings": [{"version": "1.0.0", "paths": [f"apps/web > {module}@1.0.0"], "dev": False, "optional": False}],
        "id": number,
        "title": f"Something in {module}",
        "module_name": module,
        "vulnerable_versions": "<2.0.0",
        "patched_versions": ">=2.0.0",
        "severity": severity,
        "cwe": "CWE-1321",
        "github_advisory_id": f"GHSA-0000-0000-{number:04d}",
        "url": f"https://github.com/advisories/GHSA-0000-0000-{number:04d}",
    }
    if v10:
        advisory.update(created="2025-03-01T00:00:00.000Z", cves=["CVE-2025-0001"], overview="...", access="public")
    return advisory


def _pnpm(*advisories: tuple[int, str, str], v10: bool = False, counts: dict[str, int] | None = None) -> dict[str, Any]:
    tally = {level: 0 for level in SEVERITIES}
    for _, _, severity in advisories:
        tally[severity] += 1
    report: dict[str, Any] = {
        "advisories": {str(n): _pnpm_advisory(n, module, severity, v10=v10) for n, module, severity in advisories},
        "metadata": {"vulnerabilities": counts or tally, "dependencies": 10, "totalDependencies": 10},
    }
    if v10:
        report = {"actions": [], **report, "muted": []}
    return report


NPM_V2 = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "lodash": {
            "name": "lodash",
            "severity": "high",
            "isDirect": False,
            "via": [
                {
                    "source": 1102341,
                    "name": "lodash",
                    "dependency": "lodash",
                    "title": "Prototype Pollution in lodash",
                    "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm",
                    "severity": "high",
                    "cwe": ["CWE-77"],
                    "range": "<4.17.21",
                },
                {
                    "source": 1100001,
                    "name": "lodash",
                    "title": "ReDoS in lodash",
                    "url": "https://github.com/advisories/GHSA-xxxx",
                    "severity": "moderate",
                    "range": "<4.17.20",
                },
            ],
            "effects": ["some-wrapper"],
            "range": "<4.17.21",
            "nodes": ["node_modules/lodash"],
            "fixAvailable": True,
        },
        "some-wrapper": {
            "name": "some-wrapper",
            "severity": "high",
            "isDirect": True,
            "via": ["lodash"],
            "effects": [],
            "range": "<=2.3.0",
            "nodes": ["node_modules/some-wrapper"],
            "fixAvailable": {"name": "some-wrapper", "version": "3.0.0", "isSemVerMajor": True},
        },
    },
    "metadata": {
        "vulnerabilities": {"info": 0, "low": 0, "moderate": 1, "high": 2, "critical": 0, "total": 3},
        "dependencies": {"prod": 120, "dev": 300, "total": 423},
    },
}


def _write(tmp_path: Path, content: str | bytes | dict[str, Any] | list[Any]) -> Path:
    path = tmp_path / "audit.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


# --- the three formats ---------------------------------------------------------------------------


def test_pnpm_10_report(tmp_path: Path) -> None:
    report = load_audit(_write(tmp_path, _pnpm((1, "lodash", "high"), (2, "minimist", "low"), v10=True)))
    assert report.format == "pnpm 10"
    assert [(a.id, a.package, a.severity) for a in report.at_or_above("high")] == [("1", "lodash", "high")]
    assert "GHSA-0000-0000-0001" in str(report.at_or_above("high")[0])


def test_pnpm_11_report(tmp_path: Path) -> None:
    report = load_audit(_write(tmp_path, _pnpm((7, "esbuild", "moderate"), (8, "vite", "critical"))))
    assert report.format == "pnpm 11"
    assert [a.package for a in report.at_or_above("moderate")] == ["vite", "esbuild"]  # worst first
    assert report.counts() == {"info": 0, "low": 0, "moderate": 1, "high": 0, "critical": 1}


def test_npm_v2_report_counts_each_advisory_once(tmp_path: Path) -> None:
    report = load_audit(_write(tmp_path, NPM_V2))
    assert report.format == "npm audit v2"
    # some-wrapper is affected only through lodash: no advisory of its own.
    assert sorted((a.id, a.severity) for a in report.advisories) == [("1100001", "moderate"), ("1102341", "high")]
    assert [a.title for a in report.at_or_above("high")] == ["Prototype Pollution in lodash"]


@pytest.mark.parametrize(
    ("level", "expected"),
    [("info", 5), ("low", 4), ("moderate", 3), ("high", 2), ("critical", 1)],
)
def test_levels_are_ordered(tmp_path: Path, level: str, expected: int) -> None:
    advisories = [(n, f"pkg{n}", severity) for n, severity in enumerate(SEVERITIES, start=1)]
    assert len(load_audit(_write(tmp_path, _pnpm(*advisories))).at_or_above(level)) == expected


def test_an_unknown_level_is_refused(tmp_path: Path) -> None:
    report = load_audit(_write(tmp_path, _pnpm()))
    with pytest.raises(ValueError, match="unknown audit level 'medium'; valid: info, low, moderate, high, critical"):
        report.at_or_above("medium")


def test_summary_counts_of_a_filtered_report_do_not_block(tmp_path: Path) -> None:
    # pnpm audit --audit-level=critical --json: the high advisory is filtered out, the counts are not.
    counts = {"info": 0, "low": 0, "moderate": 0, "high": 1, "critical": 0}
    report = load_audit(_write(tmp_path, _pnpm(counts=counts)))
    assert report.at_or_above("high") == []
    assert report.summary_counts["high"] == 1


def test_an_advisory_the_summary_does_not_count_still_blocks(tmp_path: Path) -> None:
    zero = dict.fromkeys(SEVERITIES, 0)
    report = load_audit(_write(tmp_path, _pnpm((3, "tar", "critical"), counts=zero)))
    assert [a.package for a in report.at_or_above("high")] == ["tar"]


def test_the_recorded_sandbox_report_is_a_pnpm_11_report() -> None:
    report = load_audit(RECORDED)
    assert report.format == "pnpm 11"
    assert report.advisories == ()


# --- bad reports -----------------------------------------------------------------------------------

_ONE = _pnpm((5, "undici", "high"))


def _changed(report: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(report))
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return document


AUDIT_CASES: dict[str, tuple[str | bytes | dict[str, Any] | list[Any], tuple[str, ...]]] = {
    "empty": ("", ("empty file",)),
    "truncated": (json.dumps(_ONE)[:120], ("not valid JSON", "cut short")),
    "not_utf8": (b'{"advisories": "\xff"}', ("not UTF-8",)),
    "nesting_bomb": ("[" * 100_000 + "]" * 100_000, ("nested too deeply",)),
    "not_an_object": ([], ("expected a JSON object, got a list",)),
    "not_an_audit": ({"name": "web", "version": "1.0.0"}, ("not a pnpm or npm audit report",)),
    "registry_error": ({"error": {"code": "ERR_PNPM_AUDIT_BAD_RESPONSE"}}, ("did not run", "ERR_PNPM_AUDIT_BAD")),
    "unknown_severity": (_changed(_ONE, "advisories.5.severity", "medium"), ("advisories.5.severity", "'medium'")),
    "id_as_string": (_changed(_ONE, "advisories.5.id", "5"), ("advisories.5.id", "valid integer")),
    "advisories_a_list": (_changed(_ONE, "advisories", [1]), ("advisories", "valid dictionary")),
    "missing_severity": (_changed(_ONE, "advisories.5.severity", None), ("advisories.5.severity: missing field",)),
    "missing_module": (_changed(_ONE, "advisories.5.module_name", None), ("advisories.5.module_name: missing",)),
    "missing_metadata": (_changed(_ONE, "metadata", None), ("metadata: missing field",)),
    "npm_version_1": (_changed(NPM_V2, "auditReportVersion", 1), ("report version 1 is not supported",)),
    "npm_via_to_nowhere": (
        _changed(NPM_V2, "vulnerabilities.some-wrapper.via", ["left-pad"]),
        ("vulnerabilities.some-wrapper.via names 'left-pad'", "cut short"),
    ),
    "npm_missing_source": (
        _changed(NPM_V2, "vulnerabilities.lodash.via", [{"name": "lodash", "severity": "high"}]),
        ("vulnerabilities.lodash.via.0",),
    ),
}


@pytest.mark.parametrize("case", AUDIT_CASES)
def test_bad_audit_report(tmp_path: Path, case: str) -> None:
    content, needles = AUDIT_CASES[case]
    path = _write(tmp_path, content)
    with pytest.raises(ArtifactError) as caught:
        load_audit(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for needle in needles:
        assert needle in message, message
