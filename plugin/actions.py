"""Deployment actions: declared in code, configured per target, run as fixtures.

An action is a command that changes (or may change) the platform: a database push, a
deploy, a flag change, a notification. It is declared once with :func:`release_action`,
which returns a session fixture; its argv per target lives in ``release.toml``. However
many tests and xdist workers request it, it runs at most once per release run: a file lock
serialises the requests and the run ledger remembers the outcome. It never uses a shell,
always has a timeout, and refuses to run once the gate has closed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import pytest
from filelock import FileLock

from plugin.allure_support import attach_action_log
from plugin.gate import skip_reason
from plugin.ledger import LedgerError, actor, utc_now
from plugin.phases import Unit, resolve_unit
from plugin.runtime import Runtime, get_runtime
from plugin.templating import TemplateError, render

_TAIL_LINES: Final = 40
_TAIL_CHARS: Final = 4000
_KILL_GRACE_S: Final = 5.0
_READER_GRACE_S: Final = 1.0
_LOCK_TIMEOUT_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What code says about an action; how it runs comes from the target."""

    name: str
    unit: Unit | None  # None: may first run from whichever unit needs it
    mutating: bool = True
    deploys: bool = True  # changes what the platform serves: a failure after it may trigger rollback
    compensates: tuple[str, ...] = ()  # the deploys it undoes; any one having run makes it needed
    after: tuple[str, ...] = ()
    description: str = ""

    @property
    def where(self) -> str:
        return self.unit.label if self.unit is not None else "any unit"


@dataclass(frozen=True, slots=True)
class ResolvedCommand:
    """Every argv of an action, in order, and where and how long they may run."""

    argvs: tuple[tuple[str, ...], ...]
    cwd: Path
    env: dict[str, str]
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of an action, as recorded in the ledger (secrets already masked)."""

    name: str
    status: str  # ok, failed, timeout, missing_command, interrupted, planned, not_needed, refused, error
    commands: tuple[tuple[str, ...], ...]
    exit_code: int | None
    duration_s: float
    output_tail: str
    log_path: str | None
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.status in {"ok", "planned", "not_needed"}

    @property
    def planned(self) -> bool:
        return self.status == "planned"


class ActionError(Exception):
    """An action could not be resolved for the target; the message says why."""


# Declarations are definitions, like fixtures themselves: made at import time of the
# module that declares them, keyed by name. Run state never lives here.
DECLARED_ACTIONS: dict[str, ActionSpec] = {}


def template_variables(runtime: Runtime, spec: ActionSpec) -> dict[str, str]:
    settings = runtime.settings
    target = settings.target
    variables = {
        "python": sys.executable,
        "root": str(settings.rootdir),
        "run_dir": str(runtime.run_dir),
        "target": settings.target_name,
        # Actions act on staging unless production is named (a -m ci run has no environment).
        "env": settings.env or "staging",
        "version": settings.version or "",
        "action": spec.name,
    }
    if target is not None:
        variables.update(target.vars)
        env = variables["env"]
        if env in target.environments:
            variables.update(target.environments[env].vars)
    return variables


def resolve_command(
    runtime: Runtime, spec: ActionSpec, *, strict: bool = True, environ: Mapping[str, str] | None = None
) -> ResolvedCommand:
    """The argv, directory, environment and timeout of ``spec`` on the current target."""
    settings = runtime.settings
    target = settings.target
    where = settings.config_path or (settings.rootdir / "release.toml")
    if target is None:
        raise ActionError(f"action {spec.name!r} needs a target, and there is no {where}")
    configured = target.actions.get(spec.name)
    if configured is None:
        raise ActionError(
            f"action {spec.name!r} has no argv for target {settings.target_name!r}: "
            f"add [targets.{settings.target_name}.actions.{spec.name}] to {where}"
        )
    env_source = os.environ if environ is None else environ
    variables = template_variables(runtime, spec)
    try:
        argvs = tuple(
            tuple(render(arg, variables, env_source, strict=strict) for arg in argv) for argv in configured.argvs
        )
        cwd = render(configured.cwd, variables, env_source, strict=strict) if configured.cwd else "."
        extra_env = {k: render(v, variables, env_source, strict=strict) for k, v in configured.env.items()}
    except TemplateError as exc:
        raise ActionError(f"action {spec.name!r} on target {settings.target_name!r}: {exc}") from None
    return ResolvedCommand(argvs, settings.rootdir / cwd, extra_env, configured.timeout_s)


def _drain(stream: IO[bytes], log: IO[str], tail: deque[str], mask: Any) -> None:
    for raw in iter(stream.readline, b""):
        line = mask(raw.decode("utf-8", errors="replace"))
        log.write(line)
        tail.append(line)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, to the action's whole process group (its leader may be gone)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.1)  # let members other than the leader go too, then make sure


def _run_one(
    argv: tuple[str, ...],
    *,
    command: ResolvedCommand,
    env: dict[str, str],
    timeout_s: float,
    log: IO[str],
    tail: deque[str],
    mask: Any,
) -> tuple[str, int | None, str]:
    """Run one argv; its status, exit code and a message."""
    log.write(f"$ {mask(' '.join(argv))}\n")
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=command.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: a timeout kills the whole tree
        )
    except FileNotFoundError:
        if not command.cwd.is_dir():
            return "error", None, f"working directory {command.cwd} does not exist"
        return "missing_command", None, f"command {argv[0]!r} not found on PATH"
    except PermissionError:
        return "missing_command", None, f"command {argv[0]!r} is not executable"
    except OSError as exc:
        return "error", None, f"command {argv[0]!r} could not start: {exc.strerror or exc}"
    assert process.stdout is not None
    reader = threading.Thread(target=_drain, args=(process.stdout, log, tail, mask), daemon=True)
    reader.start()
    status, message, exit_code = "ok", "", None
    try:
        exit_code = process.wait(timeout=max(timeout_s, 0.001))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        status, message = "timeout", f"timed out after {command.timeout_s:g}s; process group killed"
    except KeyboardInterrupt:
        _kill_group(process)
        status, message = "interrupted", "interrupted (Ctrl-C); process group killed"
    reader.join(timeout=_READER_GRACE_S)
    if reader.is_alive():
        # A child left running in the action's group still holds the output: end it, so
        # the action finishes within its timeout (services must start in their own session).
        _kill_group(process)
        reader.join(timeout=_KILL_GRACE_S)
    if not reader.is_alive():
        process.stdout.close()
    if status == "ok" and exit_code != 0:
        status, message = "failed", f"exited with code {exit_code}"
    return status, exit_code, message


def execute(runtime: Runtime, spec: ActionSpec, command: ResolvedCommand) -> dict[str, Any]:
    """Run the action's argvs in order, without a shell, within its timeout.

    The first command that does not succeed ends the action. Returns the ledger fields.
    """
    masker = runtime.settings.masker
    log_path = runtime.run_dir / "actions" / f"{spec.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    started, clock = utc_now(), time.monotonic()
    deadline = clock + command.timeout_s
    env = {**os.environ, **command.env}
    status, exit_code, message, executed = "ok", None, "", False
    with log_path.open("w", encoding="utf-8") as log:
        for position, argv in enumerate(command.argvs, start=1):
            status, exit_code, message = _run_one(
                argv,
                command=command,
                env=env,
                timeout_s=deadline - time.monotonic(),
                log=log,
                tail=tail,
                mask=masker.mask,
            )
            executed = executed or status not in {"missing_command", "error"}
            if status != "ok":
                if len(command.argvs) > 1:
                    message = f"command {position} of {len(command.argvs)}: {message}"
                break
    return {
        "status": status,
        "executed": executed,
        "exit_code": exit_code,
        "message": message,
        "started": started,
        "ended": utc_now(),
        "duration_s": round(time.monotonic() - clock, 3),
        "output_tail": "".join(tail)[-_TAIL_CHARS:],
        "log": str(log_path),
    }


def _result(record: Mapping[str, Any], reused: bool) -> ActionResult:
    return ActionResult(
        name=str(record["action"]),
        status=str(record["status"]),
        commands=tuple(tuple(argv) for argv in record.get("commands") or ()),
        exit_code=record.get("exit_code"),
        duration_s=float(record.get("duration_s") or 0.0),
        output_tail=str(record.get("output_tail") or ""),
        log_path=record.get("log"),
        reused=reused,
    )


def _fail(spec: ActionSpec, record: Mapping[str, Any]) -> None:
    __tracebackhide__ = True
    tail = str(record.get("output_tail") or "").rstrip()
    shown = f"\n--- output tail (masked) ---\n{tail}" if tail else ""
    commands = "".join(f"\n  $ {' '.join(argv)}" for argv in record.get("commands") or [])
    pytest.fail(
        f"action {spec.name} {record['status']}: {record.get('message', '')}{commands}{shown}",
        pytrace=False,
    )


def run_action(runtime: Runtime, spec: ActionSpec) -> ActionResult:
    """Run ``spec`` once for the release run, or return what it did earlier in the run."""
    __tracebackhide__ = True
    settings = runtime.settings
    base: dict[str, Any] = {
        "kind": "action",
        "action": spec.name,
        "unit": spec.where,
        "mutating": spec.mutating,
        "deploys": spec.mutating and spec.deploys,
        "compensates": list(spec.compensates) or None,
        "target": settings.target_name,
        "env": settings.env,
        "version": settings.version,
        "dry_run": settings.dry_run,
        "actor": actor(),
        "executed": False,
    }
    lock = FileLock(str(runtime.run_dir / "locks" / f"{spec.name}.lock"), timeout=_LOCK_TIMEOUT_S)
    (runtime.run_dir / "locks").mkdir(parents=True, exist_ok=True)
    with lock:
        earlier = runtime.ledger.action_record(spec.name)
        if earlier is not None and earlier["status"] != "refused":
            if earlier["status"] in {"ok", "planned", "not_needed"}:
                return _result(earlier, reused=True)
            _fail(spec, earlier)
        refusal = _refusal(runtime, spec)
        if refusal is not None:
            record = runtime.ledger.append({**base, "status": "refused", "message": refusal})
            _fail(spec, record)
        problem = None
        try:
            command = resolve_command(runtime, spec)
        except ActionError as exc:
            problem = str(exc)
        if problem is not None:  # failed outside the except block: one message, no chained traceback
            record = runtime.ledger.append({**base, "status": "error", "message": problem})
            _fail(spec, record)
        base["commands"] = [settings.masker.mask_argv(argv) for argv in command.argvs]
        base["cwd"] = str(command.cwd)
        base["timeout_s"] = command.timeout_s
        if spec.compensates and not runtime.rollback_selected and _attempted(runtime).isdisjoint(spec.compensates):
            message = f"nothing to compensate: {' or '.join(spec.compensates)} did not run in this release run"
            record = runtime.ledger.append({**base, "status": "not_needed", "message": message})
            return _result(record, reused=False)
        if spec.mutating and settings.dry_run:
            record = runtime.ledger.append({**base, "status": "planned", "message": "dry run: not executed"})
            return _result(record, reused=False)
        try:
            outcome = execute(runtime, spec, command)
        except KeyboardInterrupt:
            runtime.ledger.append({**base, "status": "interrupted", "message": "interrupted before start"})
            raise
        record = runtime.ledger.append({**base, **outcome})
        if outcome["status"] == "interrupted":
            raise KeyboardInterrupt
    if record["status"] != "ok":
        _fail(spec, record)
    return _result(record, reused=False)


def _attempted(runtime: Runtime) -> set[str]:
    return {str(r["action"]) for r in runtime.ledger.records() if r.get("kind") == "action" and r.get("executed")}


def _refusal(runtime: Runtime, spec: ActionSpec) -> str | None:
    """Why ``spec`` must not run now, or None."""
    current = runtime.current_unit
    if current is None:
        return "refused: actions run only from a gate test"
    state = runtime.state if not runtime.is_worker else runtime.gate_file.read()
    reason = skip_reason(spec.unit or current, state, runtime.rollback_selected)
    if reason is not None:
        return f"refused: {reason}"
    if spec.unit is not None and current != spec.unit and not spec.unit.is_rollback:
        return (
            f"refused: action {spec.name} belongs to {spec.unit.label} and has not run in this "
            f"release run; it cannot be started from {current.label}"
        )
    return None


def actions_used(fixturenames: Iterable[str]) -> list[str]:
    """Declared actions among ``fixturenames``, with the ones they run after, earliest first."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        spec = DECLARED_ACTIONS.get(name)
        if spec is None or name in ordered:
            return
        for earlier in spec.after:
            visit(earlier)
        ordered.append(name)

    for name in fixturenames:
        visit(name)
    return ordered


def release_action(
    name: str,
    *,
    phase: str | None,
    step: str | None = None,
    mutating: bool = True,
    deploys: bool = True,
    compensates: str | tuple[str, ...] | None = None,
    after: tuple[str, ...] = (),
    description: str = "",
) -> Any:
    """Declare a deployment action and return the session fixture that runs it.

    Assign the result to a module-level name in a conftest or test module; tests request
    the fixture by ``name``. The fixture's value is an :class:`ActionResult`. The argv,
    working directory, environment and timeout come from
    ``[targets.<target>.actions.<name>]`` in ``release.toml``.

    ``phase=None`` declares an action that is not part of one unit (bringing a platform
    up, say): it runs once, from whichever unit first needs it. ``after`` names actions
    that must have succeeded first; they are run (once) before this one. A mutating action
    with ``deploys=False`` (a notification, a log entry) is skipped by a dry run but does not
    count as a deployment when the gate decides whether to roll back. ``compensates`` names
    the deploying action (or a tuple of them, say the staging and the production deploy of
    one part) that this rollback action undoes: in a triggered rollback it runs only when
    one of them ran in this release run, and is recorded as ``not_needed`` otherwise.
    """
    unit: Unit | None = None
    if phase is not None:
        try:
            unit = resolve_unit(phase, step)
        except ValueError as exc:
            raise ValueError(f"release_action({name!r}): {exc}") from None
    spec = ActionSpec(
        name=name,
        unit=unit,
        mutating=mutating,
        deploys=deploys,
        compensates=(compensates,) if isinstance(compensates, str) else tuple(compensates or ()),
        after=tuple(after),
        description=description,
    )
    DECLARED_ACTIONS[name] = spec

    def action_fixture(request: pytest.FixtureRequest) -> ActionResult:
        __tracebackhide__ = True
        for earlier in spec.after:
            request.getfixturevalue(earlier)
        runtime = get_runtime(request.config)
        try:
            return run_action(runtime, spec)
        except LedgerError as exc:
            pytest.fail(f"action {name} refused: {exc}", pytrace=False)
        finally:  # also when the action failed: its output is the evidence
            attach_action_log(request.config, name, runtime.run_dir / "actions" / f"{name}.log")

    action_fixture.__doc__ = (
        f"Release action {name} ({spec.where}{', mutating' if mutating else ''}"
        f"{', compensates ' + ' or '.join(spec.compensates) if spec.compensates else ''}"
        f"{', after ' + ', '.join(after) if after else ''}). {description}".strip()
    )
    return pytest.fixture(scope="session", name=name)(action_fixture)
