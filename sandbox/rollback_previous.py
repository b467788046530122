"""Redeploy the release an environment served before the current one (the gate's rollback).

    python -m sandbox.rollback_previous agents --env staging [--release-version v0.1.0]
    python -m sandbox.rollback_previous web --env staging [--release-version v0.1.0]
    python -m sandbox.rollback_previous functions --env staging [--release-version v0.1.0]

``agents`` reads the previous digest from the environment's state (``agents_previous``),
checks that its artifact file is still in the artifact store, and redeploys it through the
same blue/green switch as ``python -m sandbox rollback agents --digest``. ``web`` switches
``web/current`` back to ``web/releases/<web_previous>`` and waits until the web server
reports that version. ``functions`` redeploys the edge functions' previous version
(``functions_previous``) through the same restart and health check as ``python -m sandbox
deploy functions``, keeping the environment's JWT verification setting.

With ``--release-version`` a part that no longer serves that release is left as it is
(``rolled_back: false``): running the rollback twice never rolls forward again.

Progress and the outcome go to stderr; the last stdout line is one JSON summary
(``command``, ``ok``, ``rolled_back``, ``from_version``, ``to_version``, ``platform``: what
every part serves afterwards). A failure says exactly what state the environment is left in.
Exit codes: 0 ok, 1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from sandbox import artifacts
from sandbox.deploy import deploy_functions, rollback_agents
from sandbox.health import http_probe, wait_healthy
from sandbox.layout import SandboxUsageError, parse_env
from sandbox.platform import AGENTS_ARTIFACT, Report, Sandbox
from sandbox.state import EnvState, SandboxError, load_state, save_state

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
WEB_SWITCH_TIMEOUT_S: Final = 10.0


def platform_state(state: EnvState) -> dict[str, Any]:
    """What each part of the environment serves, from its recorded state."""
    return {
        "agents": state.agents_active.version if state.agents_active else None,
        "agents_digest": state.agents_active.digest if state.agents_active else None,
        "agents_previous_digest": state.agents_previous.digest if state.agents_previous else None,
        "web": state.web_version,
        "web_previous": state.web_previous,
        "functions": state.functions_version,
        "functions_previous": state.functions_previous,
        "migrations_pushed_at": (state.migrations or {}).get("pushed_at"),
    }


def describe(state: EnvState) -> str:
    """One sentence naming what every part serves now."""
    agents = (
        f"agents-service serves {state.agents_active.version} ({state.agents_active.digest})"
        if state.agents_active
        else "agents-service serves no release"
    )
    web = f"web serves {state.web_version}" if state.web_version else "web serves no release"
    functions = (
        f"edge functions serve {state.functions_version}" if state.functions_version else "no edge functions release"
    )
    return f"{agents}; {web}; {functions}"


def _finish(report: Report, sandbox: Sandbox, began: float) -> Report:
    try:
        report.data["platform"] = platform_state(load_state(sandbox.paths))
    except SandboxError as exc:
        report.data["platform"] = {"unreadable": str(exc)}
    report.seconds = time.monotonic() - began
    return report


def rollback_agents_previous(sandbox: Sandbox, release_version: str | None) -> Report:
    """Redeploy the previous agents artifact by digest; refuse clearly when it is gone."""
    began = time.monotonic()
    report = Report("rollback_previous agents", sandbox.env)
    report.data["rolled_back"] = False
    state = load_state(sandbox.paths)
    active, previous = state.agents_active, state.agents_previous
    report.data["from_version"] = active.version if active else None
    if active is None:
        report.ok = False
        report.messages.append(
            f"agents-service in {sandbox.env} has no release at all: nothing to roll back from. Left as it is: "
            + describe(state)
        )
        return _finish(report, sandbox, began)
    if release_version is not None and active.version != release_version:
        report.data["to_version"] = active.version
        report.messages.append(
            f"nothing to roll back: agents-service serves {active.version} ({active.digest}), "
            f"not the release {release_version}; left as it is"
        )
        return _finish(report, sandbox, began)
    if previous is None:
        report.ok = False
        report.messages.append(
            f"no previous agents release is recorded for {sandbox.env}: agents-service was NOT rolled back. "
            f"Platform left as: {describe(state)}"
        )
        return _finish(report, sandbox, began)
    report.data["digest"] = previous.digest
    report.data["to_version"] = previous.version
    path = artifacts.artifact_path(sandbox.paths.artifacts_dir, AGENTS_ARTIFACT, previous.digest)
    if not path.is_file():
        report.ok = False
        report.messages.append(
            f"the previous artifact {previous.digest} is gone ({path} does not exist): agents-service was NOT "
            f"rolled back and still serves the release {active.version} ({active.digest}). "
            f"Platform left as: {describe(state)}. Restore the artifact or redeploy a known digest with "
            f"python -m sandbox rollback agents --env {sandbox.env} --digest <sha256:...>"
        )
        return _finish(report, sandbox, began)
    done = rollback_agents(sandbox, previous.digest)
    report.parts.extend(done.parts)
    report.messages.extend(done.messages)
    after = load_state(sandbox.paths)
    if not done.ok or after.agents_active is None or after.agents_active.digest != previous.digest:
        report.ok = False
        report.messages.append(f"agents rollback to {previous.digest} failed. Platform left as: {describe(after)}")
        return _finish(report, sandbox, began)
    report.data["rolled_back"] = True
    report.messages.append(f"agents-service rolled back from {active.version} to {previous.version}")
    return _finish(report, sandbox, began)


def rollback_functions_previous(sandbox: Sandbox, release_version: str | None) -> Report:
    """Redeploy the edge functions' previous version; refuse clearly when none is recorded."""
    began = time.monotonic()
    report = Report("rollback_previous functions", sandbox.env)
    report.data["rolled_back"] = False
    state = load_state(sandbox.paths)
    current, previous = state.functions_version, state.functions_previous
    report.data["from_version"] = current
    if current is None:
        report.ok = False
        report.messages.append(
            f"the edge functions in {sandbox.env} have no release at all: nothing to roll back from. "
            f"Left as it is: {describe(state)}"
        )
        return _finish(report, sandbox, began)
    if release_version is not None and current != release_version:
        report.data["to_version"] = current
        report.messages.append(
            f"nothing to roll back: the edge functions serve {current}, not the release {release_version}; "
            "left as they are"
        )
        return _finish(report, sandbox, began)
    if previous is None:
        report.ok = False
        report.messages.append(
            f"no previous edge functions version is recorded for {sandbox.env}: the functions were NOT rolled "
            f"back and still serve {current}. Platform left as: {describe(state)}"
        )
        return _finish(report, sandbox, began)
    report.data["to_version"] = previous
    done = deploy_functions(sandbox, previous, state.functions_verify_jwt)
    report.parts.extend(done.parts)
    report.messages.extend(done.messages)
    after = load_state(sandbox.paths)
    if not done.ok or after.functions_version != previous:
        report.ok = False
        report.messages.append(f"edge functions rollback to {previous} failed. Platform left as: {describe(after)}")
        return _finish(report, sandbox, began)
    report.data["rolled_back"] = True
    report.data["verify_jwt"] = state.functions_verify_jwt
    report.messages.append(f"edge functions rolled back from {current} to {previous}")
    return _finish(report, sandbox, began)


def _switch_web(link: Path, version: str) -> None:
    tmp_link = link.with_name(f".current.{os.getpid()}")
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(Path("releases") / version)
    os.replace(tmp_link, link)


def rollback_web_previous(sandbox: Sandbox, release_version: str | None) -> Report:
    """Switch ``web/current`` back to the previous release and wait until it is served."""
    began = time.monotonic()
    report = Report("rollback_previous web", sandbox.env)
    report.data["rolled_back"] = False
    url = f"http://127.0.0.1:{sandbox.config.ports.web}"
    try:
        with sandbox.lock():
            state = load_state(sandbox.paths)
            current, previous = state.web_version, state.web_previous
            report.data["from_version"] = current
            if current is None:
                raise SandboxError(f"web in {sandbox.env} has no release: nothing to roll back from")
            if release_version is not None and current != release_version:
                report.data["to_version"] = current
                report.messages.append(
                    f"nothing to roll back: web serves {current}, not the release {release_version}; left as it is"
                )
                return _finish(report, sandbox, began)
            if previous is None:
                raise SandboxError(
                    f"no previous web release is recorded for {sandbox.env}: web was NOT rolled back "
                    f"and still serves {current}"
                )
            report.data["to_version"] = previous
            release_dir = sandbox.paths.web_releases / previous
            if not (release_dir / "index.html").is_file():
                raise SandboxError(
                    f"the previous web release {previous} is gone ({release_dir} has no index.html): "
                    f"web was NOT rolled back and still serves {current}"
                )
            _switch_web(sandbox.paths.web_current, previous)
            try:
                probe = wait_healthy(
                    "web",
                    lambda: http_probe(f"{url}/__sandbox/health", expect_version=previous),
                    timeout=WEB_SWITCH_TIMEOUT_S,
                )
            except SandboxError as exc:
                _switch_web(sandbox.paths.web_current, current)
                raise SandboxError(f"web {previous} did not come up ({exc}); switched back to {current}") from None
            state.web_version, state.web_previous = previous, current
            save_state(sandbox.paths, state)
            report.data["rolled_back"] = True
            report.data["url"] = url
            report.messages.append(f"web rolled back from {current} to {previous} ({probe.detail})")
    except (SandboxError, OSError) as exc:
        report.ok = False
        try:
            left = describe(load_state(sandbox.paths))
        except SandboxError as state_error:
            left = f"unknown: {state_error}"
        report.messages.append(f"{exc}. Platform left as: {left}")
    return _finish(report, sandbox, began)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.rollback_previous", description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("agents", "web", "functions"))
    parser.add_argument("--env", default="staging")
    parser.add_argument("--release-version", default=None, help="roll back only while this release is served")
    args = parser.parse_args(argv)
    try:
        sandbox = Sandbox.for_env(parse_env(args.env))
        release = args.release_version or None
        if args.part == "agents":
            report = rollback_agents_previous(sandbox, release)
        elif args.part == "functions":
            report = rollback_functions_previous(sandbox, release)
        else:
            report = rollback_web_previous(sandbox, release)
    except SandboxUsageError as exc:
        print(f"python -m sandbox.rollback_previous: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SandboxError as exc:
        print(f"sandbox.rollback_previous: {exc}", file=sys.stderr)
        print(json.dumps({"command": f"rollback_previous {args.part}", "ok": False, "messages": [str(exc)]}))
        return EXIT_FAILED
    for message in report.messages:
        print(message, file=sys.stderr)
    print(json.dumps(report.summary(), default=str), flush=True)
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
