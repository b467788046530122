"""The phased rollout (runbook "Phased Rollout & Feature Flags", "Canary Monitoring").

Settings: ``[targets.<t>.checks.rollout]`` (validated strictly, unknown keys are errors)::

    flag = "ai_waiter"                      # the feature flag the rollout turns on
    owner = "release-manager"               # who owns the flag changes (or owner_env = "VAR")
    window_s = 13                           # each stage's analysis window (hours for real)
    ticket = "artifacts/release-ticket/{version}.md"   # the release ticket's record file
    snapshot_dir = "artifacts/observability"
    [targets.<t>.checks.rollout.stages]     # every stage, each a non-empty tenant list
    internal = ["icupa-hq", "icupa-qa"]
    pilot = ["kigali-bistro"]
    low_volume_ga = ["mountain-cafe"]
    full_ga = ["sunset-diner"]
    [targets.<t>.checks.rollout.analysis]   # optional: canary keys replaced for the stages
    min_conclusive_samples = 4

Each stage's canary analysis is the staging canary's (``[targets.<t>.checks.canary]``:
metrics, thresholds, sampling, synthetic traffic) with the stage's tenants and window; see
:func:`canary_for`. The flags actions get the flag and tenants from the target's vars
``rollout_flag`` and ``rollout_<stage>_tenants`` (comma-separated), which must agree with
this table (checked here, so a mismatch is a clear error before any flag changes).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import psycopg
from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checks.canary.analysis import CanarySettings, CanarySettingsError, Prometheus, QueryError, from_target
from plugin.settings import Settings

STAGES = ("internal", "pilot", "low_volume_ga", "full_ga")
DB_TIMEOUT_S = 10
LOG_HEADER = (
    "# Rollback log\n\nOne entry per rollback, rollout flag change and release handoff, appended by the release gate.\n"
)
TICKET_HEADER = "# Release ticket {version}\n\nFlag changes and handoff notes, appended by the release gate.\n"
_SLUG = r"^[a-z0-9][a-z0-9-]*$"
# Canary keys a rollout or monitor window may replace; the flag and tenants are its own.
ANALYSIS_KEYS = (
    "interval_s",
    "initial_delay_s",
    "lookback_s",
    "failure_limit",
    "consecutive_failure_limit",
    "inconclusive_limit",
    "min_conclusive_samples",
    "error_retry_limit",
    "error_retry_interval_s",
    "query_timeout_s",
    "confidence",
)


class RolloutSettingsError(Exception):
    """``[targets.<t>.checks.rollout]`` is missing or invalid; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_Tenants = Annotated[list[Annotated[str, Field(pattern=_SLUG)]], Field(min_length=1)]


class _Stages(_Strict):
    internal: _Tenants
    pilot: _Tenants
    low_volume_ga: _Tenants
    full_ga: _Tenants


class _Rollout(_Strict):
    flag: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    owner: Annotated[str, Field(min_length=1)] | None = None
    owner_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] | None = None
    window_s: Annotated[float, Field(gt=0)]
    ticket: Annotated[str, Field(min_length=1)] = "artifacts/release-ticket/{version}.md"
    snapshot_dir: Annotated[str, Field(min_length=1)] = "artifacts/observability"
    stages: _Stages
    analysis: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class RolloutSettings:
    flag: str
    owner: str
    window_s: float
    ticket: Path
    snapshot_dir: Path
    stages: dict[str, tuple[str, ...]]
    analysis: dict[str, Any]

    def cumulative(self, stage: str) -> tuple[str, ...]:
        """The tenants that have the flag once ``stage`` is done: its own and every earlier stage's."""
        index = STAGES.index(stage)
        return tuple(tenant for name in STAGES[: index + 1] for tenant in self.stages[name])

    @property
    def all_tenants(self) -> tuple[str, ...]:
        return self.cumulative(STAGES[-1])


def format_errors(exc: ValidationError, where: str) -> str:
    return "; ".join(f"{where}.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())


def check_analysis_overrides(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(table) - set(ANALYSIS_KEYS))
    if unknown:
        raise RolloutSettingsError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(ANALYSIS_KEYS)}")
    return dict(table)


def rollout_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> RolloutSettings:
    """The rollout settings of the current target; RolloutSettingsError names what is wrong."""
    environ = os.environ if environ is None else environ
    target = settings.target
    where = f"targets.{settings.target_name}.checks.rollout"
    if target is None or "rollout" not in target.checks:
        raise RolloutSettingsError(f"release.toml has no [{where}] table: the rollout has no stages")
    try:
        model = _Rollout.model_validate(target.checks["rollout"])
    except ValidationError as exc:
        raise RolloutSettingsError(format_errors(exc, where)) from None
    stages = {stage: tuple(getattr(model.stages, stage)) for stage in STAGES}
    seen: dict[str, str] = {}
    for stage, tenants in stages.items():
        for tenant in tenants:
            if tenant in seen:
                raise RolloutSettingsError(
                    f"{where}.stages: tenant {tenant!r} is in both {seen[tenant]} and {stage}; each tenant joins once"
                )
            seen[tenant] = stage
    if (model.owner is None) == (model.owner_env is None):
        raise RolloutSettingsError(f"{where}: set exactly one of owner and owner_env (who owns the flag changes)")
    owner = model.owner
    if model.owner_env is not None:
        owner = environ.get(model.owner_env, "").strip()
        if not owner:
            raise RolloutSettingsError(f"{where}.owner_env: the environment variable {model.owner_env} is not set")
    assert owner is not None
    expected_vars = {"rollout_flag": model.flag, **{f"rollout_{s}_tenants": ",".join(stages[s]) for s in STAGES}}
    for key, value in expected_vars.items():
        if key in target.vars and target.vars[key] != value:
            raise RolloutSettingsError(
                f"targets.{settings.target_name}.vars.{key} = {target.vars[key]!r} but {where} says {value!r}: "
                "the flags actions and the rollout checks must name the same flag and tenants"
            )
    version = settings.version or "unknown-version"
    return RolloutSettings(
        flag=model.flag,
        owner=owner,
        window_s=model.window_s,
        ticket=settings.rootdir / model.ticket.replace("{version}", version),
        snapshot_dir=settings.rootdir / model.snapshot_dir,
        stages=stages,
        analysis=check_analysis_overrides(model.analysis, f"{where}.analysis"),
    )


def canary_for(
    settings: Settings, tenants: Sequence[str], window_s: float, overrides: Mapping[str, Any] | None = None
) -> CanarySettings:
    """The target's canary analysis (metrics, thresholds, sampling, traffic) for other tenants
    and another window: the canary table with ``tenants``, ``window_s`` and ``overrides``
    replaced, validated by the canary's own loader."""
    target = settings.target
    if target is None or "canary" not in target.checks:
        raise CanarySettingsError(
            f"release.toml has no [targets.{settings.target_name}.checks.canary] table: "
            "the rollout reuses its metrics and sampling"
        )
    table = {**target.checks["canary"], **dict(overrides or {}), "tenants": list(tenants), "window_s": window_s}
    # The canary's vars name the staging canary's tenants; these are other tenants.
    plain_vars = {k: v for k, v in target.vars.items() if k not in ("canary_flag", "canary_tenants")}
    copy = target.model_copy(update={"checks": {**target.checks, "canary": table}, "vars": plain_vars})
    return from_target(dataclasses.replace(settings, target=copy))


# --- the database ---------------------------------------------------------------------


@dataclass(frozen=True)
class FlagState:
    tenant: str
    known: bool  # the tenant exists
    enabled: bool | None  # None: the tenant has no row for the flag
    updated_at: str | None
    updated_by: str | None

    def describe(self) -> str:
        if not self.known:
            return f"{self.tenant} (no such tenant)"
        if self.enabled is None:
            return f"{self.tenant} (never set)"
        return f"{self.tenant} ({'on' if self.enabled else 'off'} since {self.updated_at} by {self.updated_by})"


def flag_states(dsn: str, flag: str, tenants: Iterable[str]) -> dict[str, FlagState]:
    """The flag's state for each tenant, read from ``public.feature_flags``."""
    wanted = list(dict.fromkeys(tenants))
    with psycopg.connect(dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        rows = conn.execute(
            "select t.slug, f.enabled, f.updated_at, f.updated_by from public.tenants t "
            "left join public.feature_flags f on f.tenant_id = t.id and f.flag = %s where t.slug = any(%s)",
            (flag, wanted),
        ).fetchall()
    found = {slug: (enabled, at, by) for slug, enabled, at, by in rows}
    states = {}
    for tenant in wanted:
        if tenant not in found:
            states[tenant] = FlagState(tenant, False, None, None, None)
            continue
        enabled, at, by = found[tenant]
        states[tenant] = FlagState(tenant, True, enabled, None if at is None else at.isoformat(), by)
    return states


def flag_on_tenants(dsn: str, flag: str) -> list[str]:
    """Every tenant that has ``flag`` on, by slug."""
    with psycopg.connect(dsn, connect_timeout=DB_TIMEOUT_S) as conn:
        conn.execute(f"set statement_timeout = {DB_TIMEOUT_S * 1000}")
        rows = conn.execute(
            "select t.slug from public.feature_flags f join public.tenants t on t.id = f.tenant_id "
            "where f.flag = %s and f.enabled order by t.slug",
            (flag,),
        ).fetchall()
    return [str(row[0]) for row in rows]


def partial_change_message(
    stage: str, flag: str, tenants: Sequence[str], states: Mapping[str, FlagState] | None, failure: str
) -> str:
    """What a failed stage left behind: which of its tenants have the flag on and which not."""
    lines = [f"rollout stage {stage} is blocked: the flags CLI did not finish.", f"  {failure.strip()}"]
    if states is None:
        lines.append(f"  the flag's state for {', '.join(tenants)} is unknown: the database did not answer")
        lines.append(f"  check by hand: pnpm flags:list --flag {flag} --tenants {','.join(tenants)}")
        return "\n".join(lines)
    changed = [states[t].describe() for t in tenants if states[t].enabled is True]
    unchanged = [states[t].describe() for t in tenants if states[t].enabled is not True]
    lines.append(f"  {flag} changed (on) for: {', '.join(changed) or 'none'}")
    lines.append(f"  {flag} NOT changed for: {', '.join(unchanged) or 'none'}")
    return "\n".join(lines)


# --- the flags CLI's output -----------------------------------------------------------------


def flag_changes_in_log(text: str) -> list[dict[str, Any]]:
    """The flags CLI's ``feature_flag_changed`` lines (one JSON object per tenant) in an action log."""
    found = []
    for line in text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            payload = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("event") == "feature_flag_changed":
            found.append(payload)
    return found


# --- the records: rollback log and release ticket ----------------------------------------------


def flag_change_entry(
    *,
    when: str,
    stage: str,
    version: str,
    where: str,
    flag: str,
    tenants: Sequence[str],
    changes: Sequence[Mapping[str, Any]],
    outcome: str,
    owner: str,
    who: Mapping[str, str],
    run: str,
) -> str:
    """A rollback-log entry for one stage's flag change (the rollback entries' format family)."""
    changed = [str(c.get("tenant")) for c in changes if c.get("changed")]
    already = [str(c.get("tenant")) for c in changes if not c.get("changed")]
    number = STAGES.index(stage) + 1
    lines = [
        f"## {when} rollout {stage} of {version} on {where}",
        "",
        f"- what: flag {flag} enabled for {', '.join(tenants)} ({outcome}; changed: {', '.join(changed) or 'none'}; "
        f"already on: {', '.join(already) or 'none'})",
        f"- why: phased rollout stage {number} of {len(STAGES)} ({' -> '.join(STAGES)})",
        f"- when: {when}",
        f"- owner: {owner}",
        f"- who: {who['user']}@{who['host']} (pid {who['pid']}, worker {who['worker']})",
        f"- run: {run}",
    ]
    return "\n".join(lines) + "\n"


def append_record(path: Path, entry: str, header: str) -> None:
    """Append ``entry`` to a Markdown record under a file lock, writing ``header`` first if new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=60):
        new = not path.exists()
        with path.open("a", encoding="utf-8") as handle:
            if new:
                handle.write(header)
            handle.write("\n" + entry)


# --- observability snapshot --------------------------------------------------------------------


def metrics_snapshot(canary: CanarySettings, prometheus: Prometheus, at: float) -> dict[str, Any]:
    """The current value and sample size of every metric, and the scrape targets' ``up`` state.

    A query that fails is recorded with its error (never as a value)."""
    metrics: dict[str, Any] = {}
    for spec in canary.metrics:
        entry: dict[str, Any] = {"query": spec.query, "count_query": spec.count_query, "rule": spec.rule()}
        try:
            entry["value"] = _finite(prometheus.query(spec.query, at))
            entry["requests"] = _finite(prometheus.query(spec.count_query, at))
        except QueryError as exc:
            entry["error"] = str(exc)
        metrics[spec.name] = entry
    up: dict[str, Any] = {}
    for job in (canary.agents_job, canary.functions_job):
        try:
            up[job] = prometheus.up(job)
        except QueryError as exc:
            up[job] = {"error": str(exc)}
    return {"metrics": metrics, "up": up}


def _finite(value: float | None) -> float | str | None:
    if value is None:
        return None
    return value if math.isfinite(value) else repr(value)


def snapshot_problems(snapshot: Mapping[str, Any]) -> list[str]:
    """Why a snapshot does not show the platform's state: failed queries, targets down."""
    problems = [f"{name}: {m['error']}" for name, m in snapshot.get("metrics", {}).items() if "error" in m]
    for job, ups in snapshot.get("up", {}).items():
        if isinstance(ups, dict):
            problems.append(f"up{{job={job!r}}}: {ups.get('error')}")
        elif not ups:
            problems.append(f"Prometheus has no {job} target")
        elif any(value != "1" for value in ups):
            problems.append(f"{job} targets down: up = {ups}")
    return problems


def write_json(path: Path, payload: Mapping[str, Any]) -> Path:
    """``payload`` as JSON, written atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(payload, indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return path
