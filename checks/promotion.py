"""The production promotion's prerequisites: staging sign-off, canary stable, approvals logged.

Nothing here waits or re-runs anything: each prerequisite is proven from what the staging
release left behind.

- **Staging sign-off**: the latest staging gate run of this target and version in the
  release state dir (``<state_dir>/runs/<run id>/verdict.json``) ended ``PASSED``, was not a
  dry run and selected the staging release (``-m staging``). Dry runs deploy nothing, so they
  neither sign off nor revoke; a later staging run that did not pass (a failure, a rollback,
  a crash without a verdict) revokes the sign-off. The sign-off time is its ``finished_at``.
- **Canary stable**: the canary began when the sign-off run's ``canary_flags_on`` action
  ended (its ledger record: executed, status ok). Every SLO of the canary analysis
  (``checks/canary/analysis.py``: value and count queries, thresholds, minimum requests) is
  evaluated with Prometheus range queries (``/api/v1/query_range``) on the staging
  environment's Prometheus, at every ``interval_s`` over ``[start + initial_delay_s, start +
  window_s]``. Every conclusive step must pass; a step with no data, NaN without traffic, too
  few requests, or a ratio past its threshold but not significantly so (the live canary's
  rule, ``judge_value``) is inconclusive; NaN or infinity over enough traffic is a broken query. A
  metric fails on a failed step, a broken step, a gap (consecutive steps without data spanning
  more than ``max_gap_s``), more than ``inconclusive_limit`` inconclusive steps or fewer than
  ``min_conclusive_samples`` conclusive ones. The window as a whole cannot be judged (an
  error, never a pass) when it is not over yet, starts in the future, Prometheus' clock is
  more than ``max_clock_skew_s`` off ours, Prometheus does not answer, or it answers for
  times that are not the requested steps.
- **Approvals**: each role's approval (who, role, when) by an allowed approver, at or after
  the sign-off, within ``max_delay_h`` of it, not in the future; the roles approved by
  different people. From a file the approvals CLI appends to (``python -m
  checks.canary.approvals approve``), or from comments on the release issue on GitHub whose
  body starts with ``/approve production`` (``user.login``, ``created_at``).

Settings: ``[targets.<t>.checks.promotion]`` (validated strictly; unknown keys are errors)::

    staging_prometheus_url = "${ICUPA_STAGING_PROMETHEUS_URL}"  # unset: the staging sandbox's
    max_clock_skew_s = 30        # Prometheus' clock against ours
    max_gap_s = 6                # default: 3 x the canary's interval_s
    lighthouse_runs = 1          # the final checks' synthetic Lighthouse runs per URL
    [targets.<t>.checks.promotion.approvals]
    provider = "file"            # or "github"
    record = "{state_dir}/approvals/{version}.json"   # file: relative to the rootdir
    issue = "${ICUPA_RELEASE_ISSUE}"                  # github: the release issue's number
    command = "/approve production"                   # github: what an approving comment starts with
    roles = ["product_lead", "engineering_lead"]
    max_delay_h = 72
    [targets.<t>.checks.promotion.approvals.approvers]      # allowed approvers per role
    product_lead = ["amara.uwase"]
    [targets.<t>.checks.promotion.approvals.approvers_env]  # or a comma-separated variable
    engineering_lead = "ICUPA_ENGINEERING_LEADS"

Templates in string values: ``{root}``, ``{state_dir}``, ``{target}``, ``{version}`` and
``${NAME}`` from the environment.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checks.canary.analysis import AnalysisConfig, MetricSpec, Prometheus, QueryError, judge_value
from checks.canary.approvals import Approval, ApprovalRecord, ApprovalSettings, RoleCheck, check_role
from checks.remote.github import GitHubClient, GitHubError
from plugin.settings import Settings
from plugin.templating import TemplateError, render

SIGNOFF_ACTION = "canary_flags_on"
_TIME_TOLERANCE_S = 0.002  # Prometheus' timestamps are in milliseconds


class PromotionError(Exception):
    """A prerequisite cannot be established; the message names the file, key or endpoint."""


# --- settings ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Approvals(_Strict):
    provider: Literal["file", "github"] = "file"
    record: Annotated[str, Field(min_length=1)] = "{state_dir}/approvals/{version}.json"
    issue: str | None = None
    command: Annotated[str, Field(min_length=1)] = "/approve production"
    roles: Annotated[list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]], Field(min_length=1)] = [
        "product_lead",
        "engineering_lead",
    ]
    max_delay_h: Annotated[float, Field(gt=0)] = 72.0
    approvers: dict[str, list[str]] = Field(default_factory=dict)
    approvers_env: dict[str, str] = Field(default_factory=dict)


class _Promotion(_Strict):
    staging_prometheus_url: Annotated[str, Field(min_length=1)] | None = None
    max_clock_skew_s: Annotated[float, Field(ge=0)] = 30.0
    max_gap_s: Annotated[float, Field(gt=0)] | None = None
    lighthouse_runs: Annotated[int, Field(ge=1, le=10)] = 1
    approvals: _Approvals = Field(default_factory=_Approvals)


@dataclass(frozen=True)
class ApprovalSource:
    provider: Literal["file", "github"]
    record: Path | None
    issue: int | None
    command: str
    roles: tuple[str, ...]
    settings: ApprovalSettings


@dataclass(frozen=True)
class PromotionSettings:
    staging_prometheus_url: str | None  # None: the staging sandbox's own
    max_clock_skew_s: float
    max_gap_s: float | None
    lighthouse_runs: int
    approvals: ApprovalSource


def _fill(value: str, key: str, where: str, variables: dict[str, str]) -> str:
    try:
        return render(value, variables, os.environ)
    except TemplateError as exc:
        raise PromotionError(f"{where}.{key}: {exc}") from None


def from_target(settings: Settings) -> PromotionSettings:
    """The promotion settings of the current target; PromotionError names the key."""
    where = f"{settings.config_path or 'release.toml'}: targets.{settings.target_name}.checks.promotion"
    target = settings.target
    if target is None or "promotion" not in target.checks:
        raise PromotionError(f"{where} is missing: the production prerequisites have nothing to read")
    try:
        model = _Promotion.model_validate(target.checks["promotion"])
    except ValidationError as exc:
        problems = "; ".join(f"{where}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PromotionError(problems) from None
    variables = {
        "root": str(settings.rootdir),
        "state_dir": str(settings.state_dir),
        "target": settings.target_name,
        "version": settings.version or "unknown",
    }
    url = None
    if model.staging_prometheus_url is not None:
        url = _fill(model.staging_prometheus_url, "staging_prometheus_url", where, variables)
    elif settings.target_name != "sandbox":
        raise PromotionError(f"{where}.staging_prometheus_url is missing: where are the staging canary's metrics?")
    approvals = model.approvals
    record: Path | None = None
    issue: int | None = None
    if approvals.provider == "file":
        record = Path(_fill(approvals.record, "approvals.record", where, variables))
        record = record if record.is_absolute() else settings.rootdir / record
    else:
        if approvals.issue is None:
            raise PromotionError(f"{where}.approvals.issue is missing: the github provider reads the release issue")
        raw = _fill(approvals.issue, "approvals.issue", where, variables).strip().lstrip("#")
        if not raw.isdigit() or int(raw) < 1:
            raise PromotionError(f"{where}.approvals.issue: {raw!r} is not an issue number")
        issue = int(raw)
    allowed = {role: tuple(names) for role, names in approvals.approvers.items()}
    for role, variable in approvals.approvers_env.items():
        names = [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]
        allowed[role] = (*allowed.get(role, ()), *names)
    return PromotionSettings(
        staging_prometheus_url=url,
        max_clock_skew_s=model.max_clock_skew_s,
        max_gap_s=model.max_gap_s,
        lighthouse_runs=model.lighthouse_runs,
        approvals=ApprovalSource(
            provider=approvals.provider,
            record=record,
            issue=issue,
            command=approvals.command,
            roles=tuple(approvals.roles),
            settings=ApprovalSettings(
                record=record or Path(f"issue #{issue}"),
                recorded=False,
                max_delay=timedelta(hours=approvals.max_delay_h),
                approvers=allowed,
            ),
        ),
    )


# --- the staging sign-off ---------------------------------------------------------------


def parse_time(value: object, what: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC; PromotionError naming ``what`` otherwise."""
    if not isinstance(value, str) or not value:
        raise PromotionError(f"{what}: no time recorded")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PromotionError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise PromotionError(f"{what}: {value!r} has no time zone")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Signoff:
    """The staging gate run that signed the release off, and when its canary began."""

    run_id: str
    run_dir: Path
    verdict: dict[str, Any]
    finished_at: datetime
    canary_started_at: datetime


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise PromotionError(
            f"{path}: the {what} is unreadable ({exc}); the staging sign-off cannot be established"
        ) from None
    if not isinstance(payload, dict):
        raise PromotionError(f"{path}: the {what} is not a JSON object; the staging sign-off cannot be established")
    return payload


def _ledger_records(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PromotionError(f"{path}: the ledger is unreadable ({exc})") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise PromotionError(f"{path}:{number}: not a ledger record; the staging run's record cannot be trusted")
        records.append(record)
    return records


def _ledger_identity(records: Sequence[dict[str, Any]]) -> tuple[str, str, str, bool] | None:
    """(target, env, version, dry_run) of a run, from its first action record."""
    for record in records:
        if record.get("kind") == "action":
            return (
                str(record.get("target")),
                str(record.get("env")),
                str(record.get("version")),
                bool(record.get("dry_run")),
            )
    return None


def find_signoff(state_dir: Path, target: str, version: str, *, current_run: str | None = None) -> Signoff:
    """The staging gate run that signs ``version`` off for ``target``; PromotionError says why not."""
    runs = state_dir / "runs"
    try:
        folders = sorted((path for path in runs.iterdir() if path.is_dir()), key=lambda path: path.name, reverse=True)
    except FileNotFoundError:
        folders = []
    except OSError as exc:
        raise PromotionError(f"{runs}: cannot list the gate runs ({exc.strerror})") from None
    for folder in folders:
        if folder.name == current_run:
            continue
        verdict_path = folder / "verdict.json"
        if not verdict_path.exists():
            identity = _ledger_identity(_ledger_records(folder / "ledger.jsonl"))
            if identity is not None and identity[:3] == (target, "staging", version) and not identity[3]:
                raise PromotionError(
                    f"{verdict_path} is missing: the latest staging run of {target} {version} ({folder.name}) "
                    "has no verdict (still running, crashed or interrupted), so staging is not signed off"
                )
            continue
        verdict = _read_json_object(verdict_path, "verdict")
        if (verdict.get("target"), verdict.get("environment"), verdict.get("version")) != (target, "staging", version):
            continue
        if verdict.get("dry_run") is not False:
            if verdict.get("dry_run") is True:
                continue  # a dry run deploys nothing: it neither signs off nor revokes
            raise PromotionError(f"{verdict_path}: no dry_run field; cannot tell whether the run deployed anything")
        return _signoff_of(folder, verdict_path, verdict, target, version)
    raise PromotionError(
        f"no staging gate run of {target} {version} in {runs}: run the staging release first "
        f"(pytest -m staging --release-version {version})"
    )


def _signoff_of(folder: Path, verdict_path: Path, verdict: dict[str, Any], target: str, version: str) -> Signoff:
    if verdict.get("passed") is not True:
        raise PromotionError(
            f"{verdict_path}: the latest staging run of {target} {version} ({folder.name}) did not pass: "
            f"{verdict.get('verdict') or 'no verdict line'}"
        )
    selections = verdict.get("selections")
    if not isinstance(selections, list) or "staging" not in selections:
        raise PromotionError(
            f"{verdict_path}: run {folder.name} passed but did not select the staging release "
            f"(selections {selections!r}); only pytest -m staging signs staging off"
        )
    finished = parse_time(verdict.get("finished_at"), f"{verdict_path}: finished_at")
    ledger = folder / "ledger.jsonl"
    records = [r for r in _ledger_records(ledger) if r.get("kind") == "action" and r.get("action") == SIGNOFF_ACTION]
    if not records:
        raise PromotionError(f"{ledger}: no record of {SIGNOFF_ACTION}: the staging run {folder.name} ran no canary")
    flag = records[-1]
    if flag.get("status") != "ok" or flag.get("executed") is not True:
        raise PromotionError(
            f"{ledger}: {SIGNOFF_ACTION} is {flag.get('status')!r} (executed {flag.get('executed')!r}), "
            "not ok and executed: the canary flag was never turned on"
        )
    began = parse_time(flag.get("ended"), f"{ledger}: {SIGNOFF_ACTION}.ended")
    return Signoff(folder.name, folder, verdict, finished, began)


# --- the canary over its window ----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: float
    outcome: str  # pass, fail, inconclusive, broken
    value: float | None
    requests: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        shown = None if self.value is None or not math.isfinite(self.value) else self.value
        return {
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "outcome": self.outcome,
            "value": shown,
            "raw": "" if self.value is None else repr(self.value),
            "requests": self.requests if self.requests is None or math.isfinite(self.requests) else None,
            "message": self.message,
        }


@dataclass
class MetricWindow:
    spec: MetricSpec
    steps: list[Step] = field(default_factory=list)
    passed: bool = False
    reason: str = ""

    def count(self, outcome: str) -> int:
        return sum(1 for step in self.steps if step.outcome == outcome)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.spec.name,
            "query": self.spec.query,
            "count_query": self.spec.count_query,
            "rule": self.spec.rule(),
            "min_requests": self.spec.min_requests,
            "verdict": "passed" if self.passed else "failed",
            "reason": self.reason,
            "counts": {name: self.count(name) for name in ("pass", "fail", "inconclusive", "broken")},
            "steps": [step.to_dict() for step in self.steps],
        }


@dataclass
class WindowResult:
    start: float
    end: float
    step_s: float
    metrics: dict[str, MetricWindow]
    prometheus_url: str
    prometheus_offset_s: float

    @property
    def passed(self) -> bool:
        return all(metric.passed for metric in self.metrics.values())

    def failures(self) -> list[str]:
        return [f"{name}: {metric.reason}" for name, metric in self.metrics.items() if not metric.passed]

    def to_dict(self) -> dict[str, Any]:
        def stamp(epoch: float) -> str:
            return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        return {
            "verdict": "passed" if self.passed else "failed",
            "start": stamp(self.start),
            "end": stamp(self.end),
            "step_s": self.step_s,
            "prometheus_url": self.prometheus_url,
            "prometheus_offset_s": round(self.prometheus_offset_s, 3),
            "metrics": {name: metric.to_dict() for name, metric in self.metrics.items()},
        }


def _classify(spec: MetricSpec, value: float | None, requests: float | None) -> tuple[str, str]:
    count = 0.0 if requests is None or not math.isfinite(requests) else requests
    if value is None:
        return "inconclusive", "no data: the query returned no point"
    if not math.isfinite(value):
        if count >= spec.min_requests:
            return "broken", f"{value} over {count:.0f} requests: the query is broken"
        return "inconclusive", f"no usable value ({value}) with {count:.0f} requests"
    if count < spec.min_requests or count <= 0:
        return "inconclusive", f"too little traffic: {count:.0f} requests < minimum {spec.min_requests:g}"
    # The live canary's rule (judge_value): a ratio fails only on a significant excess.
    outcome, message = judge_value(spec, value, count)
    return outcome.value, message


def _grid(start: float, end: float, step: float) -> list[float]:
    count = math.floor((end - start) / step + 1e-9) + 1
    return [start + index * step for index in range(count)]


def _on_grid(points: list[tuple[float, float]], grid: list[float], what: str) -> dict[int, float]:
    found: dict[int, float] = {}
    for at, value in points:
        index = round((at - grid[0]) / (grid[1] - grid[0])) if len(grid) > 1 else 0
        if not 0 <= index < len(grid) or abs(grid[index] - at) > _TIME_TOLERANCE_S:
            raise PromotionError(
                f"{what}: Prometheus answered for {at:.3f}, which is not a step of the requested range "
                f"{grid[0]:.3f}..{grid[-1]:.3f}: the range is skewed"
            )
        found[index] = value
    return found


def _judge(window: MetricWindow, config: AnalysisConfig, step_s: float, max_gap_s: float) -> None:
    steps = window.steps
    first_fail = next((s for s in steps if s.outcome in ("fail", "broken")), None)
    longest: tuple[float, Step, Step] | None = None
    run_start: int | None = None
    for index in range(len(steps) + 1):
        if index < len(steps) and steps[index].value is None:
            run_start = index if run_start is None else run_start
            continue
        if run_start is not None:
            began, ended = steps[run_start], steps[index - 1]
            span = ended.at - began.at + step_s
            if longest is None or span > longest[0]:
                longest = (span, began, ended)
            run_start = None
    inconclusive = window.count("inconclusive")
    conclusive = window.count("pass") + window.count("fail")
    if first_fail is not None:
        failed = window.count("fail") + window.count("broken")
        window.reason = f"{failed} of {len(steps)} steps did not pass; first at {first_fail.to_dict()['at']}: "
        window.reason += first_fail.message
    elif all(step.value is None for step in steps):
        window.reason = f"no data at any of the {len(steps)} steps: the query returned no point over the window"
    elif longest is not None and longest[0] > max_gap_s:
        span, began, ended = longest
        window.reason = (
            f"a gap of {span:g}s without data (from {began.to_dict()['at']} to {ended.to_dict()['at']}, "
            f"limit {max_gap_s:g}s): the canary was not watched throughout"
        )
    elif inconclusive > config.inconclusive_limit:
        last = next(s.message for s in reversed(steps) if s.outcome == "inconclusive")
        window.reason = f"{inconclusive} inconclusive steps (limit {config.inconclusive_limit}); last: {last}"
    elif conclusive < config.min_conclusive_samples:
        window.reason = f"only {conclusive} conclusive steps (minimum {config.min_conclusive_samples})"
    else:
        window.passed = True
        window.reason = f"{conclusive} steps passed, {inconclusive} inconclusive, over {len(steps)} steps"


def evaluate_window(
    prometheus: Prometheus,
    metrics: Sequence[MetricSpec],
    config: AnalysisConfig,
    canary_start: float,
    *,
    max_gap_s: float | None = None,
    max_clock_skew_s: float = 30.0,
    now: Callable[[], float] | None = None,
) -> WindowResult:
    """Every metric at every step of the canary window that began at ``canary_start`` (epoch s).

    Raises PromotionError when the window cannot be judged at all (never a pass).
    """
    clock = now or (lambda: datetime.now(UTC).timestamp())
    current = clock()
    where = f"the staging Prometheus at {prometheus.base_url}"
    stamp = datetime.fromtimestamp(canary_start, UTC).isoformat(timespec="seconds")
    if canary_start > current + max_clock_skew_s:
        raise PromotionError(
            f"the canary began at {stamp}, {canary_start - current:.0f}s in the future: a clock is skewed"
        )
    end = canary_start + config.window_s
    if end > current:
        raise PromotionError(
            f"the canary window ({config.window_s:g}s from {stamp}) is not over: it ends in {end - current:.0f}s; "
            "promote once it is complete"
        )
    try:
        server_now = prometheus.query("time()")
    except QueryError as exc:
        raise PromotionError(f"{where}: {exc}") from None
    if server_now is None or not math.isfinite(server_now):
        raise PromotionError(f"{where}: time() gave no usable value")
    offset = server_now - clock()
    if abs(offset) > max_clock_skew_s:
        raise PromotionError(
            f"{where}: its clock is {offset:+.0f}s off ours (limit {max_clock_skew_s:g}s): the range would be skewed"
        )
    step_s = config.interval_s
    start = canary_start + config.initial_delay_s
    grid = _grid(start, end, step_s)
    gap_limit = max_gap_s if max_gap_s is not None else 3 * step_s
    result = WindowResult(start, grid[-1], step_s, {}, prometheus.base_url, offset)
    for spec in metrics:
        try:
            values = _on_grid(prometheus.query_range(spec.query, start, grid[-1], step_s), grid, spec.name)
            counts = _on_grid(prometheus.query_range(spec.count_query, start, grid[-1], step_s), grid, spec.name)
        except QueryError as exc:
            raise PromotionError(f"{where}: {spec.name}: {exc}") from None
        window = MetricWindow(spec)
        for index, at in enumerate(grid):
            value, requests = values.get(index), counts.get(index)
            outcome, message = _classify(spec, value, requests)
            window.steps.append(Step(at, outcome, value, requests, message))
        _judge(window, config, step_s, gap_limit)
        result.metrics[spec.name] = window
    return result


def write_window(result: WindowResult, path: Path, extra: dict[str, Any]) -> Path:
    """The evaluated window as JSON (every step), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps({**result.to_dict(), **extra}, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path


def staging_prometheus_url(settings: PromotionSettings) -> str:
    """Where the staging canary's metrics are: the configured URL, or the staging sandbox's."""
    if settings.staging_prometheus_url is not None:
        return settings.staging_prometheus_url
    from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target

    status: dict[str, Any] = Sandbox.for_env("staging").status().summary()
    if not status.get("running"):
        raise PromotionError(
            "the staging sandbox is not running: its Prometheus holds the canary's metrics "
            "(python -m sandbox up --env staging)"
        )
    return str(status["endpoints"]["prometheus"])


# --- approvals --------------------------------------------------------------------------


def approvals_from_comments(
    comments: Sequence[dict[str, Any]], command: str, roles: Sequence[str], approvers: dict[str, tuple[str, ...]]
) -> tuple[Approval, ...]:
    """Approvals in issue comments (GitHub's format: ``user.login``, ``created_at``, ``body``).

    A comment approves when its body starts with ``command``; a role may follow it
    (``/approve production product_lead``), else the roles the author is allowed for, else
    every role (so the author is reported as not allowed).
    """
    found: list[Approval] = []
    for index, comment in enumerate(comments):
        body = comment.get("body")
        user = comment.get("user")
        if not isinstance(body, str) or not body.strip().startswith(command):
            continue
        login = user.get("login") if isinstance(user, dict) else None
        if not isinstance(login, str) or not login:
            raise PromotionError(f"comment {index} approves but names no user.login")
        at = parse_time(comment.get("created_at"), f"comment by {login}: created_at")
        words = body.strip()[len(command) :].split()
        named = [words[0]] if words and words[0] in roles else []
        mine = [role for role in roles if login in approvers.get(role, ())]
        for role in named or mine or list(roles):
            found.append(Approval(role, login, at, body.strip().splitlines()[0][:200]))
    return tuple(found)


def issue_comments(client: GitHubClient, issue: int) -> list[dict[str, Any]]:
    """Every comment of an issue (``GET /repos/{owner}/{repo}/issues/{number}/comments``)."""
    try:
        return [comment.model_dump() for comment in client.issue_comments(issue)]
    except GitHubError as exc:
        raise PromotionError(str(exc)) from None


@dataclass(frozen=True)
class ApprovalVerdict:
    checks: dict[str, RoleCheck]
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems and all(check.ok for check in self.checks.values())


def judge_approvals(
    approvals: Sequence[Approval],
    source: ApprovalSource,
    signoff: Signoff,
    version: str,
    now: datetime,
) -> ApprovalVerdict:
    """Each role approved after the sign-off by an allowed approver, in time; roles by different people."""
    record = ApprovalRecord(version, f"staging run {signoff.run_id}", signoff.finished_at, tuple(approvals), False)
    checks = {role: check_role(record, role, source.settings, now) for role in source.roles}
    problems = []
    accepted = [(role, check.accepted.name) for role, check in checks.items() if check.accepted is not None]
    names = [name for _, name in accepted]
    for name in sorted({name for name in names if names.count(name) > 1}):
        roles = ", ".join(role for role, who in accepted if who == name)
        problems.append(f"{name} approved as {roles}: each role needs its own approver")
    return ApprovalVerdict(checks, problems)


# --- dashboards and alerts --------------------------------------------------------------


def firing_alerts(base_url: str, timeout_s: float) -> list[str]:
    """The alerts Prometheus has firing (``/api/v1/alerts``), as ``name{labels}`` lines."""
    url = base_url.rstrip("/") + "/api/v1/alerts"
    try:
        response = httpx.get(url, timeout=httpx.Timeout(timeout_s))
        payload = response.json()
    except httpx.HTTPError as exc:
        raise PromotionError(f"Prometheus {url} did not answer: {type(exc).__name__}") from None
    except ValueError:
        raise PromotionError(f"Prometheus {url} answered HTTP {response.status_code} with no JSON") from None
    alerts = payload.get("data", {}).get("alerts") if isinstance(payload, dict) else None
    if payload.get("status") != "success" or not isinstance(alerts, list):
        raise PromotionError(f"Prometheus {url}: unexpected answer (HTTP {response.status_code})")
    return [
        f"{alert.get('labels', {}).get('alertname', '?')} {alert.get('labels', {})}"
        for alert in alerts
        if isinstance(alert, dict) and alert.get("state") == "firing"
    ]
