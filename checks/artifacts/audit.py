"""Dependency audit reports: ``pnpm audit --json`` (pnpm 10 and pnpm 11+) and ``npm audit --json`` (v2).

The verdict comes from the advisories themselves, never from ``metadata.vulnerabilities``:
pnpm filters the advisories by ``--audit-level`` and its ignore lists but not those counts,
so a report can count a ``high`` that it no longer lists, or list one its counts miss.
The counts are kept only to be shown.

Shapes (see shared/research/artifact_gates.md §4.3-4.4):

- pnpm <= 10: ``{"actions", "advisories": {id: {...}}, "muted", "metadata"}``, the npm v6
  response passed through.
- pnpm >= 11: ``{"advisories": {id: {...}}, "metadata"}``, built locally from the registry's
  ``/advisories/bulk`` answer; no ``actions`` or ``muted``.
- npm v2: ``{"auditReportVersion": 2, "vulnerabilities": {package: {...}}, "metadata"}``, one
  entry per affected package; an advisory is a ``via`` object, a string ``via`` names another
  affected package (a "metavulnerability").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from checks.artifacts import ArtifactError, load_json, validated

__all__ = ["SEVERITIES", "Advisory", "AuditReport", "load_audit"]

SEVERITIES: Final = ("info", "low", "moderate", "high", "critical")
_RANK: Final = {name: rank for rank, name in enumerate(SEVERITIES)}

Severity = Literal["info", "low", "moderate", "high", "critical"]
AuditFormat = Literal["pnpm 10", "pnpm 11", "npm audit v2"]


def severity_rank(level: str) -> int:
    """The order of ``level`` among :data:`SEVERITIES`; an unknown level is a ``ValueError``."""
    try:
        return _RANK[level]
    except KeyError:
        raise ValueError(f"unknown audit level {level!r}; valid: {', '.join(SEVERITIES)}") from None


@dataclass(frozen=True, slots=True)
class Advisory:
    """One advisory against one package."""

    id: str
    package: str
    severity: Severity
    title: str
    url: str

    def __str__(self) -> str:
        return f"{self.severity} {self.package}: {self.title or '(no title)'} ({self.url or 'advisory ' + self.id})"


@dataclass(frozen=True, slots=True)
class AuditReport:
    path: Path
    format: AuditFormat
    advisories: tuple[Advisory, ...]
    # metadata.vulnerabilities as written: shown, never used to decide.
    summary_counts: Mapping[str, int] = field(default_factory=dict)

    def at_or_above(self, level: str) -> list[Advisory]:
        """Advisories of severity ``level`` or worse, worst first (``info < low < moderate < high < critical``)."""
        floor = severity_rank(level)
        found = [advisory for advisory in self.advisories if _RANK[advisory.severity] >= floor]
        return sorted(found, key=lambda advisory: (-_RANK[advisory.severity], advisory.package, advisory.id))

    def counts(self) -> dict[str, int]:
        """Advisories per severity, counted from the advisories themselves."""
        tally = Counter(advisory.severity for advisory in self.advisories)
        return {level: tally[level] for level in SEVERITIES}


# --- the formats, validated -------------------------------------------------------------


class _Lenient(BaseModel):
    # Tools add fields between versions; only the ones the gate reads are checked, strictly.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _Counts(_Lenient):
    info: Annotated[StrictInt, Field(ge=0)] = 0
    low: Annotated[StrictInt, Field(ge=0)]
    moderate: Annotated[StrictInt, Field(ge=0)]
    high: Annotated[StrictInt, Field(ge=0)]
    critical: Annotated[StrictInt, Field(ge=0)]


class _Metadata(_Lenient):
    vulnerabilities: _Counts


class _PnpmAdvisory(_Lenient):
    id: StrictInt
    module_name: Annotated[StrictStr, Field(min_length=1)]
    severity: Severity
    title: StrictStr = ""
    url: StrictStr = ""
    findings: list[dict[str, Any]]


class _PnpmReport(_Lenient):
    advisories: dict[str, _PnpmAdvisory]
    metadata: _Metadata


class _NpmVia(_Lenient):
    source: StrictInt
    name: Annotated[StrictStr, Field(min_length=1)]
    severity: Severity
    title: StrictStr = ""
    url: StrictStr = ""


class _NpmVulnerability(_Lenient):
    name: Annotated[StrictStr, Field(min_length=1)]
    severity: Severity
    via: list[_NpmVia | StrictStr]


class _NpmReport(_Lenient):
    auditReportVersion: Literal[2]
    vulnerabilities: dict[str, _NpmVulnerability]
    metadata: _Metadata


def _detect(path: Path, raw: Any) -> AuditFormat:
    if not isinstance(raw, dict):
        raise ArtifactError(path, f"expected a JSON object, got a {type(raw).__name__}: not an audit report")
    if "error" in raw and "advisories" not in raw and "vulnerabilities" not in raw:
        error = raw["error"]
        code = error.get("code", "") if isinstance(error, dict) else ""
        raise ArtifactError(path, f"the audit did not run: the tool reported an error {code}".rstrip())
    if "auditReportVersion" in raw:
        version = raw["auditReportVersion"]
        if version != 2:
            raise ArtifactError(path, f"npm audit report version {version!r} is not supported (only 2)")
        return "npm audit v2"
    if "advisories" in raw:
        return "pnpm 10" if "actions" in raw or "muted" in raw else "pnpm 11"
    raise ArtifactError(
        path,
        "not a pnpm or npm audit report: it has neither 'advisories' (pnpm audit --json) "
        "nor 'auditReportVersion' (npm audit --json)",
    )


def _pnpm(path: Path, raw: Any, fmt: AuditFormat) -> AuditReport:
    report = validated(_PnpmReport, raw, path)
    advisories = tuple(
        Advisory(id=str(item.id), package=item.module_name, severity=item.severity, title=item.title, url=item.url)
        for item in report.advisories.values()
    )
    return AuditReport(path, fmt, advisories, report.metadata.vulnerabilities.model_dump())


def _npm(path: Path, raw: Any) -> AuditReport:
    report = validated(_NpmReport, raw, path)
    found: dict[int, Advisory] = {}
    for key, vulnerability in report.vulnerabilities.items():
        for via in vulnerability.via:
            if isinstance(via, str):
                if via not in report.vulnerabilities:
                    raise ArtifactError(
                        path, f"vulnerabilities.{key}.via names {via!r}, which the report does not list (cut short?)"
                    )
                continue
            found.setdefault(
                via.source,
                Advisory(id=str(via.source), package=via.name, severity=via.severity, title=via.title, url=via.url),
            )
    return AuditReport(path, "npm audit v2", tuple(found.values()), report.metadata.vulnerabilities.model_dump())


def load_audit(path: Path) -> AuditReport:
    """Read an audit report, detecting its format. Raises :class:`ArtifactError` naming the file and problem."""
    raw = load_json(path)
    fmt = _detect(path, raw)
    return _npm(path, raw) if fmt == "npm audit v2" else _pnpm(path, raw, fmt)
