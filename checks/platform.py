"""Where the release goes: endpoints, database and records of the target's environment.

For the embedded sandbox the facts come from the sandbox itself (in-process, it is part
of this project); for the real platform they come from the target's endpoints in
``release.toml`` and environment variables. Secrets (the DSN, tokens) are held, never
shown: the ``repr`` masks them.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin import ActionResult
from plugin.masking import Masker
from plugin.settings import Settings
from plugin.templating import TemplateError, render


class PlatformError(Exception):
    """The target cannot tell the gate what it needs; the message says what is missing."""


@dataclass(frozen=True)
class Platform:
    target: str
    env: str
    agents_url: str
    functions_url: str
    web_url: str
    prometheus_url: str
    dsn: str = field(repr=False)
    service_token: str | None = field(default=None, repr=False)
    logs_dir: Path | None = None

    def log_text(self, part: str) -> str:
        """A service's log, where the target keeps logs the gate can read."""
        if self.logs_dir is None:
            raise PlatformError(f"target {self.target!r} gives the gate no service logs: check {part} logs by hand")
        path = self.logs_dir / f"{part}.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise PlatformError(f"cannot read the {part} log {path}: {exc.strerror}") from None


def _sandbox(env: str) -> Platform:
    from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target

    box = Sandbox.for_env(env)  # type: ignore[arg-type]
    status: dict[str, Any] = box.status().summary()
    endpoints = status["endpoints"]
    return Platform(
        target="sandbox",
        env=env,
        agents_url=endpoints["agents"],
        functions_url=endpoints["functions"],
        web_url=endpoints["web"],
        prometheus_url=endpoints["prometheus"],
        dsn=box.dsn(),
        service_token=box.service_token(),
        logs_dir=Path(status["state_dir"]) / "logs" if "state_dir" in status else None,
    )


def _configured(settings: Settings, env: str) -> Platform:
    target = settings.target
    assert target is not None
    endpoints = {}
    for name in ("agents", "functions", "web", "prometheus", "database"):
        template = target.endpoints.get(name)
        if template is None:
            raise PlatformError(f"target {settings.target_name!r} has no endpoints.{name} in release.toml")
        try:
            endpoints[name] = render(template, {"env": env}, os.environ)
        except TemplateError as exc:
            raise PlatformError(f"endpoints.{name} of target {settings.target_name!r}: {exc}") from None
    return Platform(
        target=settings.target_name,
        env=env,
        agents_url=endpoints["agents"],
        functions_url=endpoints["functions"],
        web_url=endpoints["web"],
        prometheus_url=endpoints["prometheus"],
        dsn=endpoints["database"],
        service_token=os.environ.get("ICUPA_SERVICE_TOKEN"),
    )


def load_platform(settings: Settings) -> Platform:
    env = settings.env or "staging"
    if settings.target_name == "sandbox":
        return _sandbox(env)
    if settings.target is None:
        raise PlatformError(f"no release.toml defines target {settings.target_name!r}")
    return _configured(settings, env)


def action_summary(result: ActionResult) -> dict[str, Any] | None:
    """The JSON summary line a sandbox deploy verb prints last, from the action's log."""
    if result.log_path is None:
        return None
    try:
        lines = Path(result.log_path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                payload = json.loads(line)
            except ValueError:
                continue
            if isinstance(payload, dict) and "command" in payload:
                return payload
    return None


@dataclass(frozen=True)
class CommandOutcome:
    returncode: int
    output: str


def run_command(argv: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, masker: Masker) -> CommandOutcome:
    """Run a read-only check command (argv, no shell) under a timeout; output masked."""
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        return CommandOutcome(127, f"command {argv[0]!r} not found on PATH")
    except subprocess.TimeoutExpired as exc:
        partial = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
        return CommandOutcome(124, masker.mask(partial) + f"\n(timed out after {timeout_s:g}s)")
    return CommandOutcome(done.returncode, masker.mask(done.stdout))
