"""The canary window proven by range queries on a real Prometheus (checks.promotion.evaluate_window)."""

from __future__ import annotations

import time

import pytest

from checks.canary.analysis import AnalysisConfig, MetricSpec, Prometheus
from checks.promotion import PromotionError, evaluate_window
from tests.production.conftest import CLOSED_PORT

CONFIG = AnalysisConfig(interval_s=2, window_s=20, initial_delay_s=2, inconclusive_limit=2, min_conclusive_samples=5)
GOOD = "vector(0.001)"
ENOUGH = "vector(100)"


def _spec(value: str = GOOD, count: str = ENOUGH, min_requests: float = 20) -> MetricSpec:
    return MetricSpec("error_rate", value, count, 0.01, "max", min_requests)


def _between(start: float, low: float, high: float) -> str:
    """PromQL true (1) at the steps from start+low to start+high."""
    return f"(vector(time()) >= {start + low:.3f} and vector(time()) <= {start + high:.3f})"


@pytest.fixture
def start() -> float:
    """A canary that began two minutes ago, on a whole second (steps land on whole seconds)."""
    return float(int(time.time()) - 120)


def _evaluate(url: str, spec: MetricSpec, start: float, **options: object) -> str:
    result = evaluate_window(Prometheus(url, 5.0), [spec], CONFIG, start, **options)  # type: ignore[arg-type]
    window = result.metrics["error_rate"]
    assert not result.passed
    return window.reason


def test_a_stable_window_passes_at_every_step(prometheus_url: str, start: float) -> None:
    result = evaluate_window(Prometheus(prometheus_url, 5.0), [_spec()], CONFIG, start)
    window = result.metrics["error_rate"]
    assert result.passed, window.reason
    assert [step.at - start for step in window.steps] == [float(s) for s in range(2, 21, 2)]
    assert {step.outcome for step in window.steps} == {"pass"}
    assert window.to_dict()["steps"][0]["requests"] == 100


def test_one_failing_step_fails_the_window(prometheus_url: str, start: float) -> None:
    value = f"(vector(0.5) and on() {_between(start, 10, 10)}) or vector(0.001)"
    reason = _evaluate(prometheus_url, _spec(value), start)
    assert reason.startswith("1 of 10 steps did not pass"), reason
    assert "breaks <= 0.01" in reason


def test_a_gap_in_the_data_fails(prometheus_url: str, start: float) -> None:
    value = f"vector(0.001) unless on() {_between(start, 8, 16)}"
    reason = _evaluate(prometheus_url, _spec(value), start)
    assert reason.startswith("a gap of 10s without data"), reason


def test_a_short_gap_is_only_inconclusive(prometheus_url: str, start: float) -> None:
    value = f"vector(0.001) unless on() {_between(start, 8, 8)}"
    result = evaluate_window(Prometheus(prometheus_url, 5.0), [_spec(value)], CONFIG, start)
    window = result.metrics["error_rate"]
    assert result.passed, window.reason
    assert window.count("inconclusive") == 1


def test_no_data_at_all_fails(prometheus_url: str, start: float) -> None:
    reason = _evaluate(prometheus_url, _spec("absent(vector(1))"), start)
    assert reason.startswith("no data at any of the 10 steps"), reason


def test_nan_over_real_traffic_is_a_broken_query(prometheus_url: str, start: float) -> None:
    reason = _evaluate(prometheus_url, _spec("vector(0) / vector(0)"), start)
    assert "nan over 100 requests: the query is broken" in reason, reason


def test_nan_without_traffic_is_inconclusive_never_a_pass(prometheus_url: str, start: float) -> None:
    reason = _evaluate(prometheus_url, _spec("vector(0) / vector(0)", count="vector(0)"), start)
    assert reason.startswith("10 inconclusive steps (limit 2)"), reason
    assert "nan" in reason


def test_too_few_requests_is_inconclusive(prometheus_url: str, start: float) -> None:
    reason = _evaluate(prometheus_url, _spec(count="vector(3)"), start)
    assert reason == "10 inconclusive steps (limit 2); last: too little traffic: 3 requests < minimum 20", reason


def test_too_few_conclusive_steps_fails(prometheus_url: str, start: float) -> None:
    count = f"(vector(100) and on() {_between(start, 2, 8)}) or vector(1)"
    config = AnalysisConfig(
        interval_s=2, window_s=20, initial_delay_s=2, inconclusive_limit=10, min_conclusive_samples=5
    )
    result = evaluate_window(Prometheus(prometheus_url, 5.0), [_spec(count=count)], config, start)
    reason = result.metrics["error_rate"].reason
    assert not result.passed
    assert reason == "only 4 conclusive steps (minimum 5)", reason


def test_a_window_not_over_yet_is_refused(prometheus_url: str) -> None:
    began = time.time() - 5
    with pytest.raises(PromotionError, match=r"is not over: it ends in 1[45]s; promote once it is complete"):
        evaluate_window(Prometheus(prometheus_url, 5.0), [_spec()], CONFIG, began)


def test_a_start_in_the_future_is_clock_skew(prometheus_url: str) -> None:
    with pytest.raises(PromotionError, match=r"s in the future: a clock is skewed"):
        evaluate_window(Prometheus(prometheus_url, 5.0), [_spec()], CONFIG, time.time() + 600)


def test_prometheus_clock_skew_is_refused(prometheus_url: str, start: float) -> None:
    def ahead() -> float:
        return time.time() + 3600

    with pytest.raises(PromotionError, match=r"its clock is -3600s off ours \(limit 30s\): the range would be skewed"):
        evaluate_window(Prometheus(prometheus_url, 5.0), [_spec()], CONFIG, start + 3600, now=ahead)


def test_prometheus_down_is_an_error(start: float) -> None:
    url = f"http://127.0.0.1:{CLOSED_PORT}"
    with pytest.raises(PromotionError, match=rf"the staging Prometheus at {url}: Prometheus at {url} did not answer"):
        evaluate_window(Prometheus(url, 2.0), [_spec()], CONFIG, start)


def test_a_query_giving_several_series_is_an_error(prometheus_url: str, start: float) -> None:
    value = 'vector(0.001) or label_replace(vector(0.002), "tenant", "x", "", "")'
    with pytest.raises(PromotionError, match="error_rate: the range query gave 2 series"):
        evaluate_window(Prometheus(prometheus_url, 5.0), [_spec(value)], CONFIG, start)
