"""The sampler's four outcomes against a real Prometheus scraping a metrics server we control."""

from __future__ import annotations

import time

import httpx

from checks.canary.analysis import (
    Analysis,
    AnalysisConfig,
    MetricSpec,
    Outcome,
    Prometheus,
    Verdict,
    progress_line,
    write_report,
)
from tests.canary.conftest import MetricsPage, free_port

FAST = AnalysisConfig(
    interval_s=0.5,
    window_s=2.0,
    initial_delay_s=0.0,
    failure_limit=3,
    consecutive_failure_limit=2,
    inconclusive_limit=1,
    min_conclusive_samples=3,
    error_retry_limit=3,
    error_retry_interval_s=0.1,
)


def _spec(name: str, value: str, count: str, *, threshold: float = 0.01, min_requests: float = 100) -> MetricSpec:
    return MetricSpec(name, value, count, threshold, "max", min_requests)


def _scraped(url: str, name: str) -> None:
    """Wait until Prometheus has the series (1 s scrapes)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": name}, timeout=2.0).json()
        if answer["data"]["result"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} was never scraped")


def _expose(page: tuple[MetricsPage, int], url: str, **series: str) -> None:
    for name, value in series.items():
        page[0].set(name, value)
    for name in series:
        _scraped(url, name)


def test_a_healthy_metric_passes_over_the_whole_window(
    prometheus_url: str, metrics_page: tuple[MetricsPage, int]
) -> None:
    _expose(metrics_page, prometheus_url, canary_ok_value="0.001", canary_ok_count="500")
    lines: list[str] = []
    analysis = Analysis(
        [_spec("ok", "sum(canary_ok_value)", "sum(canary_ok_count)")],
        Prometheus(prometheus_url, 5.0),
        FAST,
        on_sample=lambda sample, metric: lines.append(progress_line(sample, metric, FAST.window_s)),
    )
    result = analysis.run()
    assert result.verdict is Verdict.PASSED, result.to_dict()
    assert result.completed
    assert result.metrics["ok"].count(Outcome.PASS) == 5  # at 0, 0.5, 1, 1.5 and 2 s
    assert len(lines) == 5
    assert "pass" in lines[0]


def test_prometheus_down_is_an_error_never_a_pass() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = Analysis([_spec("x", "vector(0)", "vector(500)")], Prometheus(closed, 1.0), FAST).run()
    metric = result.metrics["x"]
    assert result.verdict is Verdict.ERROR
    assert not result.completed
    assert [s.outcome for s in metric.samples] == [Outcome.ERROR] * 3  # retried, then the limit
    assert [s.attempt for s in metric.samples] == [1, 2, 3]
    assert "did not answer" in metric.reason
    assert "3 query errors in a row (limit 3)" in metric.reason


def test_a_query_prometheus_refuses_is_an_error(prometheus_url: str) -> None:
    result = Analysis([_spec("bad", "sum(", "vector(500)")], Prometheus(prometheus_url, 5.0), FAST).run()
    assert result.verdict is Verdict.ERROR
    assert "refused the query" in result.metrics["bad"].reason


def test_a_query_with_no_data_is_inconclusive(prometheus_url: str) -> None:
    spec = _spec("nothing", "sum(canary_never_exported)", "sum(canary_never_exported_count)")
    result = Analysis([spec], Prometheus(prometheus_url, 5.0), FAST).run()
    metric = result.metrics["nothing"]
    assert result.verdict is Verdict.INCONCLUSIVE
    assert {s.outcome for s in metric.samples} == {Outcome.INCONCLUSIVE}
    assert "no data: the query returned no series" in metric.reason


def test_nan_is_inconclusive(prometheus_url: str, metrics_page: tuple[MetricsPage, int]) -> None:
    _expose(metrics_page, prometheus_url, canary_nan_value="NaN", canary_nan_count="500")
    spec = _spec("nan", "sum(canary_nan_value)", "sum(canary_nan_count)")
    result = Analysis([spec], Prometheus(prometheus_url, 5.0), FAST).run()
    metric = result.metrics["nan"]
    assert result.verdict is Verdict.INCONCLUSIVE
    assert all(s.raw == "nan" and s.value is None for s in metric.samples)
    assert "NaN" in metric.reason


def test_too_little_traffic_is_inconclusive(prometheus_url: str, metrics_page: tuple[MetricsPage, int]) -> None:
    _expose(metrics_page, prometheus_url, canary_quiet_value="0.5", canary_quiet_count="3")
    spec = _spec("quiet", "sum(canary_quiet_value)", "sum(canary_quiet_count)", min_requests=100)
    result = Analysis([spec], Prometheus(prometheus_url, 5.0), FAST).run()
    metric = result.metrics["quiet"]
    assert result.verdict is Verdict.INCONCLUSIVE  # a 50% error rate over 3 requests proves nothing
    assert metric.count(Outcome.FAIL) == 0
    assert "too little traffic: 3 requests < minimum 100" in metric.reason


def test_consecutive_failures_end_the_analysis_early(
    prometheus_url: str, metrics_page: tuple[MetricsPage, int], tmp_path: object
) -> None:
    _expose(metrics_page, prometheus_url, canary_bad_value="0.2", canary_good_value="0", canary_traffic_count="500")
    specs = [
        _spec("bad", "sum(canary_bad_value)", "sum(canary_traffic_count)"),
        _spec("good", "sum(canary_good_value)", "sum(canary_traffic_count)"),
    ]
    config = AnalysisConfig(**{**FAST.__dict__, "window_s": 30.0})
    began = time.monotonic()
    result = Analysis(specs, Prometheus(prometheus_url, 5.0), config).run()
    assert time.monotonic() - began < 5, "a failed metric must end the analysis at once"
    assert result.verdict is Verdict.FAILED
    assert not result.completed
    bad, good = result.metrics["bad"], result.metrics["good"]
    assert [s.outcome for s in bad.samples] == [Outcome.FAIL, Outcome.FAIL]
    assert "2 failed samples in a row (limit 2)" in bad.reason
    assert good.verdict is Verdict.INCONCLUSIVE  # never judged over the window: not a pass
    assert "not judged over the window" in good.reason


def test_the_report_keeps_every_sample(prometheus_url: str, tmp_path: object) -> None:
    import json
    from pathlib import Path

    result = Analysis(
        [_spec("nothing", "sum(canary_never)", "sum(canary_never)")], Prometheus(prometheus_url), FAST
    ).run()
    path = write_report(result, Path(str(tmp_path)) / "observability" / "canary-test.json")
    report = json.loads(path.read_text())
    samples = report["metrics"]["nothing"]["samples"]
    assert len(samples) == 5
    assert {"at", "value", "outcome", "requests", "message"} <= set(samples[0])
    assert report["verdict"] == "inconclusive"
