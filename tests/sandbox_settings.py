"""Resolved gate settings for the sandbox target of the project's own ``release.toml``, for
unit tests of checks that read ``Settings`` without running pytest's configure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugin.config import load_release_config
from plugin.masking import Masker
from plugin.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def sandbox_settings(
    env: str,
    *,
    checks_update: dict[str, Any] | None = None,
    vars_update: dict[str, str] | None = None,
) -> Settings:
    """The sandbox target for release v0.1.0 in ``env`` (selection ``{env}``), with its
    ``checks`` tables and ``vars`` replaced key by key from the updates."""
    release = load_release_config(REPO / "release.toml")
    target = release.targets["sandbox"]
    target = target.model_copy(
        update={
            "checks": {**target.checks, **(checks_update or {})},
            "vars": {**target.vars, **(vars_update or {})},
        }
    )
    return Settings(
        plan=False,
        dry_run=False,
        target_name="sandbox",
        env=env,
        version="v0.1.0",
        version_source="test",
        selections=frozenset({env}),
        rootdir=REPO,
        state_dir=REPO / ".release-gate",
        suites=(),
        release=release,
        config_path=REPO / "release.toml",
        target=target,
        checklist=None,
        masker=Masker(()),
    )
