"""Fixtures of the Lighthouse gate suite.

The platform and its ``platform_up`` action live in ``checks/conftest.py``, which pytest only
applies to tests under ``checks/``; importing them here makes them visible to ``lighthouse/``
too (the same fixture objects, so ``platform_up`` still runs once per release run).
"""

from __future__ import annotations

from checks.conftest import platform, platform_up  # noqa: F401 - re-exported fixtures
