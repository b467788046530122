"""Where a target keeps its artifacts, and how its coverage is judged: ``release.toml``'s
``[targets.<t>.checks.artifacts]`` and ``[targets.<t>.checks.coverage]``.

The engine keeps ``target.checks`` opaque; this module validates the two tables strictly
(unknown keys and wrong types are errors naming the key and the file) and resolves their
paths. Path values are templates like action argv: ``{root}``, ``{run_dir}``, ``{version}``,
the target's ``[vars]`` (``{repo}``) and ``${ENV}`` references. A relative path is taken
from the rootdir, except the ones documented as relative to the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from checks.artifacts import validation_problem
from checks.artifacts.audit import Severity
from checks.artifacts.coverage import COVERAGE_FORMATS, CoverageFormat, FigureName
from plugin.actions import ActionSpec, template_variables
from plugin.runtime import Runtime
from plugin.settings import Settings
from plugin.templating import TemplateError, render

__all__ = ["ArtifactPaths", "ArtifactSettings", "ArtifactSettingsError", "from_target", "variables"]

_Text = Annotated[str, Field(min_length=1)]
_VARIABLES_SPEC: Final = ActionSpec(name="checks.artifacts", unit=None, mutating=False)


class ArtifactSettingsError(Exception):
    """The target's artifact settings are unusable; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ArtifactsTable(_Strict):
    """``[targets.<t>.checks.artifacts]``."""

    workspace: _Text
    """The pnpm workspace the validate commands run in."""
    archive_dir: _Text = "artifacts"
    """Kept artifacts go to ``<archive_dir>/<kind>/`` (``coverage``, ``sbom``)."""
    eslint_report: _Text
    """The JSON report the ``pnpm_lint`` action writes (``eslint -f json``)."""
    web_dist: _Text = "apps/web/dist"
    """The web build's output folder, relative to the workspace."""
    web_build_env: Annotated[list[_Text], Field(min_length=1)] = [
        "RELEASE_VERSION",
        "VITE_AGENTS_URL",
        "VITE_FUNCTIONS_URL",
    ]
    """Variables the ``web_build`` action must set itself (its ``env`` table)."""
    web_version_file: _Text | None = None
    """A file the build writes with the version and endpoints it was built with (relative to the workspace)."""
    audit_report: _Text
    """``pnpm audit --json`` (or npm's) report."""
    audit_recorded: bool = False
    """The audit report was recorded, not produced in this run; said so in every message."""
    audit_level: Severity = "high"
    """``--audit-level``: advisories at this severity or worse block the release."""
    gitleaks_report: _Text | None = None
    gitleaks_recorded: bool = False
    detect_secrets_root: _Text | None = None
    """A folder to scan with detect-secrets."""
    detect_secrets_exclude: list[_Text] = ["node_modules", "dist", "coverage", ".turbo"]
    """Folder names skipped wherever they are (build output and installed packages)."""
    detect_secrets_baseline: _Text | None = None
    """A ``.secrets.baseline`` whose entries audited as not secret are accepted."""
    sbom_files: Annotated[list[_Text], Field(min_length=1)]
    """The SBOMs the pre-release step generates and the CI run attaches."""

    @model_validator(mode="after")
    def _some_secret_scan(self) -> ArtifactsTable:
        if self.gitleaks_report is None and self.detect_secrets_root is None:
            raise ValueError("give gitleaks_report, detect_secrets_root or both: the secret scan needs one")
        return self


class CoverageTable(_Strict):
    """``[targets.<t>.checks.coverage]``; the threshold is ``thresholds.coverage_min_percent``."""

    format: CoverageFormat
    figure: FigureName = "both"
    """Which figure must reach the threshold; both are always shown."""
    packages: Annotated[list[_Text], Field(min_length=1)]
    """Workspace packages (folders relative to the workspace) whose coverage counts."""
    report_dir: _Text = "coverage"
    """Each package's coverage folder."""
    report_name: _Text | None = None
    """The report's file name; default: the istanbul reporters' name for the format."""

    @property
    def file_name(self) -> str:
        return self.report_name or COVERAGE_FORMATS[self.format][1]


_Table = TypeVar("_Table", ArtifactsTable, CoverageTable)


@dataclass(frozen=True, slots=True)
class ArtifactPaths:
    """Every path of :class:`ArtifactsTable` and the coverage reports, resolved for one run."""

    workspace: Path
    archive_dir: Path
    eslint_report: Path
    web_dist: Path
    web_version_file: Path | None
    audit_report: Path
    gitleaks_report: Path | None
    detect_secrets_root: Path | None
    detect_secrets_baseline: Path | None
    sbom_files: tuple[Path, ...]
    coverage_dirs: tuple[tuple[str, Path], ...]  # (package, its coverage folder)


@dataclass(frozen=True, slots=True)
class ArtifactSettings:
    artifacts: ArtifactsTable
    coverage: CoverageTable
    coverage_min_percent: float
    rootdir: Path
    where: str  # "<release.toml>: targets.<t>.checks", for messages

    def resolve(self, names: Mapping[str, str], environ: Mapping[str, str] | None = None) -> ArtifactPaths:
        """Fill the templates with ``names`` (see :func:`variables`) and ``environ``; relative paths are
        taken from the rootdir (the workspace for workspace-relative keys)."""
        env = os.environ if environ is None else environ
        table = self.artifacts

        def path(key: str, value: str, base: Path | None = None) -> Path:
            try:
                filled = Path(render(value, names, env))
            except TemplateError as exc:
                raise ArtifactSettingsError(f"{self.where}.{key}: {exc}") from None
            return filled if filled.is_absolute() else (base or self.rootdir) / filled

        def optional(key: str, value: str | None, base: Path | None = None) -> Path | None:
            return None if value is None else path(key, value, base)

        workspace = path("artifacts.workspace", table.workspace)
        return ArtifactPaths(
            workspace=workspace,
            archive_dir=path("artifacts.archive_dir", table.archive_dir),
            eslint_report=path("artifacts.eslint_report", table.eslint_report),
            web_dist=path("artifacts.web_dist", table.web_dist, workspace),
            web_version_file=optional("artifacts.web_version_file", table.web_version_file, workspace),
            audit_report=path("artifacts.audit_report", table.audit_report),
            gitleaks_report=optional("artifacts.gitleaks_report", table.gitleaks_report),
            detect_secrets_root=optional("artifacts.detect_secrets_root", table.detect_secrets_root),
            detect_secrets_baseline=optional("artifacts.detect_secrets_baseline", table.detect_secrets_baseline),
            sbom_files=tuple(path(f"artifacts.sbom_files[{i}]", value) for i, value in enumerate(table.sbom_files)),
            coverage_dirs=tuple(
                (package, path(f"coverage.packages[{i}]", package, workspace) / self.coverage.report_dir)
                for i, package in enumerate(self.coverage.packages)
            ),
        )


def variables(runtime: Runtime) -> dict[str, str]:
    """The template variables an action of this run sees (``{root}``, ``{run_dir}``, ``{repo}`` ...)."""
    return template_variables(runtime, _VARIABLES_SPEC)


def _table(settings: Settings, name: str, model: type[_Table], where: str) -> _Table:
    assert settings.target is not None
    raw = settings.target.checks.get(name)
    if raw is None:
        raise ArtifactSettingsError(f"{where}.{name}: missing: the validate suite reads its paths from this table")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactSettingsError(validation_problem(exc, prefix=f"{where}.{name}")) from None


def from_target(settings: Settings) -> ArtifactSettings:
    """The current target's artifact and coverage settings, validated.

    Raises :class:`ArtifactSettingsError` naming ``release.toml`` and the key; the gate turns
    it into a usage error at start-up.
    """
    config = settings.config_path or settings.rootdir / "release.toml"
    where = f"{config}: targets.{settings.target_name}.checks"
    if settings.target is None:
        raise ArtifactSettingsError(f"{config}: no target {settings.target_name!r} to read checks settings from")
    return ArtifactSettings(
        artifacts=_table(settings, "artifacts", ArtifactsTable, where),
        coverage=_table(settings, "coverage", CoverageTable, where),
        coverage_min_percent=settings.target.thresholds.coverage_min_percent,
        rootdir=settings.rootdir,
        where=where,
    )
