"""Canary analysis: the runbook's SLOs sampled from Prometheus over a window.

Settings: ``[targets.<t>.checks.canary]`` (validated strictly, unknown keys are errors)::

    flag = "ai_waiter"                 # the feature flag the canary turns on
    tenants = ["icupa-hq", "icupa-qa"] # the canary tenants (slugs)
    interval_s = 2                     # time between samples
    window_s = 20                      # default: the target's thresholds.canary_window_s
    initial_delay_s = 2                # warm-up before the first sample (inside the window)
    lookback_s = 10                    # the range each sample's rate() / increase() covers
    failure_limit = 3                  # failed samples in total that fail a metric
    consecutive_failure_limit = 2      # failed samples in a row that fail a metric
    inconclusive_limit = 2             # more inconclusive samples than this: inconclusive
    min_conclusive_samples = 3         # fewer pass/fail samples than this: inconclusive
    error_retry_limit = 3              # query errors in a row that end the analysis (error)
    error_retry_interval_s = 0.5       # a failed query is retried after this
    query_timeout_s = 5
    confidence = 0.95                  # one-sided confidence a ratio's excess needs to fail
    [targets.<t>.checks.canary.min_requests]   # the minimum sample size per metric
    error_rate = 20
    [targets.<t>.checks.canary.queries.error_rate]  # optional: replace a built-in query
    value = "..."
    count = "..."
    [targets.<t>.checks.canary.traffic]        # optional: synthetic load (loopback only)
    rps = 20

Each metric is an instant PromQL query over the Prometheus HTTP API (``/api/v1/query``)
plus a *count* query giving its sample size (requests, interactions or payments over the
lookback). Thresholds come from the target's ``[thresholds]``. Each sample is one of:

- ``pass`` / ``fail``: the value is on the right / wrong side of the threshold; for the three
  ratios (error_rate, guardrail_breaches, payments_success) a value on the wrong side fails
  only when its confidence bound is too (see ``judge_value``);
- ``inconclusive``: no data, NaN or infinity, fewer requests than ``min_requests``, or a
  ratio past its threshold by less than its sample size can tell from chance;
- ``error``: the query failed (connection, timeout, HTTP status, Prometheus error, more
  than one series). It is retried after ``error_retry_interval_s``; ``error_retry_limit``
  errors in a row end the metric as ``error``.

A metric fails as soon as ``consecutive_failure_limit`` samples in a row failed or
``failure_limit`` samples failed in total (a pass resets the run, an inconclusive sample
does not). A failed or errored metric ends the whole analysis at once; the metrics that
were still running are then inconclusive (never judged over the window). At the end of the
window a metric is inconclusive with more than ``inconclusive_limit`` inconclusive samples
or fewer than ``min_conclusive_samples`` conclusive ones, and passes otherwise. The
analysis takes the worst metric: passed < inconclusive < error < failed. Only ``passed``
is a pass.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.settings import Settings

METRICS = ("error_rate", "latency_p95", "guardrail_breaches", "payments_success")
# The metrics whose value is a share of the events their count query counts (see judge_value).
PROPORTIONS = frozenset({"error_rate", "guardrail_breaches", "payments_success"})
DEFAULT_CONFIDENCE = 0.95
_SLUG = r"^[a-z0-9][a-z0-9-]*$"

# {tenants}: a regex of the canary tenants; {lookback}: a PromQL range such as 10s; {job}:
# the agents service's scrape job. The ratios put `or vector(0)` on the numerator only, so
# no traffic at all still gives no data (an empty denominator), never a silent 0.
_NOT_PROBES = 'route!~"/metrics|/health"'
DEFAULT_QUERIES: dict[str, tuple[str, str]] = {
    "error_rate": (
        f'(sum(increase(http_requests_total{{job="{{job}}",{_NOT_PROBES},status=~"5.."}}[{{lookback}}])) or vector(0))'
        f' / sum(increase(http_requests_total{{job="{{job}}",{_NOT_PROBES}}}[{{lookback}}]))',
        f'sum(increase(http_requests_total{{job="{{job}}",{_NOT_PROBES}}}[{{lookback}}]))',
    ),
    "latency_p95": (
        "histogram_quantile(0.95, sum by (le) "
        f'(rate(http_request_duration_seconds_bucket{{job="{{job}}",{_NOT_PROBES}}}[{{lookback}}])))',
        f'sum(increase(http_request_duration_seconds_count{{job="{{job}}",{_NOT_PROBES}}}[{{lookback}}]))',
    ),
    "guardrail_breaches": (
        '(sum(increase(agent_guardrail_breaches_total{job="{job}",tenant=~"{tenants}"}[{lookback}])) or vector(0))'
        ' / sum(increase(agent_interactions_total{job="{job}",tenant=~"{tenants}"}[{lookback}]))',
        'sum(increase(agent_interactions_total{job="{job}",tenant=~"{tenants}"}[{lookback}]))',
    ),
    "payments_success": (
        '(sum(increase(payments_total{job="{job}",tenant=~"{tenants}",outcome="success"}[{lookback}])) or vector(0))'
        ' / sum(increase(payments_total{job="{job}",tenant=~"{tenants}"}[{lookback}]))',
        'sum(increase(payments_total{job="{job}",tenant=~"{tenants}"}[{lookback}]))',
    ),
}


class CanarySettingsError(Exception):
    """``[targets.<t>.checks.canary]`` is missing or invalid; the message names the key."""


class Outcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


class Verdict(StrEnum):
    PASSED = "passed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)


Direction = Literal["max", "min"]


# --- settings ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Queries(_Strict):
    value: Annotated[str, Field(min_length=1)]
    count: Annotated[str, Field(min_length=1)]


class _Traffic(_Strict):
    rps: Annotated[float, Field(gt=0, le=200)] = 20.0
    max_requests: Annotated[int, Field(ge=1, le=100_000)] = 5_000
    payment_share: Annotated[float, Field(ge=0, le=1)] = 0.3
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0


class _Canary(_Strict):
    flag: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    tenants: Annotated[list[Annotated[str, Field(pattern=_SLUG)]], Field(min_length=1)]
    interval_s: Annotated[float, Field(gt=0)] = 60.0
    window_s: Annotated[float, Field(gt=0)] | None = None
    initial_delay_s: Annotated[float, Field(ge=0)] = 0.0
    lookback_s: Annotated[float, Field(gt=0)] = 300.0
    failure_limit: Annotated[int, Field(ge=1)] = 3
    consecutive_failure_limit: Annotated[int, Field(ge=1)] = 2
    inconclusive_limit: Annotated[int, Field(ge=0)] = 2
    min_conclusive_samples: Annotated[int, Field(ge=1)] = 3
    error_retry_limit: Annotated[int, Field(ge=1)] = 4
    error_retry_interval_s: Annotated[float, Field(gt=0)] = 10.0
    query_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    confidence: Annotated[float, Field(ge=0.8, le=0.999)] = DEFAULT_CONFIDENCE
    agents_job: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "agents-service"
    functions_job: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "edge-functions"
    min_requests: dict[Literal["error_rate", "latency_p95", "guardrail_breaches", "payments_success"], float] = Field(
        default_factory=dict
    )
    queries: dict[Literal["error_rate", "latency_p95", "guardrail_breaches", "payments_success"], _Queries] = Field(
        default_factory=dict
    )
    traffic: _Traffic | None = None


@dataclass(frozen=True)
class MetricSpec:
    """One SLO: a value query, its sample-size query, a threshold and a direction."""

    name: str
    query: str
    count_query: str
    threshold: float
    direction: Direction  # max: the value must stay <= threshold; min: >= threshold
    min_requests: float
    unit: str = ""  # "" for a ratio, "s" for seconds
    # True when the value is a share of the events the count query counts (errors among
    # requests, breaches among chats, successes among payments): judged with a confidence bound.
    proportion: bool = False
    confidence: float = DEFAULT_CONFIDENCE  # one-sided, for proportions only

    def passes(self, value: float) -> bool:
        """The observed value is within the threshold (no statistics: see ``judge_value``)."""
        return value <= self.threshold if self.direction == "max" else value >= self.threshold

    def rule(self) -> str:
        return f"{'<=' if self.direction == 'max' else '>='} {self.threshold:g}{self.unit}"


@dataclass(frozen=True)
class AnalysisConfig:
    interval_s: float
    window_s: float
    initial_delay_s: float = 0.0
    failure_limit: int = 3
    consecutive_failure_limit: int = 2
    inconclusive_limit: int = 2
    min_conclusive_samples: int = 3
    error_retry_limit: int = 4
    error_retry_interval_s: float = 1.0


@dataclass(frozen=True)
class TrafficSettings:
    rps: float
    max_requests: int
    payment_share: float
    timeout_s: float


@dataclass(frozen=True)
class CanarySettings:
    flag: str
    tenants: tuple[str, ...]
    analysis: AnalysisConfig
    metrics: tuple[MetricSpec, ...]
    query_timeout_s: float
    agents_job: str
    functions_job: str
    traffic: TrafficSettings | None

    def metric(self, name: str) -> MetricSpec:
        return next(spec for spec in self.metrics if spec.name == name)


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}.{key}: {error['msg']}")
    return "; ".join(lines)


def from_target(settings: Settings) -> CanarySettings:
    """The canary settings of the current target; CanarySettingsError names what is wrong."""
    target = settings.target
    where = f"targets.{settings.target_name}.checks.canary"
    if target is None or "canary" not in target.checks:
        raise CanarySettingsError(f"release.toml has no [{where}] table: the canary has nothing to watch")
    try:
        model = _Canary.model_validate(target.checks["canary"])
    except ValidationError as exc:
        raise CanarySettingsError(_format_errors(exc, where)) from None
    for key, value in (("canary_flag", model.flag), ("canary_tenants", ",".join(model.tenants))):
        if key in target.vars and target.vars[key] != value:
            raise CanarySettingsError(
                f"targets.{settings.target_name}.vars.{key} = {target.vars[key]!r} but {where} says {value!r}: "
                "the flags action and the canary analysis must name the same flag and tenants"
            )
    thresholds = target.thresholds
    limits: dict[str, tuple[float, Direction, str]] = {
        "error_rate": (thresholds.error_rate_max, "max", ""),
        "latency_p95": (thresholds.latency_p95_max_ms / 1000.0, "max", "s"),
        "guardrail_breaches": (thresholds.guardrail_breach_rate_max, "max", ""),
        "payments_success": (thresholds.payments_success_min, "min", ""),
    }
    fill = {"tenants": "|".join(model.tenants), "lookback": f"{model.lookback_s:g}s", "job": model.agents_job}
    minimums: dict[str, float] = {str(key): value for key, value in model.min_requests.items()}
    metrics = []
    for name in METRICS:
        value, count = DEFAULT_QUERIES[name]
        if name in model.queries:
            value, count = model.queries[name].value, model.queries[name].count
        threshold, direction, unit = limits[name]
        metrics.append(
            MetricSpec(
                name=name,
                query=render_query(value, fill),
                count_query=render_query(count, fill),
                threshold=threshold,
                direction=direction,
                min_requests=minimums.get(name, 1.0),
                unit=unit,
                proportion=name in PROPORTIONS,
                confidence=model.confidence,
            )
        )
    analysis = AnalysisConfig(
        interval_s=model.interval_s,
        window_s=model.window_s if model.window_s is not None else thresholds.canary_window_s,
        initial_delay_s=model.initial_delay_s,
        failure_limit=model.failure_limit,
        consecutive_failure_limit=model.consecutive_failure_limit,
        inconclusive_limit=model.inconclusive_limit,
        min_conclusive_samples=model.min_conclusive_samples,
        error_retry_limit=model.error_retry_limit,
        error_retry_interval_s=model.error_retry_interval_s,
    )
    if analysis.initial_delay_s >= analysis.window_s:
        raise CanarySettingsError(f"{where}.initial_delay_s must be shorter than the window ({analysis.window_s:g}s)")
    traffic = None
    if model.traffic is not None:
        traffic = TrafficSettings(
            model.traffic.rps, model.traffic.max_requests, model.traffic.payment_share, model.traffic.timeout_s
        )
    return CanarySettings(
        flag=model.flag,
        tenants=tuple(model.tenants),
        analysis=analysis,
        metrics=tuple(metrics),
        query_timeout_s=model.query_timeout_s,
        agents_job=model.agents_job,
        functions_job=model.functions_job,
        traffic=traffic,
    )


def render_query(template: str, values: Mapping[str, str]) -> str:
    # Only the three names; PromQL's own braces ({job="x"}) are left alone.
    return re.sub(r"\{(tenants|lookback|job)\}", lambda match: values[match.group(1)], template)


# --- judging one value ------------------------------------------------------------------


def wilson_bounds(ratio: float, events: float, confidence: float) -> tuple[float, float]:
    """One-sided Wilson score bounds, with continuity correction, of a proportion.

    ``ratio`` is the observed share (0..1) of ``events`` trials; each bound alone holds with
    ``confidence``. The form is Newcombe's (1998, method 4). Without the correction the lower
    bound is too high when few events are seen: for 1 breach in 70 chats it gives 0.32 %
    against an exact (Clopper-Pearson) 0.073 %, so one breach would "prove" a breach rate above
    the 0.1 % limit although a 0.1 % process gives at least one breach in 70 chats 6.8 % of the
    time; with it the bound is 0.098 %. ``events`` need not be whole: Prometheus' increase()
    extrapolates.
    """
    if not 0.0 <= ratio <= 1.0 or events <= 0:
        raise ValueError(f"a proportion needs a share in 0..1 and events > 0, not {ratio!r} of {events!r}")
    z = NormalDist().inv_cdf(confidence)
    n, p, q = events, ratio, 1.0 - ratio
    denominator = 2.0 * (n + z * z)
    lower, upper = 0.0, 1.0
    if p > 0.0:
        spread = z * math.sqrt(max(0.0, z * z - 2.0 - 1.0 / n + 4.0 * p * (n * q + 1.0)))
        lower = max(0.0, (2.0 * n * p + z * z - 1.0 - spread) / denominator)
    if p < 1.0:
        spread = z * math.sqrt(max(0.0, z * z + 2.0 - 1.0 / n + 4.0 * p * (n * q - 1.0)))
        upper = min(1.0, (2.0 * n * p + z * z + 1.0 + spread) / denominator)
    return lower, upper


def judge_value(spec: MetricSpec, value: float, requests: float) -> tuple[Outcome, str]:
    """One finite value over at least ``min_requests`` requests: pass, fail or inconclusive.

    A value within the threshold passes. Past it, a plain metric (the latency P95) fails. A
    proportion (``spec.proportion``: error_rate and guardrail_breaches with a maximum,
    payments_success with a minimum) fails only when the excess is statistically significant:
    its one-sided ``spec.confidence`` Wilson bound (``wilson_bounds``: the lower bound for a
    maximum, the upper for a minimum) is past the threshold as well. The number of events
    behind it is the count query's value (requests, chats or payments over the lookback); a
    query replaced in ``[...canary.queries]`` must keep that meaning.

    Why: the sandbox samples a 5 s lookback of 20 requests/s, 60-100 requests. Against a 1 %
    error rate one single 500 is 1.7 % of 60 requests, and a 5 s lookback sampled every 2 s
    holds it in two or three samples in a row: a plain threshold failed 3 of 16 good releases
    with 0.2 % background errors (benchmarks/README.md). With this rule, at 95 %:

    - 1 error in 60 requests: lower bound 0.11 %, within 1 %: not a failure;
    - 5 errors in 100 requests (a 5 % fault): lower bound 2.1 %, past 1 %: the sample fails,
      and the second such sample in a row ends the analysis, as before;
    - 3 failed payments in 30 (a 10 % fault): upper bound 96.9 % < 99 %: fails; 1 failed
      payment in 30: upper bound 99.8 %, not a failure.

    A value past its threshold whose bound is not is **inconclusive**, not a pass with a note.
    A pass would let a persistent small excess through: a real 2 % error rate over 100
    requests per sample has a lower bound of 0.43 % in every sample, so with passes the
    release would end PASSED at twice its SLO, on evidence that never supported it. As
    inconclusive, such samples exceed ``inconclusive_limit`` and the analysis ends
    inconclusive, which blocks the gate and asks a human (or more traffic) to decide, while
    a single stray event is inconclusive only in the samples whose lookback holds it (at
    most ceil(lookback_s / interval_s), 3 in the sandbox), which ``inconclusive_limit`` must
    allow for a release with rare background errors to pass. The alternatives, as the
    research notes (/work/shared/research/progressive_delivery.md) record them: Argo Rollouts
    calls a measurement that meets neither its success nor its failure condition
    inconclusive, and an inconclusive run pauses the rollout for a human rather than promoting
    it; Flagger counts every check that is not a pass (even "no values found") as a failed
    check, which is how small samples give false rollbacks; Keptn's third level (warning) can
    require a manual approval; Kayenta is the only one that judges statistically (a
    Mann-Whitney U test at a configurable 98 % confidence, against a baseline rather than a
    fixed threshold). Here the confidence is ``confidence`` in ``[targets.<t>.checks.canary]``
    (default 0.95, within 0.8..0.999): a higher one needs a larger excess or more traffic to
    fail, and so leaves more samples inconclusive.

    The latency P95 keeps its plain threshold. It is not a share of events with a count
    behind it but a quantile that ``histogram_quantile`` interpolates from buckets, and a
    quantile is already robust to outliers: one slow request in the 20 that ``min_requests``
    demands cannot lift the P95 (it takes more than 5 % of the sample), whereas one error
    against a 1 % limit moves the error rate past it; and a latency fault slows every request,
    so when the P95 is past the threshold it is not chance.

    Prometheus' increase() extrapolates a lookback's first and last scrapes to its edges, so
    events and requests are both scaled up by about lookback / scraped span (1.25 for a 5 s
    lookback with 1 s scrapes), which makes the bound a little narrower than whole counts
    would; the correction above more than makes up for it at these sizes.
    """
    shown = f"{value:.4g}{spec.unit}"
    if spec.passes(value):
        return Outcome.PASS, f"{shown} (must be {spec.rule()}) over {requests:.0f} requests"
    if not spec.proportion:
        return Outcome.FAIL, f"{shown} breaks {spec.rule()} over {requests:.0f} requests"
    share = min(1.0, max(0.0, value))
    lower, upper = wilson_bounds(share, requests, spec.confidence)
    side, bound = ("lower", lower) if spec.direction == "max" else ("upper", upper)
    misses = share if spec.direction == "max" else 1.0 - share
    evidence = (
        f"over {requests:.0f} requests ({misses * requests:.3g} {'counted' if spec.direction == 'max' else 'missed'}; "
        f"one-sided {spec.confidence:.3g} {side} bound {bound:.4g})"
    )
    if not spec.passes(bound):
        return Outcome.FAIL, f"{shown} breaks {spec.rule()} {evidence}"
    return Outcome.INCONCLUSIVE, f"{shown} is past {spec.rule()} but not significantly {evidence}"


# --- Prometheus -------------------------------------------------------------------------


class QueryError(Exception):
    """The query could not be answered: the message says why (never a value)."""


class Prometheus:
    """Instant queries over the Prometheus HTTP API, each under a timeout."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout_s)

    def _data(self, endpoint: str, params: dict[str, str], what: str) -> tuple[Any, Any]:
        """``resultType`` and ``result`` of a successful answer of ``/api/v1/<endpoint>``."""
        try:
            response = httpx.get(f"{self.base_url}/api/v1/{endpoint}", params=params, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise QueryError(f"Prometheus at {self.base_url} did not answer: {type(exc).__name__}: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            raise QueryError(f"Prometheus answered HTTP {response.status_code} with no JSON") from None
        if not isinstance(payload, dict) or payload.get("status") != "success":
            detail = payload.get("error", "") if isinstance(payload, dict) else ""
            kind = payload.get("errorType", "") if isinstance(payload, dict) else ""
            raise QueryError(f"Prometheus refused {what} (HTTP {response.status_code} {kind}: {detail})")
        data = payload.get("data") or {}
        return data.get("resultType"), data.get("result")

    def query(self, promql: str, at: float | None = None) -> float | None:
        """The query's single value at ``at`` (epoch seconds); None when it has no data."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        kind, result = self._data("query", params, "the query")
        if kind == "scalar" and isinstance(result, list):
            return _number(result)
        if kind != "vector" or not isinstance(result, list):
            raise QueryError(f"the query gave a {kind} result; a canary query must give one value")
        if not result:
            return None
        if len(result) > 1:
            raise QueryError(f"the query gave {len(result)} series; a canary query must aggregate them to one")
        return _number(result[0].get("value"))

    def query_range(self, promql: str, start: float, end: float, step: float) -> list[tuple[float, float]]:
        """The query's single series over [start, end] every ``step`` seconds (``/api/v1/query_range``).

        Each point is (epoch seconds, value); a step with no data has no point, and no data at
        all gives an empty list. NaN and infinities are returned as such, for the caller to judge.
        """
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        kind, result = self._data("query_range", params, "the range query")
        if kind != "matrix" or not isinstance(result, list):
            raise QueryError(f"the range query gave a {kind} result, not a matrix")
        if not result:
            return []
        if len(result) > 1:
            raise QueryError(f"the range query gave {len(result)} series; it must aggregate them to one")
        values = result[0].get("values") if isinstance(result[0], dict) else None
        if not isinstance(values, list):
            raise QueryError("malformed series in Prometheus' answer: no values")
        points = []
        for pair in values:
            if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], int | float):
                raise QueryError(f"malformed point in Prometheus' answer: {pair!r}"[:200])
            points.append((float(pair[0]), _number(pair)))
        return points

    def up(self, job: str) -> list[str]:
        """The ``up`` values of a scrape job's targets ("1" is up)."""
        try:
            response = httpx.get(
                f"{self.base_url}/api/v1/query", params={"query": f'up{{job="{job}"}}'}, timeout=self.timeout
            )
            response.raise_for_status()
            result = response.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise QueryError(f"Prometheus at {self.base_url}: up{{job={job!r}}}: {exc}") from None
        return [str(item["value"][1]) for item in result]


def _number(pair: Any) -> float:
    if not isinstance(pair, list) or len(pair) != 2:
        raise QueryError(f"malformed sample in Prometheus' answer: {pair!r}"[:200])
    try:
        return float(pair[1])  # "NaN", "+Inf" and "-Inf" parse too
    except (TypeError, ValueError):
        raise QueryError(f"not a number in Prometheus' answer: {pair[1]!r}"[:200]) from None


# --- samples and results ------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    metric: str
    tick: int  # the sampling round (0 is the first); an error retry keeps its round
    attempt: int
    at: str  # UTC, ISO 8601
    elapsed_s: float  # since the analysis began
    outcome: Outcome
    value: float | None  # None for no data, NaN or infinity (see `raw`)
    raw: str  # the value as Prometheus gave it, "" without one
    requests: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome.value}


@dataclass
class MetricResult:
    spec: MetricSpec
    samples: list[Sample] = field(default_factory=list)
    verdict: Verdict | None = None  # None while it runs
    reason: str = ""
    failures: int = 0
    consecutive_failures: int = 0
    consecutive_errors: int = 0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for sample in self.samples if sample.outcome is outcome)

    @property
    def conclusive(self) -> int:
        return self.count(Outcome.PASS) + self.count(Outcome.FAIL)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.spec.name,
            "query": self.spec.query,
            "count_query": self.spec.count_query,
            "threshold": self.spec.threshold,
            "direction": self.spec.direction,
            "rule": self.spec.rule(),
            "min_requests": self.spec.min_requests,
            # The one-sided confidence a ratio's excess needed to fail; None: a plain threshold.
            "confidence": self.spec.confidence if self.spec.proportion else None,
            "verdict": self.verdict.value if self.verdict else None,
            "reason": self.reason,
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "samples": [sample.to_dict() for sample in self.samples],
        }


@dataclass
class AnalysisResult:
    config: AnalysisConfig
    started_at: str
    metrics: dict[str, MetricResult]
    duration_s: float = 0.0
    completed: bool = False  # sampled through the end of the window, not stopped early
    stopped_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        verdicts = [m.verdict or Verdict.INCONCLUSIVE for m in self.metrics.values()]
        return max(verdicts, key=lambda verdict: verdict.rank, default=Verdict.INCONCLUSIVE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "completed": self.completed,
            "stopped_reason": self.stopped_reason,
            "config": asdict(self.config),
            "metrics": {name: result.to_dict() for name, result in self.metrics.items()},
            **self.extra,
        }


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Analysis:
    """Samples every metric each interval until the window ends or a metric fails."""

    def __init__(
        self,
        metrics: tuple[MetricSpec, ...] | list[MetricSpec],
        prometheus: Prometheus,
        config: AnalysisConfig,
        on_sample: Callable[[Sample, MetricResult], None] | None = None,
    ) -> None:
        self.metrics = list(metrics)
        self.prometheus = prometheus
        self.config = config
        self.on_sample = on_sample

    def run(self) -> AnalysisResult:
        config = self.config
        start_wall, start = time.time(), time.monotonic()
        result = AnalysisResult(config, _utc(start_wall), {spec.name: MetricResult(spec) for spec in self.metrics})
        tick = 0
        while True:
            offset = config.initial_delay_s + tick * config.interval_s
            if offset > config.window_s + 1e-6:
                result.completed = True
                break
            wait = start + offset - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for metric in result.metrics.values():
                self._sample(metric, tick, start, start_wall)
            ended = [m for m in result.metrics.values() if m.verdict in (Verdict.FAILED, Verdict.ERROR)]
            if ended:
                result.stopped_reason = "; ".join(f"{m.spec.name} {m.verdict}: {m.reason}" for m in ended)
                break
            tick += 1
        result.duration_s = time.monotonic() - start
        for metric in result.metrics.values():
            if metric.verdict is None:
                self._conclude(metric, result)
        return result

    def _sample(self, metric: MetricResult, tick: int, start: float, start_wall: float) -> None:
        config, spec = self.config, metric.spec
        attempt = 1
        while True:
            now = time.time()
            elapsed = time.monotonic() - start
            try:
                value = self.prometheus.query(spec.query, now)
                requests = self.prometheus.query(spec.count_query, now)
            except QueryError as exc:
                metric.consecutive_errors += 1
                sample = Sample(
                    spec.name, tick, attempt, _utc(now), round(elapsed, 3), Outcome.ERROR, None, "", None, str(exc)
                )
                self._record(metric, sample)
                if metric.consecutive_errors >= config.error_retry_limit:
                    metric.verdict = Verdict.ERROR
                    metric.reason = (
                        f"{metric.consecutive_errors} query errors in a row (limit {config.error_retry_limit}): {exc}"
                    )
                    return
                attempt += 1
                time.sleep(config.error_retry_interval_s)
                continue
            metric.consecutive_errors = 0
            outcome, message = self._classify(spec, value, requests)
            shown = None if value is None or not math.isfinite(value) else value
            if requests is not None and not math.isfinite(requests):
                requests = None
            raw = "" if value is None else repr(value) if not math.isfinite(value) else f"{value:g}"
            sample = Sample(
                spec.name, tick, attempt, _utc(now), round(elapsed, 3), outcome, shown, raw, requests, message
            )
            self._record(metric, sample)
            if outcome is Outcome.FAIL:
                metric.failures += 1
                metric.consecutive_failures += 1
                if metric.consecutive_failures >= config.consecutive_failure_limit:
                    metric.verdict = Verdict.FAILED
                    metric.reason = (
                        f"{metric.consecutive_failures} failed samples in a row "
                        f"(limit {config.consecutive_failure_limit}); last: {message}"
                    )
                elif metric.failures >= config.failure_limit:
                    metric.verdict = Verdict.FAILED
                    metric.reason = f"{metric.failures} failed samples (limit {config.failure_limit}); last: {message}"
            elif outcome is Outcome.PASS:
                metric.consecutive_failures = 0
            return

    @staticmethod
    def _classify(spec: MetricSpec, value: float | None, requests: float | None) -> tuple[Outcome, str]:
        if value is None:
            return Outcome.INCONCLUSIVE, "no data: the query returned no series"
        if math.isnan(value):
            return Outcome.INCONCLUSIVE, "no data: the query returned NaN"
        if math.isinf(value):
            return Outcome.INCONCLUSIVE, f"no usable value: the query returned {value}"
        count = 0.0 if requests is None or not math.isfinite(requests) else requests
        if count < spec.min_requests or count <= 0:
            return Outcome.INCONCLUSIVE, f"too little traffic: {count:.0f} requests < minimum {spec.min_requests:g}"
        return judge_value(spec, value, count)

    def _record(self, metric: MetricResult, sample: Sample) -> None:
        metric.samples.append(sample)
        if self.on_sample is not None:
            self.on_sample(sample, metric)

    def _conclude(self, metric: MetricResult, result: AnalysisResult) -> None:
        config = self.config
        inconclusive = metric.count(Outcome.INCONCLUSIVE)
        if not result.completed:
            metric.verdict = Verdict.INCONCLUSIVE
            metric.reason = (
                f"not judged over the window: the analysis stopped after {result.duration_s:.1f}s "
                f"({result.stopped_reason})"
            )
        elif inconclusive > config.inconclusive_limit:
            metric.verdict = Verdict.INCONCLUSIVE
            last = next(s.message for s in reversed(metric.samples) if s.outcome is Outcome.INCONCLUSIVE)
            metric.reason = f"{inconclusive} inconclusive samples (limit {config.inconclusive_limit}); last: {last}"
        elif metric.conclusive < config.min_conclusive_samples:
            metric.verdict = Verdict.INCONCLUSIVE
            metric.reason = f"only {metric.conclusive} conclusive samples (minimum {config.min_conclusive_samples})"
        else:
            metric.verdict = Verdict.PASSED
            metric.reason = (
                f"{metric.count(Outcome.PASS)} passed, {metric.count(Outcome.FAIL)} failed, "
                f"{inconclusive} inconclusive samples over {result.duration_s:.1f}s"
            )


def progress_line(sample: Sample, metric: MetricResult, window_s: float) -> str:
    """One line of progress for the terminal."""
    shown = sample.raw or "-"
    requests = "" if sample.requests is None else f", {sample.requests:.0f} req"
    return (
        f"canary [{sample.elapsed_s:6.1f}s/{window_s:g}s] {sample.metric:<19} {sample.outcome.value:<12} "
        f"{shown} ({metric.spec.rule()}{requests})" + (f" {sample.message}" if sample.outcome is Outcome.ERROR else "")
    )


def write_report(result: AnalysisResult, path: Path) -> Path:
    """The analysis as JSON (every sample), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path
