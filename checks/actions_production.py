"""The production promotion's actions (runbook "Production Deployment"); filled in by issue 6."""

from __future__ import annotations

__all__: list[str] = []
