"""``release.toml``: the release targets, validated on load.

A target names where a release goes (the embedded sandbox, or the real platform), the
argv of every deployment action, the thresholds the checks use, and which environment
variables hold secrets. Values may reference environment variables as ``${NAME}`` and
template variables as ``{name}``; see :mod:`plugin.templating`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plugin.tomlfile import read_toml, validation_lines


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_Argv = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class ActionConfig(_Strict):
    """How one declared action runs on a target: one argv, or several run in order."""

    argv: _Argv | None = None
    commands: Annotated[list[_Argv], Field(min_length=1)] | None = None
    timeout_s: Annotated[float, Field(gt=0)] = 600.0
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_form(self) -> ActionConfig:
        if (self.argv is None) == (self.commands is None):
            raise ValueError("give exactly one of argv (one command) or commands (a list of argv lists)")
        return self

    @property
    def argvs(self) -> list[list[str]]:
        return [self.argv] if self.argv is not None else list(self.commands or [])


class Thresholds(_Strict):
    """The numbers the runbook sets; every one is shown in the report header."""

    coverage_min_percent: Annotated[float, Field(ge=0, le=100)] = 80.0
    error_rate_max: Annotated[float, Field(ge=0, le=1)] = 0.01
    latency_p95_max_ms: Annotated[float, Field(gt=0)] = 350.0
    guardrail_breach_rate_max: Annotated[float, Field(ge=0, le=1)] = 0.001
    payments_success_min: Annotated[float, Field(ge=0, le=1)] = 0.99
    canary_window_s: Annotated[float, Field(gt=0)] = 12 * 3600.0
    alert_window_s: Annotated[float, Field(gt=0)] = 24 * 3600.0


class EnvironmentConfig(_Strict):
    vars: dict[str, str] = Field(default_factory=dict)


class TargetConfig(_Strict):
    description: str = ""
    auto_rollback: bool = False
    version_file: str | None = None
    secrets: list[str] = Field(default_factory=list)
    vars: dict[str, str] = Field(default_factory=dict)
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    endpoints: dict[str, str] = Field(default_factory=dict)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    actions: dict[str, ActionConfig] = Field(default_factory=dict)
    # Settings of the gate suites themselves (artifact paths, providers); the engine keeps
    # them opaque and the suite that reads a section validates it.
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ReleaseConfig(_Strict):
    default_target: str = "sandbox"
    targets: dict[str, TargetConfig] = Field(default_factory=dict)


class ConfigError(Exception):
    """``release.toml`` cannot be used; the message names the file and the key."""


def load_release_config(path: Path) -> ReleaseConfig:
    """Read and validate ``path``. Raises :class:`ConfigError` naming file and key."""
    raw = read_toml(path, ConfigError)
    try:
        return ReleaseConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(validation_lines(exc))) from None


def target_or_error(config: ReleaseConfig, name: str, source: str, path: Path) -> TargetConfig:
    target = config.targets.get(name)
    if target is None:
        valid = ", ".join(sorted(config.targets)) or "none defined"
        raise ConfigError(f"unknown release target {name!r} (from {source}); {path} defines: {valid}")
    return target
