"""The ratio metrics judged on their sample size: a significant excess fails, a small one is inconclusive."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from checks.canary.analysis import (
    Analysis,
    AnalysisConfig,
    CanarySettingsError,
    MetricSpec,
    Outcome,
    Prometheus,
    Verdict,
    from_target,
    judge_value,
    wilson_bounds,
)
from checks.promotion import evaluate_window
from plugin.settings import Settings
from tests.canary.conftest import MetricsPage
from tests.sandbox_settings import sandbox_settings

ERRORS = MetricSpec("error_rate", "q", "c", 0.01, "max", 20, proportion=True)
BREACHES = MetricSpec("guardrail_breaches", "q", "c", 0.001, "max", 10, proportion=True)
PAYMENTS = MetricSpec("payments_success", "q", "c", 0.99, "min", 5, proportion=True)
LATENCY = MetricSpec("latency_p95", "q", "c", 0.35, "max", 20, unit="s")


def _settings(canary_update: dict[str, Any]) -> Settings:
    base = sandbox_settings("staging")
    assert base.target is not None
    canary = {**base.target.checks["canary"], **canary_update}
    return sandbox_settings("staging", checks_update={"canary": canary})


def test_one_error_in_sixty_requests_is_not_a_failure() -> None:
    outcome, message = judge_value(ERRORS, 1 / 60, 60)
    assert outcome is Outcome.INCONCLUSIVE  # past 1 %, but one error proves nothing
    assert "not significantly" in message, message
    assert "lower bound 0.001147" in message, message


def test_five_errors_in_a_hundred_requests_fail() -> None:
    outcome, message = judge_value(ERRORS, 0.05, 100)
    assert outcome is Outcome.FAIL
    assert message.startswith("0.05 breaks <= 0.01 over 100 requests (5 counted;"), message


def test_a_persistent_two_percent_error_rate_is_never_a_pass() -> None:
    outcome, _ = judge_value(ERRORS, 0.02, 100)
    assert outcome is Outcome.INCONCLUSIVE
    assert judge_value(ERRORS, 0.02, 2000)[0] is Outcome.FAIL  # with enough traffic it is proven


def test_a_rate_within_the_threshold_passes_whatever_the_sample() -> None:
    assert judge_value(ERRORS, 0.01, 20)[0] is Outcome.PASS
    assert judge_value(ERRORS, 0.0, 20)[0] is Outcome.PASS
    assert judge_value(PAYMENTS, 1.0, 5)[0] is Outcome.PASS


def test_payments_fail_on_a_significant_shortfall_only() -> None:
    assert judge_value(PAYMENTS, 0.9, 30)[0] is Outcome.FAIL  # 3 failed payments in 30
    outcome, message = judge_value(PAYMENTS, 29 / 30, 30)  # 1 failed payment in 30
    assert outcome is Outcome.INCONCLUSIVE
    assert "upper bound 0.9977" in message, message


def test_one_breach_in_seventy_chats_is_not_proof_of_a_breach_rate_above_a_tenth_of_a_percent() -> None:
    assert judge_value(BREACHES, 1 / 70, 70)[0] is Outcome.INCONCLUSIVE
    assert judge_value(BREACHES, 0.05, 70)[0] is Outcome.FAIL


def test_latency_keeps_its_plain_threshold() -> None:
    assert judge_value(LATENCY, 0.36, 20)[0] is Outcome.FAIL
    assert judge_value(LATENCY, 0.35, 20)[0] is Outcome.PASS


def test_wilson_bounds_solve_the_continuity_corrected_score_equation() -> None:
    # Newcombe (1998), method 4, two-sided 95 % (one-sided 97.5 % each): 81/263 gives 0.2535-0.3682.
    lower, upper = wilson_bounds(81 / 263, 263, 0.975)
    assert (round(lower, 4), round(upper, 4)) == (0.2535, 0.3682)
    # By definition: p - 1/(2n) - L = z sqrt(L(1-L)/n) and U - p - 1/(2n) = z sqrt(U(1-U)/n).
    z = 1.6448536269514722
    for events, n in ((1, 60), (5, 100), (1, 70), (27, 30), (400, 1000)):
        p = events / n
        lower, upper = wilson_bounds(p, n, 0.95)
        assert math.isclose(p - 1 / (2 * n) - lower, z * math.sqrt(lower * (1 - lower) / n), rel_tol=1e-9)
        assert math.isclose(upper - p - 1 / (2 * n), z * math.sqrt(upper * (1 - upper) / n), rel_tol=1e-9)
    assert wilson_bounds(0.0, 10, 0.95)[0] == 0.0
    assert wilson_bounds(1.0, 10, 0.95)[1] == 1.0
    with pytest.raises(ValueError, match="events > 0"):
        wilson_bounds(0.5, 0, 0.95)


def test_a_higher_confidence_needs_more_evidence() -> None:
    strict = MetricSpec("error_rate", "q", "c", 0.01, "max", 20, proportion=True, confidence=0.999)
    assert judge_value(ERRORS, 0.04, 100)[0] is Outcome.FAIL
    assert judge_value(strict, 0.04, 100)[0] is Outcome.INCONCLUSIVE


def test_the_confidence_comes_from_the_canary_table() -> None:
    canary = from_target(_settings({"confidence": 0.99}))
    assert {spec.name: spec.proportion for spec in canary.metrics} == {
        "error_rate": True,
        "latency_p95": False,
        "guardrail_breaches": True,
        "payments_success": True,
    }
    assert {spec.confidence for spec in canary.metrics} == {0.99}
    assert math.isclose(from_target(_settings({})).metric("error_rate").confidence, 0.95)


def test_a_confidence_out_of_range_names_its_key() -> None:
    with pytest.raises(CanarySettingsError, match=r"targets\.sandbox\.checks\.canary\.confidence: .*0\.8"):
        from_target(_settings({"confidence": 0.5}))


def test_a_persistent_small_excess_ends_the_analysis_inconclusive(
    prometheus_url: str, metrics_page: tuple[MetricsPage, int]
) -> None:
    page, _ = metrics_page
    page.set("canary_small_excess_value", repr(1 / 60))
    page.set("canary_small_excess_count", "60")
    deadline = time.monotonic() + 10
    prometheus = Prometheus(prometheus_url, 5.0)
    while prometheus.query("sum(canary_small_excess_count)") is None:
        assert time.monotonic() < deadline, "never scraped"
        time.sleep(0.2)
    config = AnalysisConfig(interval_s=0.5, window_s=2.0, inconclusive_limit=1, min_conclusive_samples=3)
    spec = MetricSpec(
        "error_rate",
        "sum(canary_small_excess_value)",
        "sum(canary_small_excess_count)",
        0.01,
        "max",
        20,
        proportion=True,
    )
    result = Analysis([spec], prometheus, config).run()
    metric = result.metrics["error_rate"]
    assert result.verdict is Verdict.INCONCLUSIVE  # never PASSED, never FAILED
    assert {sample.outcome for sample in metric.samples} == {Outcome.INCONCLUSIVE}
    assert "past <= 0.01 but not significantly" in metric.reason, metric.reason

    start = float(int(time.time()) - 60)
    window = AnalysisConfig(interval_s=2, window_s=20, initial_delay_s=2, inconclusive_limit=2)
    steps = MetricSpec("error_rate", "vector(1/60)", "vector(60)", 0.01, "max", 20, proportion=True)
    promotion = evaluate_window(prometheus, [steps], window, start)
    judged = promotion.metrics["error_rate"]
    assert not promotion.passed
    assert judged.count("inconclusive") == 10
    assert judged.count("fail") == 0
    assert judged.reason.startswith("10 inconclusive steps (limit 2); last: 0.01667 is past <= 0.01"), judged.reason
