"""Release-wide set-up for the gate suites (``checks/``, ``smoke/``, ``lighthouse/``).

The engine is the ``release_gate`` pytest plugin, loaded through its entry point once the
project is installed (``pip install -e .``). When entry points are not loaded (not
installed, or ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` is set), this file loads it instead, so
the gate suites never run without their gate.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

import pytest

from plugin.runtime import get_runtime
from plugin.settings import Settings


def _entry_point_loads_plugin() -> bool:
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.name == "release_gate" for ep in entry_points(group="pytest11"))


pytest_plugins = [] if _entry_point_loads_plugin() else ["plugin.main"]


@pytest.fixture(scope="session")
def release_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings of this release run: target, environment, version, thresholds."""
    return get_runtime(pytestconfig).settings
