"""Lighthouse CI assertion semantics on LHRs recorded from a real run and then edited.

``data/lhr-sandbox-trimmed.json`` is run 1 of Lighthouse 12.2.3 on the sandbox PWA, with
each audit cut to its id, score, scoreDisplayMode and numericValue; the tests edit copies.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lighthouse.assertions import LighthouseRcError, evaluate, load_lighthouserc, parse_lighthouserc
from lighthouse.runner import RunResult, read_lhr, runtime_error

DATA = Path(__file__).parent / "data"
RECORDED = json.loads((DATA / "lhr-sandbox-trimmed.json").read_text(encoding="utf-8"))
URL = "http://127.0.0.1:17102/"
RC = Path("/repo/lighthouserc.json")


def lhr(performance: float | None = 1.0, **numeric: float) -> dict[str, Any]:
    """The recorded LHR with the performance score and audits' numericValue replaced."""
    edited: dict[str, Any] = copy.deepcopy(RECORDED)
    edited["categories"]["performance"]["score"] = performance
    for audit, value in numeric.items():
        edited["audits"][audit.replace("_", "-")]["numericValue"] = value
    return edited


def runs(*lhrs: dict[str, Any], error: dict[int, str] | None = None) -> list[RunResult]:
    errors = error or {}
    return [
        RunResult(URL, i, Path(f"run-{i}.report.json"), Path(f"run-{i}.report.html"), (), 1.0, 0, data, errors.get(i))
        for i, data in enumerate(lhrs, start=1)
    ]


def rc(assertions: dict[str, Any]) -> Any:
    return parse_lighthouserc({"ci": {"assert": {"assertions": assertions}}}, RC)


SPREAD = (lhr(0.5), lhr(0.7), lhr(0.95))


@pytest.mark.parametrize(
    ("method", "passed", "actual"),
    [("optimistic", True, 0.95), ("median", False, 0.7), ("pessimistic", False, 0.5)],
)
def test_min_score_aggregations(method: str, passed: bool, actual: float) -> None:
    result = evaluate(
        rc({"categories:performance": ["error", {"minScore": 0.9, "aggregationMethod": method}]}), runs(*SPREAD)
    )
    (only,) = result.results
    assert (only.passed, only.actual) == (passed, actual)
    assert result.passed is passed
    assert f"aggregationMethod {method}," in only.message
    assert "runs: #1 0.5, #2 0.7, #3 0.95" in only.message


def test_the_default_is_optimistic_with_min_score_0_9_and_says_so() -> None:
    result = evaluate(rc({"categories:performance": "error"}), runs(lhr(0.2), lhr(0.3), lhr(0.9)))
    (only,) = result.results
    assert only.passed, only.message
    assert "minScore >= 0.9, aggregationMethod optimistic (the default)" in only.message


def test_max_numeric_value_optimistic_takes_the_lowest_and_median_averages_an_even_count() -> None:
    four = runs(*(lhr(largest_contentful_paint=v) for v in (1000, 2000, 3000, 4000)))
    optimistic = evaluate(rc({"largest-contentful-paint": ["error", {"maxNumericValue": 2400}]}), four)
    assert optimistic.results[0].actual == 1000
    assert optimistic.passed
    median = evaluate(
        rc({"largest-contentful-paint": ["error", {"maxNumericValue": 2400, "aggregationMethod": "median"}]}), four
    )
    assert median.results[0].actual == 2500
    assert not median.passed
    assert "median of 4 runs = 2500" in median.failures()[0]


def test_median_run_uses_the_representative_run_for_categories_too() -> None:
    data = (
        lhr(0.99, first_contentful_paint=500, interactive=900),
        lhr(0.6, first_contentful_paint=1000, interactive=2000),
        lhr(0.98, first_contentful_paint=3000, interactive=5000),
    )
    result = evaluate(
        rc({"categories:performance": ["error", {"minScore": 0.9, "aggregationMethod": "median-run"}]}), runs(*data)
    )
    assert result.results[0].actual == 0.6  # run 2 is the median run; LHCI would take the best (0.99)
    assert not result.passed


def test_warn_is_reported_and_does_not_block_and_off_is_not_checked() -> None:
    result = evaluate(
        rc({"categories:performance": ["warn", {"minScore": 0.99}], "categories:seo": "off"}), runs(lhr(0.5))
    )
    assert result.passed
    assert len(result.results) == 1
    (warning,) = result.warnings()
    assert "FAILED" in warning


def test_a_runtime_error_run_is_a_failure_never_dropped() -> None:
    broken = copy.deepcopy(RECORDED)
    broken["runtimeError"] = {"code": "ERRORED_DOCUMENT_REQUEST", "message": "Status code: 500"}
    for category in broken["categories"].values():
        category["score"] = None
    error = runtime_error(broken)
    assert error == "ERRORED_DOCUMENT_REQUEST: Status code: 500"
    # optimistic would pass on runs 1 and 3 alone, as Lighthouse CI does; here the run counts.
    result = evaluate(rc({"categories:performance": "error"}), runs(lhr(1.0), broken, lhr(1.0), error={2: error}))
    assert not result.passed
    assert result.failures()[0].startswith(f"{URL} run #2 FAILED (counted, never dropped): ERRORED_DOCUMENT_REQUEST")


def test_a_run_without_a_value_fails_the_assertion() -> None:
    result = evaluate(rc({"categories:performance": "error"}), runs(lhr(1.0), lhr(None)))
    assert not result.passed
    assert "runs #2 give no value" in result.failures()[0]


def test_not_applicable_counts_as_1_and_informative_as_0() -> None:
    na = next(k for k, v in RECORDED["audits"].items() if v["scoreDisplayMode"] == "notApplicable")
    info = next(k for k, v in RECORDED["audits"].items() if v["scoreDisplayMode"] == "informative")
    edited = lhr()
    edited["audits"][na]["score"] = None
    edited["audits"][info]["score"] = None
    result = evaluate(rc({na: "error", info: "warn"}), runs(edited))
    assert [r.actual for r in result.results] == [1.0, 0.0]


def test_a_corrupt_lhr_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run-1.report.json"
    path.write_text(json.dumps(RECORDED)[:5000], encoding="utf-8")
    with pytest.raises(ValueError, match=r"run-1\.report\.json: not valid JSON"):
        read_lhr(path)


@pytest.mark.parametrize(
    ("assertions", "match"),
    [
        ({"categories:performance": ["error", {"minScroe": 0.9}]}, r"minScroe.*did you mean 'minScore'"),
        ({"uses-http2": ["error", {"maxLength": 0}]}, r"\['uses-http2'\]\.maxLength: unknown assertion option"),
        ({"resource-summary:script:size": ["error", {"maxNumericValue": 1}]}, "unknown assertion key"),
        ({"categories:performance": "fatal"}, "unknown level 'fatal'"),
        ({"categories:performance": ["error", {"aggregationMethod": "mean"}]}, "unknown 'mean'"),
    ],
)
def test_unknown_assertion_options_are_refused_naming_lighthouserc(assertions: dict[str, Any], match: str) -> None:
    with pytest.raises(LighthouseRcError, match=match) as caught:
        rc(assertions)
    assert str(caught.value).startswith("lighthouserc.json (/repo/lighthouserc.json): ci.assert")


def test_an_unsupported_assert_key_is_refused() -> None:
    with pytest.raises(LighthouseRcError, match=r"ci\.assert\.preset: unknown assertion key"):
        parse_lighthouserc({"ci": {"assert": {"preset": "lighthouse:recommended", "assertions": {}}}}, RC)


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("larget-contentful-paint", "unknown audit id.*did you mean 'largest-contentful-paint'"),
        ("categories:pwa", "unknown category.*Lighthouse 12 dropped the PWA category"),
        ("installable-manifest", "unknown audit id"),
    ],
)
def test_an_unknown_audit_or_category_fails_even_at_warn(key: str, match: str) -> None:
    result = evaluate(rc({key: "warn"}), runs(lhr()))
    assert not result.passed
    (failure,) = result.failures()
    assert failure.startswith(f"lighthouserc.json ({RC}): assertion {key!r}")
    assert re.search(match, failure), failure


def test_the_shipped_lighthouserc_loads_and_passes_the_recorded_run() -> None:
    shipped = load_lighthouserc(Path(__file__).parents[2] / "lighthouse" / "lighthouserc.json")
    assert {a.key for a in shipped.assertions} >= {"categories:performance", "largest-contentful-paint"}
    result = evaluate(shipped, runs(lhr(), lhr(), lhr()))
    assert result.passed, result.report()
