"""The pre-release checks' settings, from the target's ``[targets.<t>.checks.*]`` tables.

The engine keeps ``target.checks`` as opaque tables; this module validates the three that
the pre-release suite reads, strictly (unknown keys are errors), and names the key and the
file in every error:

- ``[targets.<t>.checks.github]``: the GitHub REST API (or the recorded fake served on
  loopback), the repository, the token's environment variable, the S0/S1 triage rule and
  the check runs that count as the critical tests;
- ``[targets.<t>.checks.slack]``: the incoming webhook's environment variable (the URL is
  a secret and never appears in ``release.toml``) and the announcement's content;
- ``[targets.<t>.checks.release]``: the release's git checkout and commit, and where the
  changelog, SBOMs, SARIF and audit reports are, with the severity levels that block.

Path and string values may use the action templates: ``{root}``, ``{target}``, ``{env}``,
``{version}``, the target's ``[vars]`` and ``${ENV_VAR}``; they are filled on use.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.settings import Settings
from plugin.templating import TemplateError, render

Severity = Literal["critical", "high", "medium", "low"]  # SARIF / GitHub advisories
AuditSeverity = Literal["critical", "high", "moderate", "low", "info"]  # npm / pnpm audit
SEVERITY_ORDER: Final[Mapping[str, int]] = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

_Name = Annotated[str, Field(min_length=1)]
_EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TriageRule(_Strict):
    """When an S0/S1 issue counts as triaged. Every condition that is set must hold."""

    severity_labels: Annotated[list[_Name], Field(min_length=1)] = ["S0", "S1"]
    state: Literal["open", "all"] = "open"
    require_assignee: bool = True
    require_milestone: bool = False
    # At least one of these labels (empty: no label is needed).
    triaged_labels: list[_Name] = Field(default_factory=list)
    # None of these labels.
    untriaged_labels: list[_Name] = ["needs-triage"]


class GitHubSettings(_Strict):
    # owner/name; may be a template such as "${GITHUB_REPOSITORY}" (checked once filled).
    repository: _Name
    api_url: _Name = "https://api.github.com"
    # A folder of recorded answers: serve them on loopback instead of calling api_url.
    recorded: str | None = None
    token_env: _EnvName = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
    per_page: Annotated[int, Field(ge=1, le=100)] = 100
    max_pages: Annotated[int, Field(ge=1, le=1000)] = 50
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    triage: TriageRule = Field(default_factory=TriageRule)
    # Checklist part (unit, integration, playwright) -> check run names that must pass.
    critical_checks: dict[Literal["unit", "integration", "playwright"], Annotated[list[_Name], Field(min_length=1)]]
    accepted_conclusions: Annotated[list[Literal["success", "neutral", "skipped"]], Field(min_length=1)] = ["success"]
    dependabot_level: Severity = "high"


class SlackSettings(_Strict):
    webhook_env: _EnvName = "SLACK_WEBHOOK_URL"
    # Serve a loopback fake of the incoming webhook and point webhook_env at it.
    fake: bool = False
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    channel: str = "#release"
    release_window: _Name
    rollout_plan: Annotated[list[_Name], Field(min_length=1)]


class ReleaseSettings(_Strict):
    repo: _Name
    # What names the release commit in repo: a SHA, a branch or another ref.
    release_ref: _Name
    changelog: _Name = "CHANGELOG.md"
    require_annotated_tag: bool = True
    git_timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    sbom_cyclonedx: _Name = "artifacts/sbom/icupa.cdx.json"
    sbom_spdx: _Name = "artifacts/sbom/icupa.spdx.json"
    codeql_sarif: _Name
    sarif_level: Severity = "high"
    audit_report: _Name
    audit_level: AuditSeverity = "high"


class SettingsError(Exception):
    """The target's check settings cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class CheckSettings:
    """The validated sections, and how to fill their templates."""

    target: str
    source: str  # the release.toml that holds them
    rootdir: Path
    variables: Mapping[str, str]
    github: GitHubSettings | None
    slack: SlackSettings | None
    release: ReleaseSettings | None

    def require_github(self) -> GitHubSettings:
        if self.github is None:
            raise SettingsError(self._missing("github"))
        return self.github

    def require_slack(self) -> SlackSettings:
        if self.slack is None:
            raise SettingsError(self._missing("slack"))
        return self.slack

    def require_release(self) -> ReleaseSettings:
        if self.release is None:
            raise SettingsError(self._missing("release"))
        return self.release

    def _missing(self, section: str) -> str:
        return f"{self.source}: target {self.target!r} has no [targets.{self.target}.checks.{section}] table"

    def fill(self, key: str, value: str, environ: Mapping[str, str] | None = None) -> str:
        """A setting's value with its templates filled; ``key`` names it in errors."""
        try:
            return render(value, self.variables, os.environ if environ is None else environ)
        except TemplateError as exc:
            raise SettingsError(f"{self.source}: targets.{self.target}.checks.{key}: {exc}") from None

    def github_target(self) -> tuple[str, str]:
        """The API URL and ``owner/name`` repository, filled and checked."""
        github = self.require_github()
        api_url = self.fill("github.api_url", github.api_url)
        if not re.match(r"^https?://[^/]+", api_url):
            raise SettingsError(f"{self.source}: targets.{self.target}.checks.github.api_url: {api_url!r} is not a URL")
        repository = self.fill("github.repository", github.repository)
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise SettingsError(
                f"{self.source}: targets.{self.target}.checks.github.repository: {repository!r} is not owner/name"
            )
        return api_url, repository

    def path(self, key: str, value: str) -> Path:
        """A path setting, filled and made absolute (relative to the rootdir)."""
        return self.rootdir / self.fill(key, value)


_SECTIONS: Final[Mapping[str, type[BaseModel]]] = {
    "github": GitHubSettings,
    "slack": SlackSettings,
    "release": ReleaseSettings,
}


def _variables(settings: Settings) -> dict[str, str]:
    variables = {
        "python": sys.executable,
        "root": str(settings.rootdir),
        "target": settings.target_name,
        "env": settings.env or "",
        "version": settings.version or "",
    }
    target = settings.target
    if target is not None:
        variables.update(target.vars)
        if settings.env and settings.env in target.environments:
            variables.update(target.environments[settings.env].vars)
    return variables


def validate_sections(checks: Mapping[str, Mapping[str, Any]], target: str, source: str) -> dict[str, Any]:
    """Validate the sections this suite reads; others are left to their own suites."""
    found: dict[str, Any] = {}
    problems: list[str] = []
    for name, model in _SECTIONS.items():
        raw = checks.get(name)
        if raw is None:
            found[name] = None
            continue
        try:
            found[name] = model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                key = ".".join(str(part) for part in error["loc"])
                where = f"targets.{target}.checks.{name}" + (f".{key}" if key else "")
                problems.append(f"  {where}: {error['msg']}")
    if problems:
        raise SettingsError(f"{source}: invalid check settings:\n" + "\n".join(problems))
    return found


def from_target(settings: Settings) -> CheckSettings:
    """The pre-release check settings of the current target, validated."""
    source = str(settings.config_path or (settings.rootdir / "release.toml"))
    if settings.target is None:
        raise SettingsError(f"{source}: no release.toml defines target {settings.target_name!r}")
    sections = validate_sections(settings.target.checks, settings.target_name, source)
    return CheckSettings(
        target=settings.target_name,
        source=source,
        rootdir=settings.rootdir,
        variables=_variables(settings),
        github=sections["github"],
        slack=sections["slack"],
        release=sections["release"],
    )
