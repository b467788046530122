"""Fixtures for the sandbox's own tests: real processes on loopback, each test in its own
state folder and port range, always brought down afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.harness import SandboxHarness, isolated_sandbox


@pytest.fixture
def harness() -> Iterator[SandboxHarness]:
    """An isolated sandbox (state folder, port range, stub deno); `down` in both envs after."""
    with isolated_sandbox("icupa-sandbox-test-", stub_deno=True) as made:
        yield made
