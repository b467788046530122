"""Lighthouse CI's ``assert`` format, read from a ``lighthouserc.json`` unchanged.

The file is the one ``lhci autorun`` reads: ``{"ci": {"collect": {...}, "assert":
{"assertions": {...}}, "upload": {...}}}``. Only ``ci.assert.assertions`` is used;
``collect`` and ``upload`` are left to the runner and to Lighthouse CI itself.

Each assertion is keyed ``"categories:<id>"`` (the category's ``score``) or ``"<audit-id>"``
(``lhr.audits[id]``), eslint style: ``"error"`` or ``["error", {options}]``.

Levels:

- ``off``: not checked.
- ``warn``: checked and reported, never fails the gate.
- ``error``: a failure fails the gate.

Options (anything else, including Lighthouse CI's ``maxLength``, ``resource-summary:*``,
``user-timings:*``, ``preset``, ``assertMatrix`` and ``budgetsFile``, is refused with a
message naming ``lighthouserc.json`` and the key, rather than silently ignored):

- ``minScore``: the score (0..1) must be **at least** this. A null score counts as 1 for a
  ``notApplicable`` audit and 0 for an ``informative`` one, as in Lighthouse CI.
- ``maxNumericValue``: ``numericValue`` (ms, bytes, unitless CLS) must be **at most** this.
- With neither option, ``minScore`` is **0.9** (Lighthouse CI's code; its docs say 1).
- ``aggregationMethod``, how one value is made of the runs' values:

  - ``optimistic`` (**the default**, as in Lighthouse CI): the best run (``max`` for
    ``minScore``, ``min`` for ``maxNumericValue``). Three runs pass if *one* passes.
  - ``pessimistic``: the worst run.
  - ``median``: the middle value; with an even count, the mean of the two middle values.
  - ``median-run``: the value of the representative run, the run closest (squared
    distance) to the median ``first-contentful-paint`` and median ``interactive``. Here this
    holds for categories too; Lighthouse CI's own ``median-run`` on ``categories:*`` falls
    back to ``optimistic`` (GoogleChrome/lighthouse-ci#1064).

Where this gate is stricter than Lighthouse CI, on purpose:

- A failed run (``runtimeError``, non-zero exit, unreadable JSON) fails the gate. Lighthouse
  CI's ``optimistic`` and ``median`` drop such runs and judge the rest.
- A run without a value for an assertion (score or numericValue null) fails that assertion,
  whatever the aggregation; Lighthouse CI filters the nulls out.
- An audit id or category that no run reports is a failure naming ``lighthouserc.json``
  (for example ``categories:pwa``: Lighthouse 12 dropped the PWA category), at any level but
  ``off``. Lighthouse CI silently passes some of these (``performance-budget``).

Every result's message names the aggregation used (and whether it was the default) and each
run's value, so a reader sees why 0.91 passed or failed.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lighthouse.runner import RunResult

Level = Literal["off", "warn", "error"]
Aggregation = Literal["median", "optimistic", "pessimistic", "median-run"]
Option = Literal["minScore", "maxNumericValue"]

LEVELS: tuple[Level, ...] = ("off", "warn", "error")
AGGREGATIONS: tuple[Aggregation, ...] = ("median", "optimistic", "pessimistic", "median-run")
DEFAULT_AGGREGATION: Aggregation = "optimistic"
DEFAULT_MIN_SCORE = 0.9
_OPTIONS = ("minScore", "maxNumericValue", "aggregationMethod")
_UNSUPPORTED_OPTIONS = {"maxLength": "maxLength (details.items.length) is not supported by this gate"}
_ASSERT_KEYS = ("assertions", "includePassedAssertions")
_UNSUPPORTED_ASSERT_KEYS = ("preset", "assertMatrix", "budgetsFile", "matchingUrlPattern")
_UNSUPPORTED_PREFIXES = ("resource-summary:", "user-timings:")


class LighthouseRcError(ValueError):
    """The ``lighthouserc.json`` cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Assertion:
    key: str
    level: Level
    option: Option
    expected: float
    aggregation: Aggregation
    aggregation_default: bool

    @property
    def category(self) -> str | None:
        return self.key.removeprefix("categories:") if self.key.startswith("categories:") else None

    def describe(self) -> str:
        bound = ">=" if self.option == "minScore" else "<="
        how = self.aggregation + (" (the default)" if self.aggregation_default else "")
        return f"{self.key} {self.option} {bound} {self.expected:g}, aggregationMethod {how}, level {self.level}"


@dataclass(frozen=True)
class LighthouseRc:
    path: Path
    assertions: tuple[Assertion, ...]


@dataclass(frozen=True)
class AssertionResult:
    assertion: Assertion
    url: str
    passed: bool
    actual: float | None
    values: tuple[tuple[int, float | None], ...]
    message: str

    @property
    def blocking(self) -> bool:
        return not self.passed and self.assertion.level == "error"


@dataclass(frozen=True)
class Evaluation:
    """Every assertion on every URL, plus the runs that failed outright."""

    rc_path: Path
    results: tuple[AssertionResult, ...]
    failed_runs: tuple[RunResult, ...]

    @property
    def passed(self) -> bool:
        return not self.failed_runs and not any(result.blocking for result in self.results)

    def failures(self) -> list[str]:
        lines = [f"{run.label} FAILED (counted, never dropped): {run.error}" for run in self.failed_runs]
        lines += [result.message for result in self.results if result.blocking]
        return lines

    def warnings(self) -> list[str]:
        return [r.message for r in self.results if not r.passed and r.assertion.level == "warn"]

    def report(self) -> str:
        """Every result, failures first, for a failure message or an attachment."""
        head = f"Lighthouse assertions from {self.rc_path}"
        body = [*self.failures(), *("warn: " + w for w in self.warnings())]
        body += [r.message for r in self.results if r.passed]
        return "\n".join([head, *(f"- {line}" for line in body)])


def _fail(path: Path, where: str, problem: str) -> LighthouseRcError:
    return LighthouseRcError(f"{path.name} ({path}): {where}: {problem}")


def _split_value(path: Path, where: str, value: Any) -> tuple[Level, dict[str, Any]]:
    if isinstance(value, str):
        level_raw, options = value, {}
    elif isinstance(value, list) and len(value) == 2 and isinstance(value[1], dict):
        level_raw, options = value
    elif isinstance(value, list) and len(value) == 1:
        level_raw, options = value[0], {}
    else:
        raise _fail(path, where, f'expected "level" or ["level", {{options}}], not {json.dumps(value)}')
    if level_raw not in LEVELS:
        raise _fail(path, where, f"unknown level {level_raw!r}; one of {', '.join(LEVELS)}")
    for name in options:
        if name in _UNSUPPORTED_OPTIONS:
            raise _fail(path, f"{where}.{name}", f"unknown assertion option: {_UNSUPPORTED_OPTIONS[name]}")
        if name not in _OPTIONS:
            hint = difflib.get_close_matches(name, _OPTIONS, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise _fail(path, f"{where}.{name}", f"unknown assertion option{extra}; known: {', '.join(_OPTIONS)}")
    return level_raw, options


def _parse_assertion(path: Path, key: str, value: Any) -> Assertion | None:
    where = f"ci.assert.assertions[{key!r}]"
    if not isinstance(key, str) or not key:
        raise _fail(path, where, "an assertion key must be a non-empty string")
    for prefix in _UNSUPPORTED_PREFIXES:
        if key.startswith(prefix):
            raise _fail(path, where, f"unknown assertion key: {prefix}* assertions are not supported by this gate")
    level, options = _split_value(path, where, value)
    aggregation_raw = options.get("aggregationMethod", DEFAULT_AGGREGATION)
    if aggregation_raw not in AGGREGATIONS:
        raise _fail(
            path, f"{where}.aggregationMethod", f"unknown {aggregation_raw!r}; one of {', '.join(AGGREGATIONS)}"
        )
    has_min, has_max = "minScore" in options, "maxNumericValue" in options
    if has_min and has_max:
        raise _fail(path, where, "give minScore or maxNumericValue, not both (write two assertions keys instead)")
    option: Option = "maxNumericValue" if has_max else "minScore"
    expected_raw = options.get(option, DEFAULT_MIN_SCORE)
    if isinstance(expected_raw, bool) or not isinstance(expected_raw, int | float) or not math.isfinite(expected_raw):
        raise _fail(path, f"{where}.{option}", f"must be a number, not {json.dumps(expected_raw)}")
    if option == "minScore" and not 0 <= expected_raw <= 1:
        raise _fail(path, f"{where}.minScore", f"must be between 0 and 1, not {expected_raw}")
    if level == "off":
        return None
    return Assertion(
        key=key,
        level=level,
        option=option,
        expected=float(expected_raw),
        aggregation=aggregation_raw,
        aggregation_default="aggregationMethod" not in options,
    )


def parse_lighthouserc(data: Any, path: Path) -> LighthouseRc:
    """Validate a parsed ``lighthouserc.json``; unknown keys are errors naming the file."""
    if not isinstance(data, dict) or not isinstance(data.get("ci"), dict):
        raise _fail(path, "top level", 'expected {"ci": {"assert": {"assertions": {...}}}}')
    block = data["ci"].get("assert")
    if not isinstance(block, dict):
        raise _fail(path, "ci.assert", "missing or not an object")
    for name in block:
        if name in _UNSUPPORTED_ASSERT_KEYS:
            raise _fail(path, f"ci.assert.{name}", "unknown assertion key: not supported by this gate; list assertions")
        if name not in _ASSERT_KEYS:
            raise _fail(path, f"ci.assert.{name}", f"unknown key; known: {', '.join(_ASSERT_KEYS)}")
    raw = block.get("assertions")
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, "ci.assert.assertions", "missing, empty or not an object")
    parsed = [_parse_assertion(path, key, value) for key, value in raw.items()]
    return LighthouseRc(path=path, assertions=tuple(a for a in parsed if a is not None))


def load_lighthouserc(path: Path) -> LighthouseRc:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LighthouseRcError(f"{path.name} ({path}): file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LighthouseRcError(f"{path.name} ({path}): unreadable: {exc}") from None
    return parse_lighthouserc(data, path)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def run_value(assertion: Assertion, lhr: Mapping[str, Any]) -> float | None:
    """The value one run gives an assertion; None when the run has none."""
    category = assertion.category
    if category is not None:
        entry = lhr.get("categories", {}).get(category)
        return _number(entry.get("score")) if isinstance(entry, dict) else None
    audit = lhr.get("audits", {}).get(assertion.key)
    if not isinstance(audit, dict):
        return None
    if assertion.option == "maxNumericValue":
        return _number(audit.get("numericValue"))
    score = _number(audit.get("score"))
    if score is None and audit.get("scoreDisplayMode") == "notApplicable":
        return 1.0
    if score is None and audit.get("scoreDisplayMode") == "informative":
        return 0.0
    return score


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def representative_index(lhrs: Sequence[Mapping[str, Any]]) -> int:
    """Position of the run closest to the median FCP and median interactive (LHCI's rule)."""

    def metric(lhr: Mapping[str, Any], audit: str) -> float:
        value = _number(lhr.get("audits", {}).get(audit, {}).get("numericValue"))
        return 0.0 if value is None else value

    fcps = [metric(lhr, "first-contentful-paint") for lhr in lhrs]
    ttis = [metric(lhr, "interactive") for lhr in lhrs]
    fcp_median, tti_median = _median(fcps), _median(ttis)
    distances = [(fcp - fcp_median) ** 2 + (tti - tti_median) ** 2 for fcp, tti in zip(fcps, ttis, strict=True)]
    return distances.index(min(distances))


def aggregate(assertion: Assertion, values: Sequence[float], lhrs: Sequence[Mapping[str, Any]]) -> float:
    """One value from the runs' values, as ``assertion.aggregation`` says."""
    wants_high = assertion.option == "minScore"
    if assertion.aggregation == "median":
        return _median(values)
    if assertion.aggregation == "median-run":
        return values[representative_index(lhrs)]
    best = assertion.aggregation == "optimistic"
    return max(values) if best == wants_high else min(values)


def _known(lhrs: Sequence[Mapping[str, Any]], assertion: Assertion) -> tuple[bool, list[str]]:
    if assertion.category is not None:
        names = sorted({name for lhr in lhrs for name in lhr.get("categories", {})})
        return assertion.category in names, [f"categories:{name}" for name in names]
    names = sorted({name for lhr in lhrs for name in lhr.get("audits", {})})
    return assertion.key in names, names


def _unknown_message(rc: LighthouseRc, assertion: Assertion, url: str, names: list[str]) -> str:
    hint = difflib.get_close_matches(assertion.key, names, n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    why = ""
    if assertion.key == "categories:pwa":
        why = " (Lighthouse 12 dropped the PWA category; installability is checked by lighthouse/pwa.py)"
    kind = "category" if assertion.category is not None else "audit id"
    return (
        f"{rc.path.name} ({rc.path}): assertion {assertion.key!r}: unknown {kind}, no run of {url} reports it{why}"
        f"{extra}"
    )


def evaluate_url(rc: LighthouseRc, url: str, runs: Sequence[RunResult]) -> list[AssertionResult]:
    """Every assertion on the usable runs of one URL (failed runs are reported separately)."""
    usable = [run for run in runs if run.ok and run.lhr is not None]
    lhrs = [run.lhr for run in usable if run.lhr is not None]
    results: list[AssertionResult] = []
    for assertion in rc.assertions:
        prefix = f"{url}: {assertion.describe()}"
        if not lhrs:
            results.append(AssertionResult(assertion, url, False, None, (), f"{prefix}: no run produced a report"))
            continue
        known, names = _known(lhrs, assertion)
        if not known:
            message = _unknown_message(rc, assertion, url, names)
            # An unknown id is a configuration error: it blocks even at level "warn".
            bad = Assertion(assertion.key, "error", assertion.option, assertion.expected, assertion.aggregation, True)
            results.append(AssertionResult(bad, url, False, None, (), message))
            continue
        values = tuple((run.index, run_value(assertion, lhr)) for run, lhr in zip(usable, lhrs, strict=True))
        shown = ", ".join(f"#{index} {'null' if value is None else f'{value:g}'}" for index, value in values)
        missing = [index for index, value in values if value is None]
        if missing:
            message = (
                f"{prefix}: FAILED: runs {', '.join(f'#{i}' for i in missing)} give no value "
                f"(a missing value fails, whatever the aggregation); runs: {shown}"
            )
            results.append(AssertionResult(assertion, url, False, None, values, message))
            continue
        numbers = [value for _, value in values if value is not None]
        actual = aggregate(assertion, numbers, lhrs)
        passed = actual >= assertion.expected if assertion.option == "minScore" else actual <= assertion.expected
        verdict = "passed" if passed else "FAILED"
        message = f"{prefix}: {verdict}: {assertion.aggregation} of {len(numbers)} runs = {actual:g}; runs: {shown}"
        results.append(AssertionResult(assertion, url, passed, actual, values, message))
    return results


def evaluate(rc: LighthouseRc, runs: Sequence[RunResult]) -> Evaluation:
    """Assertions per URL (as Lighthouse CI groups them), and every failed run."""
    by_url: dict[str, list[RunResult]] = {}
    for run in runs:
        by_url.setdefault(run.url, []).append(run)
    results = [result for url, group in by_url.items() for result in evaluate_url(rc, url, group)]
    failed = tuple(run for run in runs if not run.ok)
    return Evaluation(rc_path=rc.path, results=tuple(results), failed_runs=failed)
