"""SARIF 2.1.0 reports (CodeQL, and any scanner that writes SARIF): findings by severity.

A result's severity is, as GitHub code scanning shows it:

- from ``properties.security-severity`` (a CVSS-like score on the result's rule, or on the
  result): 9.0 and above critical, 7.0 high, 4.0 medium, above 0 low;
- otherwise from its ``level`` (on the result, else the rule's
  ``defaultConfiguration.level``): ``error`` high, ``warning`` medium, ``note`` low,
  ``none`` none.

A result is not counted when it is suppressed (a suppression whose ``status`` is absent or
``accepted``; ``underReview`` and ``rejected`` do not hide it), when its ``kind`` says it is
not a problem (``pass``, ``notApplicable``, ``informational``) or when its
``baselineState`` is ``absent`` (fixed since the baseline).

A report where a result has no severity at all is an error, not a pass: SARIF's own default
(``warning``) would rank a critical injection as medium, so the gate refuses to guess. So
are a report without runs, a run without ``results`` (nothing was analysed) and a run whose
invocation did not succeed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from checks.artifacts import ArtifactError

SEVERITY_ORDER: Final = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
LEVEL_SEVERITY: Final = {"error": "high", "warning": "medium", "note": "low", "none": "none"}
NOT_PROBLEMS: Final = frozenset({"pass", "notApplicable", "informational"})
_SHOWN: Final = 5


def severity_of_score(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "none"


@dataclass(frozen=True)
class Finding:
    run: int
    rule_id: str
    severity: str
    basis: str  # "security-severity 8.8" or "level error"
    suppressed: bool
    location: str
    message: str

    def describe(self) -> str:
        return f"{self.rule_id} ({self.severity}, {self.basis}) at {self.location}: {self.message[:120]}"


@dataclass(frozen=True)
class SarifReport:
    path: Path
    tools: tuple[str, ...]
    findings: tuple[Finding, ...]

    def at_or_above(self, level: str) -> list[Finding]:
        """Unsuppressed findings whose severity is ``level`` or worse."""
        floor = SEVERITY_ORDER[level]
        return [f for f in self.findings if not f.suppressed and SEVERITY_ORDER[f.severity] >= floor]

    @property
    def suppressed(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed]


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(path, "the SARIF report does not exist") from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read the SARIF report: {exc.strerror or exc}") from None
    if not raw.strip():
        raise ArtifactError(path, "the SARIF report is empty")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ArtifactError(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            path, f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(document, dict):
        raise ArtifactError(path, f"the SARIF report is a JSON {type(document).__name__}, not an object")
    return document


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _location(result: dict[str, Any]) -> str:
    for location in result.get("locations") or []:
        physical = _object(_object(location).get("physicalLocation"))
        uri = _object(physical.get("artifactLocation")).get("uri")
        if uri:
            line = _object(physical.get("region")).get("startLine")
            return f"{uri}:{line}" if line else str(uri)
    return "(no location)"


class _Run:
    def __init__(self, path: Path, index: int, run: dict[str, Any]) -> None:
        self.path, self.index = path, index
        tool = _object(run.get("tool"))
        driver = tool.get("driver")
        if not isinstance(driver, dict) or not driver.get("name"):
            raise ArtifactError(path, f"runs[{index}].tool.driver.name is missing (required by SARIF 2.1.0)")
        self.tool = str(driver["name"])
        self.components = [driver] + [_object(e) for e in tool.get("extensions") or []]

    def rule(self, result: dict[str, Any], where: str) -> dict[str, Any]:
        reference = _object(result.get("rule"))
        component_index = _object(reference.get("toolComponent")).get("index", 0)
        index = reference.get("index", result.get("ruleIndex"))
        rule_id = reference.get("id", result.get("ruleId"))
        if not isinstance(component_index, int) or not 0 <= component_index < len(self.components):
            raise ArtifactError(
                self.path, f"{where}: rule.toolComponent.index {component_index!r} names no tool component"
            )
        rules = self.components[component_index].get("rules") or []
        if index is not None:
            if not isinstance(index, int) or not 0 <= index < len(rules):
                raise ArtifactError(self.path, f"{where}: ruleIndex {index!r} is outside the {len(rules)} rules")
            return _object(rules[index])
        for rule in rules:
            if _object(rule).get("id") == rule_id:
                return _object(rule)
        return {}


def _score(path: Path, where: str, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ArtifactError(path, f"{where}: security-severity {value!r} is not a number") from None


def _finding(path: Path, run: _Run, index: int, number: int, result: dict[str, Any]) -> Finding | str | None:
    """The result as a finding; ``None`` if it is not a problem; a description if it has no severity."""
    where = f"runs[{index}].results[{number}]"
    if result.get("kind", "fail") in NOT_PROBLEMS or result.get("baselineState") == "absent":
        return None
    rule = run.rule(result, where)
    rule_id = str(result.get("ruleId") or _object(result.get("rule")).get("id") or rule.get("id") or "?")
    score = _score(path, where, _object(result.get("properties")).get("security-severity"))
    if score is None:
        score = _score(path, where, _object(rule.get("properties")).get("security-severity"))
    level = result.get("level") or _object(rule.get("defaultConfiguration")).get("level")
    if level is not None and level not in LEVEL_SEVERITY:
        raise ArtifactError(path, f"{where}: level {level!r} is not one of none, note, warning, error")
    if score is not None:
        severity, basis = severity_of_score(score), f"security-severity {score:g}"
    elif level is not None:
        severity, basis = LEVEL_SEVERITY[level], f"level {level}"
    else:
        return f"{rule_id} at {_location(result)}"
    suppressions = result.get("suppressions") or []
    suppressed = any(_object(s).get("status", "accepted") == "accepted" for s in suppressions)
    message = str(_object(result.get("message")).get("text", ""))
    return Finding(index, rule_id, severity, basis, suppressed, _location(result), message)


def load_sarif(path: Path) -> SarifReport:
    """Parse a SARIF 2.1.0 log into findings with severities, or raise ArtifactError."""
    document = _load(path)
    version = document.get("version")
    if version != "2.1.0":
        raise ArtifactError(path, f"version is {version!r}: only SARIF 2.1.0 is read")
    runs = document.get("runs")
    if not isinstance(runs, list):
        raise ArtifactError(path, "runs is missing (required by SARIF 2.1.0)")
    if not runs:
        raise ArtifactError(path, "runs is empty: the report holds no analysis to judge")
    findings: list[Finding] = []
    no_severity: list[str] = []
    tools: list[str] = []
    for index, raw_run in enumerate(runs):
        run = _Run(path, index, _object(raw_run))
        tools.append(run.tool)
        for number, invocation in enumerate(_object(raw_run).get("invocations") or []):
            if _object(invocation).get("executionSuccessful") is False:
                raise ArtifactError(
                    path, f"runs[{index}].invocations[{number}].executionSuccessful is false: the scan did not complete"
                )
        results = _object(raw_run).get("results")
        if not isinstance(results, list):
            raise ArtifactError(path, f"runs[{index}].results is missing: {run.tool} reported no results at all")
        for number, raw in enumerate(results):
            finding = _finding(path, run, index, number, _object(raw))
            if isinstance(finding, str):
                no_severity.append(finding)
            elif finding is not None:
                findings.append(finding)
    if no_severity:
        more = f" (and {len(no_severity) - _SHOWN} more)" if len(no_severity) > _SHOWN else ""
        raise ArtifactError(
            path,
            f"{len(no_severity)} results carry no severity: no level on the result or its rule's "
            "defaultConfiguration, and no properties.security-severity; the gate cannot tell whether they "
            f"are at or above the blocking level: {', '.join(no_severity[:_SHOWN])}{more}",
        )
    return SarifReport(path, tuple(tools), tuple(findings))
