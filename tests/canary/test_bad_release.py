"""A bad release on an isolated sandbox (error_rate=0.2): the canary fails within the
consecutive limit plus one samples, on real traffic through the real agents service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.canary.analysis import (
    DEFAULT_QUERIES,
    Analysis,
    AnalysisConfig,
    MetricSpec,
    Outcome,
    Prometheus,
    Verdict,
    render_query,
)
from checks.canary.traffic import TrafficGenerator
from tests.sandbox.harness import SandboxHarness, isolated_sandbox

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_S = 300


@pytest.fixture
def staging() -> Iterator[SandboxHarness]:
    with isolated_sandbox("icupa-canary-test-") as box:
        for args in (("up",), ("deploy", "agents", "--version", "v0.1.0")):
            done = box.cli(*args, "--env", "staging")
            assert done.returncode == 0, done.stderr[-3000:]
        yield box


def test_a_bad_release_fails_within_the_consecutive_limit_plus_one(staging: SandboxHarness) -> None:
    assert staging.cli("fault", "set", "error_rate=0.2", "--env", "staging").returncode == 0
    box = staging.api("staging")
    endpoints = box.endpoints()
    value, count = DEFAULT_QUERIES["error_rate"]
    fill = {"tenants": "icupa-hq|icupa-qa", "lookback": "5s", "job": "agents-service"}
    spec = MetricSpec("error_rate", render_query(value, fill), render_query(count, fill), 0.01, "max", 10)
    config = AnalysisConfig(
        interval_s=1.0,
        window_s=15.0,
        initial_delay_s=2.0,
        failure_limit=5,
        consecutive_failure_limit=2,
        inconclusive_limit=2,
        min_conclusive_samples=3,
        error_retry_limit=3,
        error_retry_interval_s=0.2,
    )
    tenants = ("icupa-hq", "icupa-qa")
    with TrafficGenerator(endpoints["agents"], tenants, rps=20, max_requests=400, duration_s=20) as traffic:
        result = Analysis([spec], Prometheus(endpoints["prometheus"], 5.0), config).run()
    metric = result.metrics["error_rate"]
    assert result.verdict is Verdict.FAILED, result.to_dict()
    assert not result.completed
    assert traffic.stats.statuses["/agents/chat 500"] > 0
    outcomes = [sample.outcome for sample in metric.samples]
    first_bad = outcomes.index(Outcome.FAIL)
    assert len(outcomes) - first_bad <= config.consecutive_failure_limit + 1, outcomes
    assert outcomes[-1] is Outcome.FAIL
    assert metric.samples[-1].value is not None
    assert metric.samples[-1].value > 0.1
