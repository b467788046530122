"""The miniature ICUPA: the release gate's default target, on loopback.

`python -m sandbox --help` for the CLI; the release gate uses the API below:

    sandbox = Sandbox.for_env("staging")
    sandbox.up()
    deploy_migrations(sandbox); deploy_functions(sandbox, "v1.2.3")
    deploy_agents(sandbox, "v1.2.3"); deploy_web(sandbox, "v1.2.3")
    rollback_agents(sandbox, "sha256:...")
    sandbox.status(); sandbox.down()

Each call returns a `Report` (`.ok`, `.summary()`), and raises `SandboxError` only for a
sandbox it cannot read or lock; `SandboxUsageError` is a bad argument.
"""

from sandbox.deploy import deploy_agents, deploy_functions, deploy_migrations, deploy_web, rollback_agents
from sandbox.layout import ENVIRONMENTS, EnvName, Ports, SandboxConfig, SandboxUsageError
from sandbox.platform import PartReport, Report, Sandbox
from sandbox.state import SandboxError

__all__ = [
    "ENVIRONMENTS",
    "EnvName",
    "PartReport",
    "Ports",
    "Report",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxUsageError",
    "deploy_agents",
    "deploy_functions",
    "deploy_migrations",
    "deploy_web",
    "rollback_agents",
]
