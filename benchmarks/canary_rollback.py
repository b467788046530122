"""Canary detection, rollback time and false verdicts, measured on an isolated sandbox (issue 6).

Everything runs on one sandbox of its own: a fresh ``SANDBOX_STATE_DIR`` and a free
``SANDBOX_PORT_BASE`` between 25000 and 25900. Staging is brought up, given the previous
release everywhere (``baseline --version v0.0.9``) and then the release under test (agents and
web ``v0.1.0``), and it is brought down at the end. Every analysis uses the staging canary's
real settings: ``[targets.sandbox.checks.canary]`` of ``release.toml`` read by
``checks.canary.analysis.from_target`` (interval, lookback, initial delay, window, limits,
minimum sample sizes, the synthetic traffic), with the target's thresholds.

1. Detection. For each fault (default: ``error_rate=0.05``, ``latency_ms=400``,
   ``guardrail_breach_rate=0.05``, ``payment_failure_rate=0.1``), N analyses of a release
   that turns bad while it is watched: the traffic runs, the analysis starts, and
   ``python -m sandbox fault set KEY=VALUE`` runs at an offset between the second and the
   third sample (spread over one interval across the repetitions). The fault moment is the
   faults file's modification time. The *first failing sample* is the first sample taken
   after that moment whose value breaks its threshold (its lookback then holds bad
   traffic), whether it failed or, for a ratio, was past it but not yet significantly
   (inconclusive); the *verdict* is the analysis's end (its last sample). Reported: the samples
   from the first failing one to the verdict, inclusive (target: at most
   ``consecutive_failure_limit + 1``), that count as sampling intervals, and the time from
   the fault to the verdict. A fault spec ``KEY=VALUE@K`` sends the same total rate from K
   generators at once instead of the gate's single one (the generator is open-loop since
   the README's first measurement, so one generator is expected to suffice).
2. Rollback time. R times: the release ``v0.1.0`` turns bad (``error_rate=0.2``), the
   analysis fails, and from that verdict ``python -m sandbox.rollback_previous agents`` then
   ``... web`` run (``--release-version v0.1.0``, as the gate's rollback actions do) while
   the traffic goes on. Two pollers, started at the verdict, ask the agents service's
   ``/version`` and the web server's ``/__sandbox/health`` until each reports ``v0.0.9``.
   Each poll opens a new connection, as a new visitor does. Reported: seconds from the
   verdict to each part and to both serving the previous version (target under 30 s), and
   what one connection opened before the rollback and kept alive through it is served
   afterwards. Between repetitions agents and web ``v0.1.0`` are deployed again.
3. False verdicts. M good releases per noise profile (default: ``latency_ms=40`` alone, and
   with ``error_rate=0.002``), each a full analysis over the staging window; every verdict
   other than ``passed`` is false (failed and inconclusive are counted apart).

Usage: ``.venv/bin/python benchmarks/canary_rollback.py [--repetitions N] [--rollbacks R]
[--good-runs M] [--fault SPEC ...] [--noise SPEC ...] [--skip PART ...] [--json FILE]``. Prints a Markdown
report and the machine's load average (other work on the machine moves the figures). No
assertion is made on time: the figures are compared with the targets in the report only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks.canary.analysis import (
    Analysis,
    AnalysisResult,
    CanarySettings,
    CanarySettingsError,
    Outcome,
    Prometheus,
    Sample,
    Verdict,
    from_target,
)
from checks.canary.traffic import TrafficGenerator
from plugin.config import ConfigError, load_release_config
from plugin.masking import Masker
from plugin.settings import Settings
from sandbox import Sandbox

REPO: Final = Path(__file__).resolve().parents[1]
PREVIOUS: Final = "v0.0.9"
RELEASE: Final = "v0.1.0"
CLI_TIMEOUT_S: Final = 300.0
PORT_BASES: Final = range(25000, 25901, 20)
PORT_RANGE: Final = 10
SETTLE_S: Final = 1.5  # after a fault change, so no scrape of the next window holds older traffic
TRAFFIC_SLACK_S: Final = 5.0
POLL_EVERY_S: Final = 0.05
POLL_LIMIT_S: Final = 120.0
ROLLBACK_FAULT: Final = "error_rate=0.2"
DEFAULT_FAULTS: Final = (
    "error_rate=0.05",
    "latency_ms=400",
    "latency_ms=400@10",
    "guardrail_breach_rate=0.05",
    "payment_failure_rate=0.1",
)
DEFAULT_NOISE: Final = ("latency_ms=40", "latency_ms=40,error_rate=0.002")


class BenchmarkError(Exception):
    """The sandbox could not be prepared: the message says which command failed and how."""


# --- the sandbox --------------------------------------------------------------------------


def _free_base() -> int:
    for base in PORT_BASES:
        try:
            for port in range(base, base + PORT_RANGE):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise BenchmarkError(f"no free port range between {PORT_BASES.start} and {PORT_BASES.stop - 1}")


@dataclass(frozen=True)
class Box:
    """The isolated sandbox: its environment variables and its staging endpoints."""

    state_dir: Path
    port_base: int
    environ: dict[str, str]

    def cli(self, *args: str, module: str = "sandbox") -> tuple[float, subprocess.CompletedProcess[str]]:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        return time.monotonic() - began, done

    def must(self, *args: str, attempts: int = 1) -> float:
        """Run a sandbox verb on staging; raise BenchmarkError with its stderr when it fails."""
        seconds, done = self.cli(*args, "--env", "staging")
        for _ in range(attempts - 1):
            if done.returncode == 0:
                break
            seconds, done = self.cli(*args, "--env", "staging")
        if done.returncode != 0:
            raise BenchmarkError(
                f"python -m sandbox {' '.join(args)} --env staging exited {done.returncode}:\n{done.stderr[-2000:]}"
            )
        return seconds

    def faults(self, *assignments: str) -> None:
        self.must("fault", "clear")
        if assignments:
            self.must("fault", "set", *assignments)
        time.sleep(SETTLE_S)

    @property
    def sandbox(self) -> Sandbox:
        return Sandbox.for_env("staging", self.environ)


def _deploy_release(box: Box) -> dict[str, float]:
    # The workspace's build folders are shared with whoever else deploys from this checkout,
    # so a deploy that lost a race with another build is tried once more.
    return {part: box.must("deploy", part, "--version", RELEASE, attempts=2) for part in ("agents", "web")}


# --- settings, traffic and one analysis ----------------------------------------------------


def canary_settings() -> CanarySettings:
    path = REPO / "release.toml"
    release = load_release_config(path)
    settings = Settings(
        plan=False,
        dry_run=False,
        target_name="sandbox",
        env="staging",
        version=RELEASE,
        version_source="benchmarks/canary_rollback.py",
        selections=frozenset({"staging"}),
        rootdir=REPO,
        state_dir=REPO / ".release-gate",
        suites=(),
        release=release,
        config_path=path,
        target=release.targets.get("sandbox"),
        checklist=None,
        masker=Masker(),
    )
    canary = from_target(settings)
    if canary.traffic is None:
        raise CanarySettingsError("targets.sandbox.checks.canary.traffic is missing: the sandbox has no users")
    return canary


@contextlib.contextmanager
def traffic(box: Box, canary: CanarySettings, generators: int, duration_s: float) -> Iterator[list[TrafficGenerator]]:
    """The canary's synthetic traffic, its rate split over ``generators`` concurrent senders."""
    plan = canary.traffic
    assert plan is not None  # canary_settings() refused a canary without traffic
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                TrafficGenerator(
                    box.sandbox.endpoints()["agents"],
                    canary.tenants,
                    rps=plan.rps / generators,
                    max_requests=max(1, plan.max_requests // generators),
                    duration_s=duration_s,
                    payment_share=plan.payment_share,
                    timeout_s=plan.timeout_s,
                )
            )
            for _ in range(generators)
        ]


def _sent(generators: Sequence[TrafficGenerator]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for generator in generators:
        for key, count in generator.stats.statuses.items():
            statuses[key] = statuses.get(key, 0) + count
        for key, count in generator.stats.errors.items():
            errors[key] = errors.get(key, 0) + count
    return {
        "sent": sum(g.stats.sent for g in generators),
        "shed": sum(g.stats.shed for g in generators),
        "in_flight_peak": max((g.stats.in_flight_peak for g in generators), default=0),
        "statuses": statuses,
        "errors": errors,
    }


def _analysis(box: Box, canary: CanarySettings) -> Analysis:
    prometheus = Prometheus(box.sandbox.endpoints()["prometheus"], canary.query_timeout_s)
    return Analysis(canary.metrics, prometheus, canary.analysis)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _samples(result: AnalysisResult) -> list[Sample]:
    return [sample for metric in result.metrics.values() for sample in metric.samples]


def _timeline(result: AnalysisResult) -> dict[str, str]:
    """Per metric, one letter per sample: p(ass) F(ail) i(nconclusive) E(rror)."""
    letters = {Outcome.PASS: "p", Outcome.FAIL: "F", Outcome.INCONCLUSIVE: "i", Outcome.ERROR: "E"}
    return {name: "".join(letters[s.outcome] for s in metric.samples) for name, metric in result.metrics.items()}


# --- 1. detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultCase:
    assignments: tuple[str, ...]
    generators: int

    @classmethod
    def parse(cls, spec: str) -> FaultCase:
        assignments, _, count = spec.partition("@")
        generators = int(count) if count else 1
        if generators < 1:
            raise argparse.ArgumentTypeError(f"{spec!r}: the generator count after @ must be at least 1")
        return cls(tuple(part for part in assignments.split(",") if part), generators)

    @property
    def label(self) -> str:
        shown = ", ".join(self.assignments)
        return shown if self.generators == 1 else f"{shown}, {self.generators} generators"


@dataclass
class FaultSwitch:
    """Runs ``python -m sandbox fault set`` at ``offset_s`` after ``start`` (monotonic), unless cancelled."""

    box: Box
    assignments: tuple[str, ...]
    start: float
    offset_s: float
    switched_at: float | None = None  # epoch seconds: the faults file's modification time
    problem: str = ""
    cancelled: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def begin(self) -> None:
        self.thread = threading.Thread(target=self._run, name="fault-switch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.cancelled.wait(max(0.0, self.start + self.offset_s - time.monotonic())):
            return
        _, done = self.box.cli("fault", "set", *self.assignments, "--env", "staging")
        if done.returncode != 0:
            self.problem = f"fault set exited {done.returncode}: {done.stderr[-500:]}"
            return
        self.switched_at = self.box.sandbox.paths.faults_file.stat().st_mtime

    def finish(self) -> None:
        self.cancelled.set()
        if self.thread is not None:
            self.thread.join(timeout=CLI_TIMEOUT_S)


def detect_once(box: Box, canary: CanarySettings, case: FaultCase, offset_s: float) -> dict[str, Any]:
    config = canary.analysis
    box.faults()
    analysis = _analysis(box, canary)
    with traffic(box, canary, case.generators, config.window_s + TRAFFIC_SLACK_S) as generators:
        switch = FaultSwitch(box, case.assignments, time.monotonic(), offset_s)
        switch.begin()
        result = analysis.run()
        switch.finish()
    row: dict[str, Any] = {
        "fault": case.label,
        "offset_s": round(offset_s, 2),
        "verdict": result.verdict.value,
        "stopped_reason": result.stopped_reason,
        "duration_s": round(result.duration_s, 2),
        "timeline": _timeline(result),
        "traffic": _sent(generators),
    }
    if switch.switched_at is None:
        row["problem"] = switch.problem or "the analysis ended before the fault was switched on"
        return row
    row.update(_detection_figures(result, switch.switched_at, config.interval_s, config.consecutive_failure_limit))
    return row


def _detection_figures(result: AnalysisResult, switched_at: float, interval_s: float, limit: int) -> dict[str, Any]:
    began = _epoch(result.started_at)
    samples = _samples(result)
    verdict_tick = max(sample.tick for sample in samples)
    before = [s for s in samples if _epoch(s.at) <= switched_at]
    specs = {name: metric.spec for name, metric in result.metrics.items()}
    # Past the threshold: failed, or (a ratio) past it but not yet significantly (inconclusive).
    failing = [
        s for s in samples if s.value is not None and not specs[s.metric].passes(s.value) and _epoch(s.at) > switched_at
    ]
    figures: dict[str, Any] = {
        "switched_s": round(switched_at - began, 2),
        "verdict_tick": verdict_tick,
        "switch_to_verdict_s": round(began + result.duration_s - switched_at, 2),
        "pre_fault_not_passing": sorted(
            {f"{s.metric} {s.outcome.value}" for s in before if s.outcome is not Outcome.PASS}
        ),
    }
    if not failing:
        figures["detected"] = False
        return figures
    first = min(failing, key=lambda sample: (sample.tick, sample.elapsed_s))
    exposed = [s for s in samples if s.metric == first.metric and _epoch(s.at) > switched_at and s.tick < first.tick]
    to_verdict = verdict_tick - first.tick + 1
    figures.update(
        {
            "detected": result.verdict is Verdict.FAILED,
            "first_failing": {"metric": first.metric, "tick": first.tick, "elapsed_s": first.elapsed_s},
            "exposed_samples_before_first_failing": len(exposed),
            "samples_first_failing_to_verdict": to_verdict,
            "intervals_first_failing_to_verdict": to_verdict - 1,
            "switch_to_verdict_intervals": round((began + result.duration_s - switched_at) / interval_s, 2),
            "within_target": result.verdict is Verdict.FAILED and to_verdict <= limit + 1,
        }
    )
    return figures


def measure_detection(
    box: Box, canary: CanarySettings, cases: Sequence[FaultCase], repetitions: int
) -> list[dict[str, Any]]:
    config = canary.analysis
    rows = []
    for case in cases:
        for repetition in range(repetitions):
            # Between the second and the third sample, spread over one interval.
            offset = config.initial_delay_s + config.interval_s * (1 + (repetition + 0.5) / repetitions)
            row = detect_once(box, canary, case, offset)
            row["repetition"] = repetition + 1
            rows.append(row)
            _progress(
                f"detection {case.label} #{repetition + 1}: {row['verdict']}, "
                f"{row.get('samples_first_failing_to_verdict', '-')} samples first failing to verdict"
            )
    box.faults()
    return rows


# --- 2. rollback time -----------------------------------------------------------------------


@dataclass
class VersionPoller:
    """Asks ``url`` every 50 ms until its JSON ``version`` is ``expected``; times it from ``since``.

    Each request opens a new connection, as a new visitor would; ``rollback_once`` checks a
    kept-alive one apart (the web server now resolves the release per request).
    """

    url: str
    expected: str
    since: float
    served_after_s: float | None = None
    last_seen: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def begin(self) -> None:
        self.thread = threading.Thread(target=self._run, name="version-poller", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set() and time.monotonic() - self.since < POLL_LIMIT_S:
            version, self.last_seen = _version(None, self.url)
            if version == self.expected:
                self.served_after_s = time.monotonic() - self.since
                return
            self.stop.wait(POLL_EVERY_S)

    def finish(self) -> None:
        if self.thread is not None:
            self.thread.join(timeout=POLL_LIMIT_S)
        self.stop.set()


def _version(client: httpx.Client | None, url: str) -> tuple[str | None, str]:
    """The ``version`` a JSON endpoint reports (None when it does not answer 200), and what was seen."""
    try:
        response = client.get(url) if client is not None else httpx.get(url, timeout=2.0)
        version = response.json().get("version") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return None, type(exc).__name__
    return (str(version) if version is not None else None), f"HTTP {response.status_code} version={version}"


def _rollback_summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        payload = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"ok": False, "detail": done.stderr[-500:]}
    return {"ok": bool(payload.get("ok")), "rolled_back": payload.get("rolled_back"), "to": payload.get("to_version")}


def rollback_once(box: Box, canary: CanarySettings) -> dict[str, Any]:
    box.faults(ROLLBACK_FAULT)
    endpoints = box.sandbox.endpoints()
    analysis = _analysis(box, canary)
    with traffic(box, canary, 1, canary.analysis.window_s + POLL_LIMIT_S) as generators:
        result = analysis.run()
        verdict_at = time.monotonic()
        errors_before = sum(_sent(generators)["errors"].values())
        urls = {"agents": f"{endpoints['agents']}/version", "web": f"{endpoints['web']}/__sandbox/health"}
        pollers = {part: VersionPoller(url, PREVIOUS, verdict_at) for part, url in urls.items()}
        for poller in pollers.values():
            poller.begin()
        with httpx.Client(timeout=2.0) as kept:
            # One connection opened before the switch and kept alive through it, as a browser's.
            kept_alive = {part: [_version(kept, url)[1]] for part, url in urls.items()}
            commands = {}
            for part in ("agents", "web"):
                args = (part, "--env", "staging", "--release-version", RELEASE)
                seconds, done = box.cli(*args, module="sandbox.rollback_previous")
                commands[part] = {"seconds": round(seconds, 2), **_rollback_summary(done)}
            for poller in pollers.values():
                poller.finish()
            for part, url in urls.items():
                kept_alive[part].append(_version(kept, url)[1])
        errors_during = sum(_sent(generators)["errors"].values()) - errors_before
    served = {part: poller.served_after_s for part, poller in pollers.items()}
    both = None if None in served.values() else max(s for s in served.values() if s is not None)
    return {
        "verdict": result.verdict.value,
        "verdict_after_s": round(result.duration_s, 2),
        "commands": commands,
        "served_after_s": {part: None if s is None else round(s, 2) for part, s in served.items()},
        "both_after_s": None if both is None else round(both, 2),
        "last_seen": {part: poller.last_seen for part, poller in pollers.items()},
        "kept_alive_connection_before_after": kept_alive,
        "transport_errors_during_rollback": errors_during,
    }


def measure_rollback(box: Box, canary: CanarySettings, rounds: int) -> list[dict[str, Any]]:
    rows = []
    for repetition in range(rounds):
        if repetition:
            box.faults()
            forward = _deploy_release(box)
        else:
            forward = {}
        row = rollback_once(box, canary)
        row["repetition"] = repetition + 1
        row["forward_redeploy_s"] = {part: round(s, 2) for part, s in forward.items()}
        rows.append(row)
        _progress(
            f"rollback #{repetition + 1}: verdict {row['verdict']}, both serve {PREVIOUS} after {row['both_after_s']} s"
        )
    box.faults()
    return rows


# --- 3. false verdicts ----------------------------------------------------------------------


def good_release(box: Box, canary: CanarySettings, noise: tuple[str, ...]) -> dict[str, Any]:
    box.faults(*noise)
    analysis = _analysis(box, canary)
    with traffic(box, canary, 1, canary.analysis.window_s + TRAFFIC_SLACK_S) as generators:
        result = analysis.run()
    worst: dict[str, float | None] = {}
    for name, metric in result.metrics.items():
        values = [s.value for s in metric.samples if s.value is not None]
        pick = max if metric.spec.direction == "max" else min
        worst[name] = round(pick(values), 5) if values else None
    failing = [
        # value x requests: how many errors, breaches or failed payments made the sample fail
        f"{s.metric} {s.raw} over {s.requests or 0:.0f} = {(s.value or 0) * (s.requests or 0):.2f} events"
        if s.metric != "payments_success"
        else f"{s.metric} {s.raw} over {s.requests or 0:.0f} = {(1 - (s.value or 0)) * (s.requests or 0):.2f} failed"
        for s in _samples(result)
        if s.outcome is Outcome.FAIL
    ]
    excess = [
        f"{s.metric} #{s.tick}: {s.message}"
        for s in _samples(result)
        if s.outcome is Outcome.INCONCLUSIVE and "not significantly" in s.message
    ]
    return {
        "verdict": result.verdict.value,
        "completed": result.completed,
        "duration_s": round(result.duration_s, 2),
        "failing_samples": failing,
        "not_significant_samples": excess,
        "reasons": {name: m.reason for name, m in result.metrics.items() if m.verdict is not Verdict.PASSED},
        "timeline": _timeline(result),
        "worst_values": worst,
        "traffic": _sent(generators),
    }


def measure_false_verdicts(
    box: Box, canary: CanarySettings, profiles: Sequence[FaultCase], runs: int
) -> list[dict[str, Any]]:
    rows = []
    for profile in profiles:
        for repetition in range(runs):
            row = good_release(box, canary, profile.assignments)
            row.update({"noise": profile.label, "repetition": repetition + 1})
            rows.append(row)
            _progress(f"good release [{profile.label}] #{repetition + 1}: {row['verdict']}")
    box.faults()
    return rows


# --- the report -------------------------------------------------------------------------------


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _figure(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s (n={len(values)})"


def report_detection(rows: Sequence[dict[str, Any]], canary: CanarySettings) -> list[str]:
    config = canary.analysis
    limit = config.consecutive_failure_limit
    lines = [
        f"## Detection (target: at most consecutive_failure_limit + 1 = {limit + 1} samples, first failing to verdict)",
        "",
        "| fault | # | switched at (s) | first failing sample | samples first failing → verdict "
        "| fault → verdict | verdict | within target | outcomes (p F i E per sample) | sent / shed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        first = row.get("first_failing")
        shown = f"{first['metric']} @ {first['elapsed_s']:.1f} s (tick {first['tick']})" if first else "none"
        outcomes = " ".join(f"{name[:4]}:{marks}" for name, marks in row["timeline"].items())
        to_verdict = row.get("switch_to_verdict_s")
        after = "-" if to_verdict is None else f"{to_verdict} s ({row.get('switch_to_verdict_intervals', '-')} int.)"
        lines.append(
            f"| {row['fault']} | {row['repetition']} | {row.get('switched_s', '-')} | {shown} "
            f"| {row.get('samples_first_failing_to_verdict', '-')} "
            f"| {after} "
            f"| {row['verdict']} | {'yes' if row.get('within_target') else 'NO'} | {outcomes} "
            f"| {row['traffic']['sent']} / {row['traffic']['shed']} |"
        )
    lines += [
        "",
        "| fault | failed | within target | samples first failing → verdict (max) | fault → verdict |",
        "|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(row["fault"] for row in rows):
        mine = [row for row in rows if row["fault"] == label]
        counts = [row["samples_first_failing_to_verdict"] for row in mine if "samples_first_failing_to_verdict" in row]
        seconds = [row["switch_to_verdict_s"] for row in mine if row.get("detected")]
        lines.append(
            f"| {label} | {sum(1 for r in mine if r['verdict'] == 'failed')}/{len(mine)} "
            f"| {sum(1 for r in mine if r.get('within_target'))}/{len(mine)} | {max(counts) if counts else '-'} "
            f"| {_figure(seconds)} |"
        )
    return lines


def report_rollback(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"## Rollback: verdict to {PREVIOUS} serving again (target under 30 s)",
        "",
        "| # | verdict | agents rollback cmd (s) | web rollback cmd (s) | agents serves "
        f"{PREVIOUS} | web serves {PREVIOUS} | both | transport errors | forward redeploy before (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        served, commands = row["served_after_s"], row["commands"]
        forward = ", ".join(f"{part} {s}" for part, s in row["forward_redeploy_s"].items()) or "-"
        lines.append(
            f"| {row['repetition']} | {row['verdict']} | {commands['agents']['seconds']} "
            f"| {commands['web']['seconds']} | {served['agents']} | {served['web']} | {row['both_after_s']} "
            f"| {row['transport_errors_during_rollback']} | {forward} |"
        )
    both = [row["both_after_s"] for row in rows if row["both_after_s"] is not None]
    for part in ("agents", "web"):
        values = [row["served_after_s"][part] for row in rows if row["served_after_s"][part] is not None]
        lines.append(f"\n{part}: {_figure(values)}")
    for row in rows:
        kept = row["kept_alive_connection_before_after"]
        shown = "; ".join(f"{part}: {' -> '.join(seen)}" for part, seen in kept.items())
        lines.append(f"\n#{row['repetition']}, one connection kept alive through the rollback: {shown}")
    met = len(both) == len(rows) and bool(both) and max(both) < 30.0
    lines.append(f"\nboth: {_figure(both)}: target {'met' if met else 'MISSED'}")
    return lines


def report_false_verdicts(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "## False verdicts over good releases (target: zero)",
        "",
        "| noise | runs | passed | failed | inconclusive | error | worst error_rate | worst latency_p95 (s) "
        "| runs with a not significant excess | traffic sent/s (min) | shed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(row["noise"] for row in rows):
        mine = [row for row in rows if row["noise"] == label]
        count = {v.value: sum(1 for r in mine if r["verdict"] == v.value) for v in Verdict}
        errors = [r["worst_values"]["error_rate"] for r in mine if r["worst_values"].get("error_rate") is not None]
        latency = [r["worst_values"]["latency_p95"] for r in mine if r["worst_values"].get("latency_p95") is not None]
        excess = sum(1 for r in mine if r["not_significant_samples"])
        rates = [r["traffic"]["sent"] / r["duration_s"] for r in mine if r["duration_s"] > 0]
        shed = sum(r["traffic"]["shed"] for r in mine)
        lines.append(
            f"| {label} | {len(mine)} | {count['passed']} | {count['failed']} | {count['inconclusive']} "
            f"| {count['error']} | {max(errors) if errors else '-'} | {max(latency) if latency else '-'} "
            f"| {excess} | {min(rates):.1f} | {shed} |"
            if rates
            else f"| {label} | {len(mine)} | {count['passed']} | {count['failed']} | {count['inconclusive']} "
            f"| {count['error']} | - | - | {excess} | - | {shed} |"
        )
    for row in rows:
        for line in row["not_significant_samples"]:
            lines.append(f"\n- [{row['noise']}] #{row['repetition']} {row['verdict']}, not significant: {line}")
    for row in rows:
        if row["verdict"] != "passed":
            reasons = "; ".join(f"{name}: {why}" for name, why in row["reasons"].items() if "not judged" not in why)
            failing = ", ".join(row["failing_samples"]) or "none"
            lines.append(f"\n- [{row['noise']}] #{row['repetition']} {row['verdict']}: {reasons}; failing: {failing}")
    return lines


# --- main -------------------------------------------------------------------------------------


def _prepare(box: Box) -> dict[str, float]:
    seconds = {"up": box.must("up"), "baseline": box.must("baseline", "--version", PREVIOUS, attempts=2)}
    seconds.update({f"deploy {part}": s for part, s in _deploy_release(box).items()})
    return seconds


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repetitions", type=int, default=3, help="detection runs per fault (default 3)")
    parser.add_argument("--rollbacks", type=int, default=3, help="rollback repetitions (default 3)")
    parser.add_argument("--good-runs", type=int, default=4, help="good releases per noise profile (default 4)")
    parser.add_argument("--fault", action="append", type=FaultCase.parse, help="KEY=VALUE[,KEY=VALUE][@GENERATORS]")
    parser.add_argument("--noise", action="append", type=FaultCase.parse, help="a noise profile, KEY=VALUE[,...]")
    parser.add_argument("--skip", action="append", choices=("detection", "rollback", "false"), default=[])
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if min(args.repetitions, args.rollbacks, args.good_runs) < 1:
        parser.error("--repetitions, --rollbacks and --good-runs must be at least 1")
    return args


def _measure(box: Box, canary: CanarySettings, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"load_before": _load()}
    figures["setup_s"] = {name: round(s, 2) for name, s in _prepare(box).items()}
    if "detection" not in args.skip:
        cases = args.fault or [FaultCase.parse(spec) for spec in DEFAULT_FAULTS]
        figures["detection"] = measure_detection(box, canary, cases, args.repetitions)
        figures["load_after_detection"] = _load()
    if "false" not in args.skip:
        profiles = args.noise or [FaultCase.parse(spec) for spec in DEFAULT_NOISE]
        figures["false_verdicts"] = measure_false_verdicts(box, canary, profiles, args.good_runs)
        figures["load_after_false_verdicts"] = _load()
    if "rollback" not in args.skip:
        figures["rollback"] = measure_rollback(box, canary, args.rollbacks)
        figures["load_after_rollback"] = _load()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        canary = canary_settings()
    except (ConfigError, CanarySettingsError) as exc:
        print(f"canary_rollback: release.toml: {exc}", file=sys.stderr)
        return 2
    state = Path(tempfile.mkdtemp(prefix="icupa-bench-canary-"))
    state.chmod(0o755)  # PostgreSQL runs as another user and must traverse it
    try:
        base = _free_base()
    except BenchmarkError as exc:
        print(f"canary_rollback: {exc}", file=sys.stderr)
        shutil.rmtree(state, ignore_errors=True)
        return 1
    environ = {**os.environ, "SANDBOX_STATE_DIR": str(state), "SANDBOX_PORT_BASE": str(base), "PYTHONPATH": str(REPO)}
    box = Box(state, base, environ)
    started = time.monotonic()
    try:
        figures = _measure(box, canary, args)
    except BenchmarkError as exc:
        print(f"canary_rollback: {exc}", file=sys.stderr)
        return 1
    finally:
        box.cli("down", "--env", "staging")
        shutil.rmtree(state, ignore_errors=True)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["load_after"] = _load()
    config = canary.analysis
    lines = [
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC, port base {base}",
        f"load average (1/5/15 min): {figures['load_before']} before, {figures['load_after']} after; "
        f"other work on this machine moves these figures",
        f"canary: interval {config.interval_s:g} s, window {config.window_s:g} s, initial delay "
        f"{config.initial_delay_s:g} s, consecutive limit {config.consecutive_failure_limit}, "
        f"failure limit {config.failure_limit}; setup {figures['setup_s']}; wall {figures['wall_s']} s",
        "",
    ]
    if "detection" in figures:
        lines += [*report_detection(figures["detection"], canary), ""]
    if "rollback" in figures:
        lines += [*report_rollback(figures["rollback"]), ""]
    if "false_verdicts" in figures:
        lines += report_false_verdicts(figures["false_verdicts"])
    print("\n".join(lines))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
