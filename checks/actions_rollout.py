"""The phased rollout's actions (runbook "Phased Rollout & Feature Flags"); filled in by issue 6."""

from __future__ import annotations

__all__: list[str] = []
