"""Where one sandbox environment lives: its ports, its state folder and the tools it runs.

Everything here is derived from the environment name and a few `SANDBOX_*` variables, so
the same values come out in the CLI, in the release gate and in the tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

PACKAGE_DIR: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = PACKAGE_DIR.parent

EnvName = Literal["staging", "production"]
ENVIRONMENTS: Final[tuple[EnvName, ...]] = ("staging", "production")

DEFAULT_PORT_BASES: Final[Mapping[EnvName, int]] = {"staging": 17100, "production": 17200}
# With SANDBOX_PORT_BASE set, staging takes the base itself and production the base plus
# this, so one variable moves both environments without making them collide.
PRODUCTION_PORT_SHIFT: Final = 100

# Port offsets inside an environment's range.
PORT_OFFSETS: Final[Mapping[str, int]] = {
    "postgres": 0,
    "prometheus": 1,
    "web": 2,
    "agents": 3,
    "functions": 4,
    "agents-slot-a": 5,
    "agents-slot-b": 6,
}
PORT_RANGE_SIZE: Final = 10


class SandboxUsageError(ValueError):
    """A bad argument or setting: the CLI turns it into exit code 2."""


def parse_env(value: str) -> EnvName:
    if value not in ENVIRONMENTS:
        raise SandboxUsageError(f"unknown environment {value!r}: expected one of {', '.join(ENVIRONMENTS)}")
    return value


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one environment."""

    postgres: int
    prometheus: int
    web: int
    agents: int
    functions: int
    agents_slots: tuple[int, int]

    @classmethod
    def from_base(cls, base: int) -> Ports:
        return cls(
            postgres=base + PORT_OFFSETS["postgres"],
            prometheus=base + PORT_OFFSETS["prometheus"],
            web=base + PORT_OFFSETS["web"],
            agents=base + PORT_OFFSETS["agents"],
            functions=base + PORT_OFFSETS["functions"],
            agents_slots=(
                base + PORT_OFFSETS["agents-slot-a"],
                base + PORT_OFFSETS["agents-slot-b"],
            ),
        )

    @property
    def base(self) -> int:
        return self.postgres - PORT_OFFSETS["postgres"]

    def named(self) -> dict[str, int]:
        return {
            "postgres": self.postgres,
            "prometheus": self.prometheus,
            "web": self.web,
            "agents": self.agents,
            "functions": self.functions,
            "agents-slot-a": self.agents_slots[0],
            "agents-slot-b": self.agents_slots[1],
        }


def port_base(env: EnvName, environ: Mapping[str, str]) -> int:
    raw = environ.get("SANDBOX_PORT_BASE", "").strip()
    if not raw:
        return DEFAULT_PORT_BASES[env]
    try:
        base = int(raw)
    except ValueError:
        raise SandboxUsageError(f"SANDBOX_PORT_BASE={raw!r} is not a port number") from None
    if env == "production":
        base += PRODUCTION_PORT_SHIFT
    if not 1024 <= base <= 65535 - PORT_RANGE_SIZE:
        raise SandboxUsageError(
            f"SANDBOX_PORT_BASE={raw!r} puts {env} at {base}: the range must lie within 1024..{65535 - PORT_RANGE_SIZE}"
        )
    return base


@dataclass(frozen=True)
class StatePaths:
    """The git-ignored state folder of one environment (see README: state layout)."""

    root: Path
    env: EnvName

    @property
    def env_dir(self) -> Path:
        return self.root / self.env

    @property
    def state_file(self) -> Path:
        return self.env_dir / "state.json"

    @property
    def secrets_file(self) -> Path:
        return self.env_dir / "secrets.json"

    @property
    def faults_file(self) -> Path:
        return self.env_dir / "faults.json"

    @property
    def lock_file(self) -> Path:
        return self.env_dir / "lock"

    @property
    def pid_dir(self) -> Path:
        return self.env_dir / "pids"

    @property
    def log_dir(self) -> Path:
        return self.env_dir / "logs"

    @property
    def pgdata(self) -> Path:
        return self.env_dir / "pgdata"

    @property
    def prometheus_dir(self) -> Path:
        return self.env_dir / "prometheus"

    @property
    def web_dir(self) -> Path:
        return self.env_dir / "web"

    @property
    def web_releases(self) -> Path:
        return self.web_dir / "releases"

    @property
    def web_current(self) -> Path:
        return self.web_dir / "current"

    @property
    def agents_dir(self) -> Path:
        return self.env_dir / "agents"

    @property
    def agents_releases(self) -> Path:
        return self.agents_dir / "releases"

    @property
    def agents_upstream_file(self) -> Path:
        return self.agents_dir / "upstream.json"

    @property
    def agents_tenants_file(self) -> Path:
        """The tenants the running agents service was started with (``METRICS_TENANTS``)."""
        return self.agents_dir / "metrics-tenants.json"

    @property
    def migrations_workdir(self) -> Path:
        return self.env_dir / "migrations"

    @property
    def artifacts_dir(self) -> Path:
        # Shared by both environments, like a registry: production promotes staging's digest.
        return self.root / "artifacts"

    def pid_file(self, part: str) -> Path:
        return self.pid_dir / f"{part}.pid"

    def log_file(self, part: str) -> Path:
        return self.log_dir / f"{part}.log"


@dataclass(frozen=True)
class Workspace:
    """The pnpm workspace and Supabase folder that the other parts of the sandbox build."""

    root: Path

    @property
    def supabase_dir(self) -> Path:
        return self.root / "supabase"

    @property
    def functions_entry(self) -> Path:
        return self.supabase_dir / "functions" / "serve.ts"

    @property
    def migrations_dir(self) -> Path:
        return self.supabase_dir / "migrations"

    @property
    def pgtap_dir(self) -> Path:
        return self.supabase_dir / "tests"

    @property
    def backfill_sql(self) -> Path:
        return self.supabase_dir / "seed" / "backfill_tenant_profiles.sql"

    @property
    def agents_dir(self) -> Path:
        return self.root / "agents-service"

    @property
    def agents_server(self) -> Path:
        return self.agents_dir / "dist" / "server.js"

    @property
    def web_dir(self) -> Path:
        return self.root / "apps" / "web"

    @property
    def web_dist(self) -> Path:
        return self.web_dir / "dist"


@dataclass(frozen=True)
class Tools:
    """Executables the sandbox runs; each can be pointed elsewhere by a `SANDBOX_*` variable."""

    pg_bin: Path
    prometheus: Path
    node: str
    pnpm: str
    deno: Path
    supabase: Path
    pg_prove: str
    psql: str


@dataclass(frozen=True)
class SandboxConfig:
    env: EnvName
    ports: Ports
    paths: StatePaths
    workspace: Workspace
    tools: Tools

    @classmethod
    def load(cls, env: EnvName, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        source = os.environ if environ is None else environ
        state_root = Path(source.get("SANDBOX_STATE_DIR") or PACKAGE_DIR / ".state")
        workspace = Workspace(Path(source.get("SANDBOX_WORKSPACE_DIR") or PACKAGE_DIR / "workspace"))
        supabase_bin = workspace.supabase_dir / "node_modules" / ".bin"
        tools = Tools(
            pg_bin=Path(source.get("SANDBOX_PG_BIN") or "/usr/lib/postgresql/15/bin"),
            prometheus=Path(source.get("SANDBOX_PROMETHEUS") or "/usr/bin/prometheus"),
            node=source.get("SANDBOX_NODE") or "node",
            pnpm=source.get("SANDBOX_PNPM") or "pnpm",
            deno=Path(source.get("SANDBOX_DENO") or supabase_bin / "deno"),
            supabase=Path(source.get("SANDBOX_SUPABASE") or supabase_bin / "supabase"),
            pg_prove=source.get("SANDBOX_PG_PROVE") or "pg_prove",
            psql=source.get("SANDBOX_PSQL") or "psql",
        )
        return cls(
            env=env,
            ports=Ports.from_base(port_base(env, source)),
            paths=StatePaths(state_root.resolve(), env),
            workspace=workspace,
            tools=tools,
        )

    @property
    def database(self) -> str:
        return f"icupa_{self.env}"
