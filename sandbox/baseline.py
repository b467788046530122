"""The previous release an environment serves before the release under test arrives.

A real staging environment always runs something: the last release. A freshly created
sandbox runs nothing, so checks that look at "what staging serves now" (the pre-release
Lighthouse review) would have nothing to look at, and a rollback would have nothing to go
back to. `baseline` deploys every part once, on the given (earlier) version, and only when
the environment has never had a release; after that it does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sandbox import deploy
from sandbox.platform import Report, Sandbox
from sandbox.state import load_state


def ensure_baseline(sandbox: Sandbox, version: str) -> Report:
    """Deploy ``version`` everywhere if nothing was ever deployed here; report what was done."""
    deploy.check_version(version)
    began = time.monotonic()
    report = Report(command="baseline", env=sandbox.config.env)
    state = load_state(sandbox.paths)
    steps: list[tuple[str, bool, Callable[[], Report]]] = [
        ("migrations", state.migrations is None, lambda: deploy.deploy_migrations(sandbox)),
        ("functions", state.functions_version is None, lambda: deploy.deploy_functions(sandbox, version)),
        ("agents", state.agents_active is None, lambda: deploy.deploy_agents(sandbox, version)),
        ("web", state.web_version is None, lambda: deploy.deploy_web(sandbox, version)),
    ]
    for name, needed, run in steps:
        if not needed:
            report.messages.append(f"{name}: already has a release; left as it is")
            continue
        step = run()
        report.parts.extend(step.parts)
        report.messages.append(f"{name}: baseline {version} deployed" if step.ok else f"{name}: baseline failed")
        report.messages.extend(step.messages)
        if not step.ok:
            report.ok = False
            break
    report.data["baseline_version"] = version
    report.seconds = time.monotonic() - began
    return report
