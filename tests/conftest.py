"""The project's own tests: pytester runs of the engine, and unit tests of its parts."""

from __future__ import annotations

pytest_plugins = ["pytester"]
