"""The running sandbox of one environment: `up`, `down`, `status` and the fault switches.

A *part* is one process the sandbox runs: postgres, prometheus, web, agents-proxy (the
agents service's stable port), the agents service in its active slot, and the edge
functions. `up` starts the parts that are not healthy yet, `down` stops every part it finds
a pid file for, `status` probes each without changing anything.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from sandbox import faults as fault_file
from sandbox import postgres, prometheus
from sandbox.artifacts import find as find_artifact
from sandbox.artifacts import unpack
from sandbox.health import Probe, ServiceProbe, http_probe, postgres_probe, service_token, wait_healthy
from sandbox.layout import REPO_ROOT, EnvName, Ports, SandboxConfig
from sandbox.processes import (
    PidRecord,
    Spawned,
    describe_busy_port,
    live_record,
    port_is_free,
    read_pid_file,
    spawn,
    stop,
)
from sandbox.proxy import PROXY_HEALTH_PATH
from sandbox.state import (
    EnvState,
    SandboxError,
    Secrets,
    env_lock,
    load_or_create_secrets,
    load_state,
    save_state,
    utc_now,
    write_json_atomic,
)
from sandbox.webserver import HEALTH_PATH as WEB_HEALTH_PATH

AGENTS_ARTIFACT: Final = "agents-service"
# Stop order for `down`: the services first, the stores they write to last.
STOP_ORDER: Final = ("agents-slot-a", "agents-slot-b", "functions", "web", "agents-proxy", "prometheus", "postgres")
PLACEHOLDER_HTML: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ICUPA sandbox: awaiting deploy</title></head>
<body><h1>ICUPA sandbox ({env})</h1>
<p>No web release is active yet. Run <code>python -m sandbox deploy web --version vX.Y.Z --env {env}</code>.</p>
</body></html>
"""


@dataclass(frozen=True)
class PartSpec:
    """How to run and probe one part."""

    name: str
    port: int
    argv: list[str]
    cwd: Path
    probe: Callable[[], Probe]
    env: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    health_timeout: float = 30.0


@dataclass
class PartReport:
    name: str
    action: str
    port: int | None = None
    pid: int | None = None
    seconds: float | None = None
    detail: str = ""


@dataclass
class Report:
    """What a verb did; `summary()` is the one JSON line the CLI prints last."""

    command: str
    env: str
    ok: bool = True
    parts: list[PartReport] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "env": self.env,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "parts": [asdict(part) for part in self.parts],
            "messages": self.messages,
            **self.data,
        }


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_") and k != "PGPASSWORD"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra)
    return env


class Sandbox:
    """One environment of the miniature ICUPA. Construct with `Sandbox.for_env("staging")`."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.paths = config.paths

    @classmethod
    def for_env(cls, env: EnvName, environ: Mapping[str, str] | None = None) -> Sandbox:
        config = SandboxConfig.load(env, environ)
        state = load_state(config.paths)
        # While anything runs, the ports it was started on win over a changed SANDBOX_PORT_BASE.
        if state.ports and any(live_record(p) for p in config.paths.pid_dir.glob("*.pid")):
            config = replace(config, ports=Ports.from_base(state.ports["postgres"]))
        return cls(config)

    # ----------------------------------------------------------------- shared plumbing

    @property
    def env(self) -> EnvName:
        return self.config.env

    def secrets(self) -> Secrets:
        return load_or_create_secrets(self.paths)

    def dsn(self, database: str | None = None) -> str:
        """The DSN with the password: for callers that connect, never for printing."""
        return postgres.dsn(self.config, self.secrets().db_password, database)

    def service_token(self, ttl_seconds: int = 600) -> str:
        """An HS256 bearer token the edge functions accept when deployed with verify_jwt."""
        return service_token(self.secrets().jwt_secret, ttl_seconds)

    def masked_dsn(self) -> str:
        return postgres.masked_dsn(self.config)

    def endpoints(self) -> dict[str, str]:
        ports = self.config.ports
        return {
            "postgres": self.masked_dsn(),
            "prometheus": f"http://127.0.0.1:{ports.prometheus}",
            "web": f"http://127.0.0.1:{ports.web}",
            "agents": f"http://127.0.0.1:{ports.agents}",
            "functions": f"http://127.0.0.1:{ports.functions}/functions/v1",
        }

    def lock(self) -> AbstractContextManager[None]:
        return env_lock(self.paths)

    def _prepare(self) -> None:
        for directory in (
            self.paths.env_dir,
            self.paths.pid_dir,
            self.paths.log_dir,
            self.paths.web_releases,
            self.paths.agents_releases,
            self.paths.artifacts_dir,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        self.paths.env_dir.chmod(0o755)
        if not self.paths.faults_file.exists():
            fault_file.clear_faults(self.paths.faults_file)
        placeholder = self.paths.web_dir / "placeholder"
        placeholder.mkdir(parents=True, exist_ok=True)
        (placeholder / "index.html").write_text(PLACEHOLDER_HTML.format(env=self.env), encoding="utf-8")
        prometheus.write_config(self.config)

    def _require_tools(self) -> None:
        missing = [
            str(path)
            for path in (
                self.config.tools.pg_bin / "initdb",
                self.config.tools.pg_bin / "postgres",
                self.config.tools.prometheus,
            )
            if not os.access(path, os.X_OK)
        ]
        if missing:
            raise SandboxError(f"missing tools: {', '.join(missing)}; run: bash sandbox/install.sh")

    # ------------------------------------------------------------------- part specs

    def spec_postgres(self) -> PartSpec:
        conninfo = postgres.dsn(self.config, self.secrets().db_password, "postgres")
        return PartSpec(
            name="postgres",
            port=self.config.ports.postgres,
            argv=postgres.server_argv(self.config),
            cwd=Path("/"),
            probe=lambda: postgres_probe(conninfo),
            env=child_env({}),
            user=postgres.run_as_user(),
        )

    def spec_prometheus(self) -> PartSpec:
        url = f"http://127.0.0.1:{self.config.ports.prometheus}/-/ready"
        return PartSpec(
            name="prometheus",
            port=self.config.ports.prometheus,
            argv=prometheus.server_argv(self.config),
            cwd=self.paths.prometheus_dir,
            probe=lambda: http_probe(url),
            env=child_env({}),
        )

    def spec_web(self) -> PartSpec:
        port = self.config.ports.web
        url = f"http://127.0.0.1:{port}{WEB_HEALTH_PATH}"
        return PartSpec(
            name="web",
            port=port,
            argv=[
                sys.executable,
                "-m",
                "sandbox.webserver",
                "--port",
                str(port),
                "--current",
                str(self.paths.web_current),
                "--placeholder",
                str(self.paths.web_dir / "placeholder"),
                "--faults",
                str(self.paths.faults_file),
            ],
            cwd=REPO_ROOT,
            probe=lambda: http_probe(url),
            env=child_env({}),
        )

    def spec_agents_proxy(self) -> PartSpec:
        port = self.config.ports.agents
        url = f"http://127.0.0.1:{port}{PROXY_HEALTH_PATH}"
        return PartSpec(
            name="agents-proxy",
            port=port,
            argv=[
                sys.executable,
                "-m",
                "sandbox.proxy",
                "--port",
                str(port),
                "--upstream-file",
                str(self.paths.agents_upstream_file),
            ],
            cwd=REPO_ROOT,
            probe=lambda: http_probe(url),
            env=child_env({}),
        )

    def slot_name(self, port: int) -> str:
        return "agents-slot-a" if port == self.config.ports.agents_slots[0] else "agents-slot-b"

    def spec_agents(self, release_dir: Path, version: str, port: int, tenants: Sequence[str] = ()) -> PartSpec:
        """The agents service on ``port``; ``tenants`` get their canary series at 0 (``METRICS_TENANTS``)."""
        url = f"http://127.0.0.1:{port}/health"
        return PartSpec(
            name=self.slot_name(port),
            port=port,
            argv=[self.config.tools.node, "dist/server.js"],
            cwd=release_dir,
            probe=ServiceProbe(url, self.paths.faults_file, expect_version=version),
            env=child_env(
                {
                    "PORT": str(port),
                    "HOST": "127.0.0.1",
                    "RELEASE_VERSION": version,
                    "SANDBOX_FAULTS_FILE": str(self.paths.faults_file),
                    "SANDBOX_ENV": self.env,
                    "NODE_ENV": "production",
                    "METRICS_TENANTS": ",".join(tenants),
                }
            ),
        )

    def spec_functions(self, version: str | None, verify_jwt: bool) -> PartSpec:
        port = self.config.ports.functions
        url = f"http://127.0.0.1:{port}/functions/v1/health"
        jwt_secret = self.secrets().jwt_secret
        return PartSpec(
            name="functions",
            port=port,
            argv=[
                str(self.config.tools.deno),
                "run",
                "--allow-net",
                "--allow-env",
                "--allow-read",
                str(self.config.workspace.functions_entry),
            ],
            cwd=self.config.workspace.root,
            probe=ServiceProbe(
                url,
                self.paths.faults_file,
                expect_version=version,
                headers={"Authorization": f"Bearer {service_token(jwt_secret)}"},
            ),
            env=child_env(
                {
                    "HOST": "127.0.0.1",
                    "PORT": str(port),
                    "RELEASE_VERSION": version or "unversioned",
                    "VERIFY_JWT": "1" if verify_jwt else "0",
                    "JWT_SECRET": jwt_secret,
                    "SANDBOX_FAULTS_FILE": str(self.paths.faults_file),
                    "SANDBOX_ENV": self.env,
                    "DENO_NO_UPDATE_CHECK": "1",
                    "DENO_NO_PROMPT": "1",
                }
            ),
            health_timeout=60.0,
        )

    # ------------------------------------------------------------- process control

    def running(self, name: str) -> PidRecord | None:
        return live_record(self.paths.pid_file(name))

    def check_ports_free(self, specs: list[PartSpec]) -> None:
        busy = [describe_busy_port(spec.port, spec.name) for spec in specs if not port_is_free(spec.port)]
        if busy:
            raise SandboxError("; ".join(busy) + " (set SANDBOX_PORT_BASE to use another range)")

    def start(self, spec: PartSpec) -> Spawned:
        return spawn(
            spec.name,
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            log_path=self.paths.log_file(spec.name),
            pid_path=self.paths.pid_file(spec.name),
            port=spec.port,
            user=spec.user,
        )

    def stop_part(self, name: str) -> str:
        record = read_pid_file(self.paths.pid_file(name))
        if record is None:
            return "not running"
        if name == "postgres":
            # Fast shutdown is SIGINT to the postmaster alone; it stops its backends itself.
            outcome = stop(record, sig=signal.SIGINT, leader_only=True, timeout=20.0)
        else:
            outcome = stop(record, sig=signal.SIGTERM, timeout=10.0)
        self.paths.pid_file(name).unlink(missing_ok=True)
        return outcome

    def start_and_wait(self, spec: PartSpec) -> tuple[Spawned, Probe]:
        self.check_ports_free([spec])
        spawned = self.start(spec)
        return spawned, wait_healthy(spec.name, spec.probe, timeout=spec.health_timeout, spawned=spawned)

    def recorded_tenants(self) -> list[str]:
        """The tenants the agents service was last started with; none if unknown or unreadable."""
        try:
            loaded = json.loads(self.paths.agents_tenants_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [str(t) for t in loaded] if isinstance(loaded, list) else []

    def write_agents_upstream(self, port: int, version: str, digest: str) -> None:
        """Point the agents proxy at `port`; it picks the change up on its next request."""
        write_json_atomic(self.paths.agents_upstream_file, {"port": port, "version": version, "digest": digest})

    # ----------------------------------------------------------------------- up

    def _wanted_parts(self, state: EnvState, report: Report) -> list[PartSpec]:
        specs = [self.spec_postgres(), self.spec_prometheus(), self.spec_web(), self.spec_agents_proxy()]
        awaiting: list[str] = []
        if state.migrations is None:
            awaiting.append("migrations")
        if state.web_version is None:
            awaiting.append("web")
        if state.agents_active is not None and state.agents_slot_port is not None:
            artifact = find_artifact(self.paths.artifacts_dir, AGENTS_ARTIFACT, state.agents_active.digest)
            release_dir = unpack(artifact, self.paths.agents_releases)
            tenants = self.recorded_tenants()
            specs.append(self.spec_agents(release_dir, state.agents_active.version, state.agents_slot_port, tenants))
            self.write_agents_upstream(state.agents_slot_port, state.agents_active.version, state.agents_active.digest)
        else:
            awaiting.append("agents")
        if state.functions_version is not None:
            if not os.access(self.config.tools.deno, os.X_OK):
                raise SandboxError(
                    f"functions {state.functions_version} are deployed but {self.config.tools.deno} is missing; "
                    "run: bash sandbox/install.sh"
                )
            specs.append(self.spec_functions(state.functions_version, state.functions_verify_jwt))
        else:
            awaiting.append("functions")
        report.data["awaiting_deploy"] = awaiting
        return specs

    def up(self) -> Report:
        began = time.monotonic()
        report = Report("up", self.env)
        with self.lock():
            self._require_tools()
            self._prepare()
            secrets = self.secrets()
            state = load_state(self.paths)
            specs = self._wanted_parts(state, report)

            healthy, to_start = self._sort_running(specs, report)
            self.check_ports_free(to_start)

            if any(spec.name == "postgres" for spec in to_start):
                t0 = time.monotonic()
                if postgres.ensure_cluster(self.config, secrets.db_password):
                    report.parts.append(
                        PartReport(
                            "postgres-initdb",
                            "created",
                            seconds=round(time.monotonic() - t0, 3),
                            detail=str(self.paths.pgdata),
                        )
                    )
            spawned = {spec.name: self.start(spec) for spec in to_start}
            failures = self._wait_all(to_start, spawned, report)

            if "postgres" not in failures:
                t0 = time.monotonic()
                created = postgres.ensure_database(self.config, secrets.db_password)
                report.parts.append(
                    PartReport(
                        "postgres-database",
                        "created" if created else "exists",
                        seconds=round(time.monotonic() - t0, 3),
                        detail=self.config.database,
                    )
                )
            state.ports = self.config.ports.named()
            state.started_at = state.started_at if not to_start else utc_now()
            save_state(self.paths, state)

            report.data["endpoints"] = self.endpoints()
            report.data["state_dir"] = str(self.paths.env_dir)
            if failures:
                report.ok = False
                report.messages.extend(f"{name}: {why}" for name, why in failures.items())
                report.messages.append(
                    f"other parts were left running; stop them with: python -m sandbox down --env {self.env}"
                )
            elif not to_start:
                report.messages.append(f"sandbox {self.env} is already up: every part is healthy")
            else:
                report.messages.append(
                    f"sandbox {self.env} is up ({len(to_start)} started, {len(healthy)} already healthy)"
                )
            if report.data["awaiting_deploy"]:
                report.messages.append("awaiting a deploy: " + ", ".join(report.data["awaiting_deploy"]))
        report.seconds = time.monotonic() - began
        return report

    def _sort_running(self, specs: list[PartSpec], report: Report) -> tuple[list[PartSpec], list[PartSpec]]:
        healthy: list[PartSpec] = []
        to_start: list[PartSpec] = []
        for spec in specs:
            record = self.running(spec.name)
            if record is None:
                self.paths.pid_file(spec.name).unlink(missing_ok=True)
                to_start.append(spec)
                continue
            try:
                probe = wait_healthy(spec.name, spec.probe, timeout=3.0)
            except SandboxError as exc:
                outcome = self.stop_part(spec.name)
                report.messages.append(
                    f"{spec.name} (pid {record.pid}) was running but unhealthy ({exc}); {outcome}, restarting"
                )
                to_start.append(spec)
                continue
            healthy.append(spec)
            report.parts.append(PartReport(spec.name, "already healthy", spec.port, record.pid, 0.0, probe.detail))
        return healthy, to_start

    def _wait_all(self, specs: list[PartSpec], spawned: dict[str, Spawned], report: Report) -> dict[str, str]:
        failures: dict[str, str] = {}

        def wait(spec: PartSpec) -> PartReport:
            process = spawned[spec.name]
            probe = wait_healthy(spec.name, spec.probe, timeout=spec.health_timeout, spawned=process)
            seconds = round(time.monotonic() - process.started_at, 3)
            return PartReport(spec.name, "started", spec.port, process.record.pid, seconds, probe.detail)

        if not specs:
            return failures
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            futures = {spec.name: pool.submit(wait, spec) for spec in specs}
            for spec in specs:
                try:
                    report.parts.append(futures[spec.name].result())
                except SandboxError as exc:
                    failures[spec.name] = str(exc)
                    report.parts.append(
                        PartReport(
                            spec.name,
                            "failed",
                            spec.port,
                            spawned[spec.name].record.pid,
                            detail=str(exc).splitlines()[0],
                        )
                    )
        return failures

    # --------------------------------------------------------------------- down

    def down(self) -> Report:
        began = time.monotonic()
        report = Report("down", self.env)
        with self.lock():
            names = sorted(
                (p.stem for p in self.paths.pid_dir.glob("*.pid")),
                key=lambda n: STOP_ORDER.index(n) if n in STOP_ORDER else -1,
            )
            stopped_any = False
            for name in names:
                record = read_pid_file(self.paths.pid_file(name))
                t0 = time.monotonic()
                outcome = self.stop_part(name)
                stopped_any = stopped_any or outcome != "not running"
                report.parts.append(
                    PartReport(
                        name,
                        outcome,
                        record.port if record else None,
                        record.pid if record else None,
                        round(time.monotonic() - t0, 3),
                    )
                )
            busy = self._ports_still_busy()
            if busy:
                report.ok = False
                report.messages.extend(busy)
            elif not stopped_any:
                report.messages.append(f"nothing was running in sandbox {self.env}")
            else:
                report.messages.append(f"sandbox {self.env} is down; every port is free")
        report.seconds = time.monotonic() - began
        return report

    def _ports_still_busy(self, wait: float = 5.0) -> list[str]:
        deadline = time.monotonic() + wait
        while True:
            busy = [(name, port) for name, port in self.config.ports.named().items() if not port_is_free(port)]
            if not busy or time.monotonic() > deadline:
                return [describe_busy_port(port, name) + " after down" for name, port in busy]
            time.sleep(0.1)

    # ------------------------------------------------------------------- status

    def status(self) -> Report:
        began = time.monotonic()
        report = Report("status", self.env)
        state = load_state(self.paths)
        parts: list[tuple[str, int, Callable[[], Probe]]] = [
            (spec.name, spec.port, spec.probe)
            for spec in (self.spec_postgres(), self.spec_prometheus(), self.spec_web(), self.spec_agents_proxy())
        ]
        for port in self.config.ports.agents_slots:
            deployed_here = state.agents_active is not None and port == state.agents_slot_port
            if deployed_here or self.paths.pid_file(self.slot_name(port)).exists():
                active = state.agents_active if port == state.agents_slot_port else None
                url = f"http://127.0.0.1:{port}/health"
                version = active.version if active else None
                parts.append((self.slot_name(port), port, ServiceProbe(url, self.paths.faults_file, version)))
        if state.functions_version is not None or self.paths.pid_file("functions").exists():
            spec = self.spec_functions(state.functions_version, state.functions_verify_jwt)
            parts.append((spec.name, spec.port, spec.probe))
        for name, port, probe in parts:
            record = self.running(name)
            if record is None:
                report.parts.append(PartReport(name, "stopped", port))
                continue
            result = probe()
            report.parts.append(
                PartReport(name, "healthy" if result.ok else "unhealthy", port, record.pid, detail=result.detail)
            )
        running = [p for p in report.parts if p.action != "stopped"]
        report.ok = all(p.action == "healthy" for p in running)
        report.data.update(
            {
                "running": bool(running),
                "endpoints": self.endpoints(),
                "versions": {
                    "functions": state.functions_version,
                    "functions_verify_jwt": state.functions_verify_jwt,
                    "agents": state.agents_active.version if state.agents_active else None,
                    "agents_digest": state.agents_active.digest if state.agents_active else None,
                    "agents_previous_digest": state.agents_previous.digest if state.agents_previous else None,
                    "web": state.web_version,
                    "web_previous": state.web_previous,
                    "migrations": state.migrations,
                },
                "faults": fault_file.active_faults(fault_file.read_faults(self.paths.faults_file)),
                "state_dir": str(self.paths.env_dir),
            }
        )
        if not running:
            report.messages.append(f"sandbox {self.env} is not running")
        elif not report.ok:
            report.messages.append("unhealthy: " + ", ".join(p.name for p in running if p.action != "healthy"))
        report.seconds = time.monotonic() - began
        return report

    # ------------------------------------------------------------------- faults

    def set_faults(self, changes: Mapping[str, fault_file.FaultValue]) -> Report:
        report = Report("fault set", self.env)
        self.paths.env_dir.mkdir(parents=True, exist_ok=True)
        current = fault_file.set_faults(self.paths.faults_file, changes)
        report.data.update({"faults": current, "faults_file": str(self.paths.faults_file)})
        report.messages.append(
            "active faults: " + (", ".join(f"{k}={v}" for k, v in fault_file.active_faults(current).items()) or "none")
        )
        return report

    def clear_faults(self) -> Report:
        report = Report("fault clear", self.env)
        self.paths.env_dir.mkdir(parents=True, exist_ok=True)
        current = fault_file.clear_faults(self.paths.faults_file)
        report.data.update({"faults": current, "faults_file": str(self.paths.faults_file)})
        report.messages.append("every fault is off")
        return report

    def remove_state(self) -> None:
        """Delete the environment's state folder (tests); refuses while anything runs."""
        if any(live_record(p) for p in self.paths.pid_dir.glob("*.pid")):
            raise SandboxError(f"sandbox {self.env} is still running; run down first")
        shutil.rmtree(self.paths.env_dir, ignore_errors=True)
