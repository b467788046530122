"""Fixtures of the Lighthouse gate suite.

The platform and its ``platform_up`` action live in ``checks/conftest.py``, which pytest only
applies to tests under ``checks/``, and the ``web_build`` action in
``checks/actions_validate.py``; importing them here makes them visible to ``lighthouse/`` too
(the same fixture objects, so each action still runs once per release run).
"""

from __future__ import annotations

from checks.actions_validate import web_build  # noqa: F401 - re-exported fixture
from checks.conftest import platform, platform_up  # noqa: F401 - re-exported fixtures
