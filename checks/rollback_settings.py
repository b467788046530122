"""``[targets.<t>.checks.rollback]``: where the rollback log and incident records go, and how
the rollback's verify step measures. Shared by the rollback, rollout and post-release checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plugin.settings import Settings


@dataclass(frozen=True)
class RollbackSettings:
    log: Path
    incidents_dir: Path
    lighthouse_runs: int
    metrics_timeout_s: float
    metrics_min_requests: float


_DEFAULTS: dict[str, Any] = {
    "log": "docs/runbooks/rollback-log.md",
    "incidents_dir": "artifacts/incidents",
    "lighthouse_runs": 1,
    "metrics_timeout_s": 20,
    "metrics_min_requests": 10,
}


def rollback_settings(settings: Settings) -> RollbackSettings:
    """``[targets.<t>.checks.rollback]``; an unknown key or a bad value fails naming it."""
    where = f"targets.{settings.target_name}.checks.rollback"
    table = settings.target.checks.get("rollback", {}) if settings.target is not None else {}
    if not isinstance(table, dict):
        pytest.fail(f"{where} must be a table", pytrace=False)
    unknown = sorted(set(table) - set(_DEFAULTS))
    if unknown:
        pytest.fail(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_DEFAULTS)}", pytrace=False)
    merged = {**_DEFAULTS, **table}
    for key in ("log", "incidents_dir"):
        if not isinstance(merged[key], str) or not merged[key]:
            pytest.fail(f"{where}.{key}: a path, not {merged[key]!r}", pytrace=False)
    runs = merged["lighthouse_runs"]
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        pytest.fail(f"{where}.lighthouse_runs: a whole number of at least 1, not {runs!r}", pytrace=False)
    for key in ("metrics_timeout_s", "metrics_min_requests"):
        value = merged[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            pytest.fail(f"{where}.{key}: a positive number, not {value!r}", pytrace=False)
    return RollbackSettings(
        log=settings.rootdir / merged["log"],
        incidents_dir=settings.rootdir / merged["incidents_dir"],
        lighthouse_runs=runs,
        metrics_timeout_s=float(merged["metrics_timeout_s"]),
        metrics_min_requests=float(merged["metrics_min_requests"]),
    )
