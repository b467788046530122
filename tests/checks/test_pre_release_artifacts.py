"""The pre-release parsers on good and bad input: changelog, SBOMs (CycloneDX, SPDX), SARIF.

Every bad case must raise ArtifactError whose message names the file and the problem;
nothing else may escape (no KeyError, no TypeError, no library exception).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from checks.artifacts import ArtifactError
from checks.release_artifacts.changelog import release_notes
from checks.release_artifacts.sarif import load_sarif, severity_of_score
from checks.release_artifacts.sbom import check_cyclonedx, check_spdx, is_iri

TODAY = date(2026, 11, 27)
WORKSPACE_CHANGELOG = Path(__file__).resolve().parents[2] / "sandbox" / "workspace" / "CHANGELOG.md"


def _expect_error(call: Callable[[], object], path: Path, *needles: str) -> str:
    with pytest.raises(ArtifactError) as caught:
        call()
    message = str(caught.value)
    assert str(path) in message, message
    for needle in needles:
        assert needle in message, message
    return message


# --- CHANGELOG -----------------------------------------------------------------------------

HEADER = "# Changelog\n\nThe format is based on Keep a Changelog.\n\n## [Unreleased]\n\n"
GOOD_SECTION = "## [0.1.0] - 2026-11-20\n\n### Added\n\n- The menu.\n\n### Fixed\n\n- A crash.\n"

CHANGELOG_CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "empty": ("", ("empty",)),
    "whitespace_only": ("  \n\n", ("empty",)),
    "not_utf8": (b"## [0.1.0] - 2026-11-20\n\xff\xfe", ("not UTF-8",)),
    "no_sections": ("# Changelog\n\nnothing here\n", ("not a Keep a Changelog file",)),
    "version_only_under_unreleased": (
        "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Menu (will ship as 0.1.0).\n",
        ("0.1.0 appears only under [Unreleased]",),
    ),
    "notes_still_under_unreleased": (
        "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Menu.\n\n## [0.0.9] - 2026-10-01\n\n### Added\n\n- x\n",
        ("still under [Unreleased]",),
    ),
    "version_in_unreleased_heading": (
        "# Changelog\n\n## [Unreleased] 0.1.0\n\n### Added\n\n- Menu.\n",
        ("0.1.0 appears only under [Unreleased]",),
    ),
    "no_section_at_all": (HEADER + "## [0.0.9] - 2026-10-01\n\n### Added\n\n- x\n", ("no '## [0.1.0]", "0.0.9")),
    "no_date": (HEADER + "## [0.1.0]\n\n### Added\n\n- x\n", ("has no date",)),
    "date_not_iso": (HEADER + "## [0.1.0] - 20/11/2026\n\n### Added\n\n- x\n", ("is not YYYY-MM-DD",)),
    "impossible_date": (HEADER + "## [0.1.0] - 2026-02-30\n\n### Added\n\n- x\n", ("not a real date",)),
    "future_date": (HEADER + "## [0.1.0] - 2027-01-15\n\n### Added\n\n- x\n", ("in the future",)),
    "yanked": (HEADER + "## [0.1.0] - 2026-11-20 [YANKED]\n\n### Added\n\n- x\n", ("[YANKED]",)),
    "v_prefix_in_heading": (HEADER + "## [v0.1.0] - 2026-11-20\n\n### Added\n\n- x\n", ("without the 'v'",)),
    "newer_release_above": (
        HEADER + "## [0.2.0] - 2026-11-25\n\n### Added\n\n- y\n\n" + GOOD_SECTION,
        ("a newer release [0.2.0]",),
    ),
    "no_notes": (HEADER + "## [0.1.0] - 2026-11-20\n\n## [0.0.9] - 2026-10-01\n\n- x\n", ("no release notes",)),
    "notes_outside_change_types": (
        HEADER + "## [0.1.0] - 2026-11-20\n\n### Misc\n\n- x\n",
        ("no release notes", "1 items outside them"),
    ),
    "duplicate_sections": (HEADER + GOOD_SECTION + "\n" + GOOD_SECTION, ("has 2 sections",)),
    "truncated_in_heading": (HEADER + "## [0.1.0] - 2026-1", ("is not YYYY-MM-DD",)),
    "heading_only_in_code_block": (
        HEADER + "```\n## [0.1.0] - 2026-11-20\n### Added\n- x\n```\n",
        ("0.1.0 appears only under [Unreleased]",),
    ),
}


@pytest.mark.parametrize("case", sorted(CHANGELOG_CASES))
def test_bad_changelog_fails_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    content, needles = CHANGELOG_CASES[case]
    path = tmp_path / "CHANGELOG.md"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    _expect_error(lambda: release_notes(path, "v0.1.0", today=TODAY), path, *needles)


def test_missing_changelog_fails(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    _expect_error(lambda: release_notes(path, "v0.1.0", today=TODAY), path, "does not exist")


def test_good_changelog_gives_the_release_notes(tmp_path: Path) -> None:
    path = tmp_path / "CHANGELOG.md"
    path.write_text(
        HEADER + GOOD_SECTION + "\n## [0.0.9] - 2026-10-01 [YANKED]\n\n### Fixed\n\n- y\n", encoding="utf-8"
    )
    notes = release_notes(path, "v0.1.0", today=TODAY)
    assert (notes.version, notes.date, notes.items) == ("0.1.0", date(2026, 11, 20), 2)
    assert notes.notes["Added"] == ["The menu."]


def test_the_sandbox_changelog_has_its_release() -> None:
    assert release_notes(WORKSPACE_CHANGELOG, "v0.1.0").items >= 1


# --- CycloneDX -----------------------------------------------------------------------------

ROOT_REF = "pkg:npm/icupa-sandbox-workspace@0.1.0"
CYCLONEDX: dict[str, Any] = {
    "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
    "bomFormat": "CycloneDX",
    "specVersion": "1.6",
    "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "version": 1,
    "metadata": {
        "timestamp": "2026-11-20T09:00:00Z",
        "component": {
            "type": "application",
            "name": "icupa-sandbox-workspace",
            "version": "0.1.0",
            "bom-ref": ROOT_REF,
            "purl": ROOT_REF,
        },
    },
    "components": [
        {
            "type": "library",
            "name": "fastify",
            "version": "5.12.8",
            "bom-ref": "pkg:npm/fastify@5.12.8",
            "purl": "pkg:npm/fastify@5.12.8",
            "licenses": [{"license": {"id": "MIT"}}],
            "externalReferences": [{"type": "website", "url": "https://fastify.dev"}],
        }
    ],
    "dependencies": [{"ref": ROOT_REF, "dependsOn": ["pkg:npm/fastify@5.12.8"]}, {"ref": "pkg:npm/fastify@5.12.8"}],
}


def _changed(document: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def _set(keys: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _drop(keys: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)


CYCLONEDX_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "empty": ("", ("is empty",)),
    "truncated": (_text(CYCLONEDX)[:400], ("not valid JSON", "truncated")),
    "not_an_object": ("[1, 2]", ("JSON list, not an object",)),
    "wrong_format": (_text(_changed(CYCLONEDX, _set(["bomFormat"], "SPDX"))), ("bomFormat is 'SPDX'",)),
    "missing_spec_version": (_text(_changed(CYCLONEDX, _drop(["specVersion"]))), ("specVersion is missing",)),
    "unknown_spec_version": (_text(_changed(CYCLONEDX, _set(["specVersion"], "9.9"))), ("'9.9' is not a CycloneDX",)),
    "missing_required_field": (
        _text(_changed(CYCLONEDX, _drop(["components", 0, "name"]))),
        ("not valid CycloneDX 1.6", "$.components[0]", "'name' is a required property"),
    ),
    "unknown_property_strict": (
        _text(_changed(CYCLONEDX, _set(["components", 0, "colour"], "blue"))),
        ("not valid CycloneDX 1.6", "colour"),
    ),
    "wrong_type": (
        _text(_changed(CYCLONEDX, _set(["version"], "one"))),
        ("not valid CycloneDX 1.6", "$.version", "'one' is not of type 'integer'"),
    ),
    "bad_serial_number": (
        _text(_changed(CYCLONEDX, _set(["serialNumber"], "urn:uuid:NOT-A-UUID"))),
        ("$.serialNumber",),
    ),
    "bad_iri_reference": (
        _text(
            _changed(
                CYCLONEDX,
                _set(["components", 0, "externalReferences"], [{"type": "website", "url": "http://exa mple.com/<x>"}]),
            )
        ),
        ("$.components[0].externalReferences[0].url", "not valid under any of the given schemas"),
    ),
    "spec_without_json_schema": (
        _text(_changed(CYCLONEDX, _set(["specVersion"], "1.1"))),
        ("CycloneDX 1.1 has no JSON schema",),
    ),
    "another_version": (
        _text(_changed(CYCLONEDX, _set(["metadata", "component", "version"], "0.2.0"))),
        ("metadata.component.version is '0.2.0'", "release is v0.1.0", "another version"),
    ),
    "no_component": (_text(_changed(CYCLONEDX, _drop(["metadata", "component"]))), ("metadata.component is missing",)),
    "no_version": (
        _text(_changed(CYCLONEDX, _drop(["metadata", "component", "version"]))),
        ("metadata.component.version is missing",),
    ),
    "no_components": (
        _text(_changed(CYCLONEDX, _set(["components"], []))),
        ("lists no components",),
    ),
}


@pytest.mark.parametrize("case", sorted(CYCLONEDX_CASES))
def test_bad_cyclonedx_fails_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    content, needles = CYCLONEDX_CASES[case]
    path = tmp_path / "icupa.cdx.json"
    path.write_text(content, encoding="utf-8")
    _expect_error(lambda: check_cyclonedx(path, "v0.1.0"), path, *needles)


# IRIs on both sides of RFC 3987's lines: spaces and angle brackets, bad percent-escapes,
# non-characters, private-use characters outside and inside the query, IPv6 hosts, bare
# references (relative paths, fragments, network-path references), and non-strings.
IRI_SAMPLES = [
    "https://registry.npmjs.org/fastify/-/fastify-5.12.8.tgz",
    "git+https://github.com/fastify/fastify.git",
    "https://github.com/fastify/fastify#readme",
    "http://例え.jp/パス?クエリ=値#断片",
    "http://example.com/caf\u00e9",
    "http://exa mple.com/",
    "http://example.com/<x>",
    "http://example.com/%zz",
    "http://example.com/%4",
    "http://example.com/\ufffe",
    "http://example.com/\ue000",
    "http://example.com/?q=\ue000",
    "http://example.com/#\ue000",
    "http://[2001:db8:0:0:0:0:0:1]:8080/path",
    "http://[v7.abc]/",
    "http://[::1/path",
    "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "mailto:amara.uwase@example.com",
    "../relative/path",
    "#fragment-only",
    "//host.example/path",
    "",
    "a:b:c",
    "1http://bad-scheme.example",
    "http://example.com/\u00a0",
    "http://example.com/\x7f",
    "http://example.com/\\back",
    "http://user@host:notaport/",
    'http://example.com/"quoted"',
    "http://example.com/{template}",
    "http://example.com/|pipe",
    "http://example.com/\n",
    "http://example.com/a\nb",
]


@pytest.mark.parametrize("reference", [False, True], ids=["iri", "iri-reference"])
@pytest.mark.parametrize("sample", IRI_SAMPLES)
def test_the_quick_iri_check_agrees_with_the_rfc3987_grammar(sample: str, reference: bool) -> None:
    """``is_iri`` against rfc3987-syntax's Earley parser of the RFC 3987 grammar (the slow default)."""
    from rfc3987_syntax import is_valid_syntax

    expected = is_valid_syntax("iri_reference" if reference else "iri", sample)
    assert is_iri(sample, reference=reference) is expected


@pytest.mark.parametrize("sample", ["http://[::1]:8080/path", "https://[2001:db8::1]/"])
def test_compressed_ipv6_hosts_are_iris(sample: str) -> None:
    """RFC 3986 section 3.2.2 allows ``::``; rfc3987-syntax 1.1.0's grammar rejects it (its bug)."""
    assert is_iri(sample)
    assert is_iri(sample, reference=True)


@pytest.mark.parametrize("value", [None, 3, ["http://example.com"]])
def test_the_quick_iri_check_passes_non_strings(value: object) -> None:
    assert is_iri(value)
    assert is_iri(value, reference=True)


def test_missing_cyclonedx_fails(tmp_path: Path) -> None:
    path = tmp_path / "icupa.cdx.json"
    _expect_error(lambda: check_cyclonedx(path, "v0.1.0"), path, "does not exist")


def test_good_cyclonedx_passes(tmp_path: Path) -> None:
    path = tmp_path / "icupa.cdx.json"
    path.write_text(_text(CYCLONEDX), encoding="utf-8")
    summary = check_cyclonedx(path, "v0.1.0")
    assert (summary.format, summary.name, summary.version, summary.packages) == (
        "CycloneDX 1.6",
        "icupa-sandbox-workspace",
        "0.1.0",
        1,
    )


# --- SPDX ----------------------------------------------------------------------------------

SPDX: dict[str, Any] = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "icupa-sandbox-workspace",
    "documentNamespace": "https://spdx.org/spdxdocs/icupa-sandbox-workspace-0.1.0-5f0c6f1e-1c1a-4b7e-9d67-3f5b2b8a9c10",
    "creationInfo": {"created": "2026-11-20T09:00:00Z", "creators": ["Tool: pnpm"]},
    "packages": [
        {
            "SPDXID": "SPDXRef-RootPackage",
            "name": "icupa-sandbox-workspace",
            "versionInfo": "0.1.0",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "APPLICATION",
        },
        {
            "SPDXID": "SPDXRef-Package-fastify-5.12.8",
            "name": "fastify",
            "versionInfo": "5.12.8",
            "downloadLocation": "https://registry.npmjs.org/fastify/-/fastify-5.12.8.tgz",
            "filesAnalyzed": False,
            "licenseConcluded": "MIT",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": "pkg:npm/fastify@5.12.8",
                }
            ],
        },
    ],
    "relationships": [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-RootPackage",
        },
        {
            "spdxElementId": "SPDXRef-RootPackage",
            "relationshipType": "DEPENDS_ON",
            "relatedSpdxElement": "SPDXRef-Package-fastify-5.12.8",
        },
    ],
}

SPDX_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "empty": ("", ("is empty",)),
    "truncated": (_text(SPDX)[:300], ("not valid JSON",)),
    "not_an_object": ('"SPDX-2.3"', ("JSON str, not an object",)),
    "spdx_3": (_text(_changed(SPDX, _set(["spdxVersion"], "SPDX-3.0"))), ("expected SPDX-2.2 or SPDX-2.3",)),
    "missing_required_field": (
        _text(_changed(SPDX, _drop(["packages", 1, "downloadLocation"]))),
        ("not a valid SPDX document", "download_location"),
    ),
    "missing_document_name": (_text(_changed(SPDX, _drop(["name"]))), ("not a valid SPDX document",)),
    "bad_data_license": (
        _text(_changed(SPDX, _set(["dataLicense"], "MIT"))),
        ("SPDX-2.3 validation failed", "CC0-1.0"),
    ),
    "namespace_with_fragment": (
        _text(_changed(SPDX, _set(["documentNamespace"], "https://spdx.org/spdxdocs/x#frag"))),
        ("validation failed", "document_namespace"),
    ),
    "describes_nothing": (
        _text(_changed(SPDX, _set(["relationships"], SPDX["relationships"][1:]))),
        ("validation failed", "DESCRIBES"),
    ),
    "another_version": (
        _text(_changed(SPDX, _set(["packages", 0, "versionInfo"], "0.2.0"))),
        ("versionInfo icupa-sandbox-workspace '0.2.0'", "another version"),
    ),
    "only_the_root_package": (
        _text(
            _changed(
                _changed(SPDX, _set(["packages"], SPDX["packages"][:1])),
                _set(["relationships"], SPDX["relationships"][:1]),
            )
        ),
        ("lists no packages besides",),
    ),
}


@pytest.mark.parametrize("case", sorted(SPDX_CASES))
def test_bad_spdx_fails_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    content, needles = SPDX_CASES[case]
    path = tmp_path / "icupa.spdx.json"
    path.write_text(content, encoding="utf-8")
    _expect_error(lambda: check_spdx(path, "v0.1.0"), path, *needles)


def test_good_spdx_passes(tmp_path: Path) -> None:
    path = tmp_path / "icupa.spdx.json"
    path.write_text(_text(SPDX), encoding="utf-8")
    summary = check_spdx(path, "v0.1.0")
    assert (summary.format, summary.version, summary.packages) == ("SPDX-2.3", "0.1.0", 2)


# --- SARIF ---------------------------------------------------------------------------------


def _rule(rule_id: str, level: str | None = None, security: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": rule_id, "shortDescription": {"text": rule_id}}
    if level is not None:
        rule["defaultConfiguration"] = {"level": level}
    if security is not None:
        rule["properties"] = {"security-severity": security}
    return rule


def _result(rule_index: int, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleIndex": rule_index,
        "message": {"text": "finding"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.ts"}, "region": {"startLine": 7}}}],
    }
    result.update(extra)
    return result


def _sarif(rules: list[dict[str, Any]], results: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    for result in results:
        if "ruleId" not in result:
            result["ruleId"] = rules[result["ruleIndex"]]["id"]
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "CodeQL", "rules": rules}}, "results": results, **run}],
    }


SARIF_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "empty": ("", ("is empty",)),
    "truncated": (_text(_sarif([_rule("js/x", "error")], [_result(0)]))[:150], ("not valid JSON",)),
    "not_an_object": ("[]", ("JSON list, not an object",)),
    "wrong_version": (_text({**_sarif([], []), "version": "2.0.0"}), ("only SARIF 2.1.0",)),
    "missing_runs": (_text({"version": "2.1.0"}), ("runs is missing",)),
    "empty_runs": (_text({"version": "2.1.0", "runs": []}), ("runs is empty",)),
    "missing_driver_name": (
        _text({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]}),
        ("runs[0].tool.driver.name is missing",),
    ),
    "missing_results": (
        _text({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}}}]}),
        ("runs[0].results is missing",),
    ),
    "scan_failed": (
        _text(_sarif([], [], invocations=[{"executionSuccessful": False}])),
        ("executionSuccessful is false",),
    ),
    "without_severities": (
        _text(_sarif([_rule("js/sql-injection"), _rule("js/xss")], [_result(0), _result(1)])),
        ("2 results carry no severity", "js/sql-injection at src/a.ts:7", "cannot tell"),
    ),
    "bad_level": (_text(_sarif([_rule("js/x", "fatal")], [_result(0)])), ("level 'fatal' is not one of",)),
    "bad_security_severity": (
        _text(_sarif([_rule("js/x", "error", "HIGH")], [_result(0)])),
        ("security-severity 'HIGH' is not a number",),
    ),
    "rule_index_out_of_range": (_text(_sarif([_rule("js/x", "error")], [_result(3, ruleId="js/y")])), ("ruleIndex 3",)),
}


@pytest.mark.parametrize("case", sorted(SARIF_CASES))
def test_bad_sarif_fails_naming_file_and_problem(tmp_path: Path, case: str) -> None:
    content, needles = SARIF_CASES[case]
    path = tmp_path / "codeql.sarif"
    path.write_text(content, encoding="utf-8")
    _expect_error(lambda: load_sarif(path), path, *needles)


def test_sarif_severity_from_security_severity_then_level(tmp_path: Path) -> None:
    rules = [
        _rule("js/critical", "warning", "9.1"),
        _rule("js/high", "note", "7.0"),
        _rule("js/medium", "error", "6.9"),
        _rule("js/error-level", "error"),
        _rule("js/warning-level", "warning"),
        _rule("js/note-level", "note"),
    ]
    path = tmp_path / "codeql.sarif"
    path.write_text(_text(_sarif(rules, [_result(i) for i in range(len(rules))])), encoding="utf-8")
    report = load_sarif(path)
    severities = {finding.rule_id: finding.severity for finding in report.findings}
    assert severities == {
        "js/critical": "critical",
        "js/high": "high",
        "js/medium": "medium",
        "js/error-level": "high",
        "js/warning-level": "medium",
        "js/note-level": "low",
    }
    assert sorted(f.rule_id for f in report.at_or_above("high")) == ["js/critical", "js/error-level", "js/high"]
    assert [f.rule_id for f in report.at_or_above("critical")] == ["js/critical"]


def test_sarif_result_level_overrides_the_rule_default(tmp_path: Path) -> None:
    path = tmp_path / "codeql.sarif"
    path.write_text(_text(_sarif([_rule("js/x", "note")], [_result(0, level="error")])), encoding="utf-8")
    (finding,) = load_sarif(path).findings
    assert (finding.severity, finding.basis) == ("high", "level error")


@pytest.mark.parametrize(
    ("suppressions", "blocks"),
    [
        ([{"kind": "inSource"}], False),
        ([{"kind": "external", "status": "accepted", "justification": "bounded input"}], False),
        ([{"kind": "external", "status": "underReview"}], True),
        ([{"kind": "external", "status": "rejected"}], True),
        ([], True),
    ],
    ids=["no_status", "accepted", "under_review", "rejected", "empty_list"],
)
def test_sarif_suppressions(tmp_path: Path, suppressions: list[dict[str, str]], blocks: bool) -> None:
    path = tmp_path / "codeql.sarif"
    document = _sarif([_rule("js/x", "error", "8.8")], [_result(0, suppressions=suppressions)])
    path.write_text(_text(document), encoding="utf-8")
    assert bool(load_sarif(path).at_or_above("high")) is blocks


def test_sarif_non_problems_are_not_counted(tmp_path: Path) -> None:
    results = [_result(0, kind="pass"), _result(0, kind="informational"), _result(0, baselineState="absent")]
    path = tmp_path / "codeql.sarif"
    path.write_text(_text(_sarif([_rule("js/x", "error", "9.8")], results)), encoding="utf-8")
    assert load_sarif(path).findings == ()


def test_sarif_rule_found_by_id_and_in_extensions(tmp_path: Path) -> None:
    document = _sarif([], [])
    document["runs"][0]["tool"]["extensions"] = [{"name": "pack", "rules": [_rule("js/ext", "error", "7.5")]}]
    document["runs"][0]["results"] = [
        {"ruleId": "js/ext", "rule": {"id": "js/ext", "index": 0, "toolComponent": {"index": 1}}, "message": {}},
    ]
    path = tmp_path / "codeql.sarif"
    path.write_text(_text(document), encoding="utf-8")
    (finding,) = load_sarif(path).findings
    assert (finding.rule_id, finding.severity, finding.location) == ("js/ext", "high", "(no location)")


def test_the_recorded_codeql_report_passes_at_high() -> None:
    path = Path(__file__).resolve().parents[2] / "sandbox" / "recorded" / "codeql" / "icupa-javascript.sarif"
    report = load_sarif(path)
    assert report.at_or_above("high") == []
    assert [f.rule_id for f in report.suppressed] == ["js/polynomial-redos"]
    assert [f.rule_id for f in report.at_or_above("medium")] == ["js/http-to-file-access"]


@pytest.mark.parametrize(
    ("score", "severity"),
    [(10.0, "critical"), (9.0, "critical"), (8.9, "high"), (7.0, "high"), (4.0, "medium"), (0.1, "low"), (0, "none")],
)
def test_security_severity_mapping(score: float, severity: str) -> None:
    assert severity_of_score(score) == severity
