"""One canary analysis over a window, with the configured synthetic traffic, shown as it runs.

The staging canary (``checks/test_canary.py``), each rollout stage (``checks/test_rollout.py``)
and the post-release alert watch (``checks/test_post_release.py``) all watch the same SLOs the
same way; only the tenants, the window and the label of the progress lines differ.
"""

from __future__ import annotations

from typing import Any

import pytest

from checks.canary.analysis import (
    Analysis,
    AnalysisResult,
    CanarySettings,
    MetricResult,
    Prometheus,
    Sample,
    progress_line,
)
from checks.canary.traffic import TrafficError, TrafficGenerator

# The traffic runs a little longer than the window, so the last sample's lookback is full.
TRAFFIC_SLACK_S = 5.0


def say(config: pytest.Config, line: str) -> None:
    """A progress line on the terminal while a window runs, past output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def watch(
    config: pytest.Config,
    label: str,
    canary: CanarySettings,
    *,
    prometheus_url: str,
    agents_url: str,
    tenants: tuple[str, ...] | list[str],
) -> tuple[AnalysisResult, dict[str, Any] | None]:
    """Run the analysis of ``canary`` for its window, with synthetic traffic for ``tenants``
    when the settings ask for it; progress lines start with ``label``. Returns the result
    and the traffic's statistics (None without traffic). A traffic generator that cannot
    start fails the test."""
    window = canary.analysis.window_s

    def show(sample: Sample, metric: MetricResult) -> None:
        say(config, f"{label}: " + progress_line(sample, metric, window))

    say(
        config,
        f"{label}: {', '.join(tenants)}; sampling every {canary.analysis.interval_s:g}s for {window:g}s "
        f"from {prometheus_url}",
    )
    analysis = Analysis(canary.metrics, Prometheus(prometheus_url, canary.query_timeout_s), canary.analysis, show)
    if canary.traffic is None:
        return analysis.run(), None
    plan = canary.traffic
    try:
        generator = TrafficGenerator(
            agents_url,
            tuple(tenants),
            rps=plan.rps,
            max_requests=plan.max_requests,
            duration_s=window + TRAFFIC_SLACK_S,
            payment_share=plan.payment_share,
            timeout_s=plan.timeout_s,
        )
    except TrafficError as exc:
        pytest.fail(f"{label} traffic: {exc}", pytrace=False)
    with generator:
        result = analysis.run()
    return result, generator.stats.to_dict()
