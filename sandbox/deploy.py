"""The runbook's staging steps A to D against the sandbox, plus the agents rollback.

Each function takes a running `Sandbox`, does the step for real and returns a `Report`
whose `summary()` is the JSON line the CLI prints; a failure sets `ok` to False and says
why. Every external command runs with a timeout, and its output is logged to
`logs/deploy-<step>.log` with the secrets masked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

import httpx
import psycopg
from psycopg import sql

from sandbox import artifacts
from sandbox import faults as fault_file
from sandbox.health import ServiceProbe, http_probe, wait_healthy
from sandbox.layout import SandboxUsageError
from sandbox.platform import AGENTS_ARTIFACT, PartReport, Report, Sandbox, child_env
from sandbox.postgres import STATEMENT_TIMEOUT
from sandbox.prometheus import target_health
from sandbox.state import AgentsRelease, SandboxError, load_state, save_state, utc_now, write_json_atomic

VERSION_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
BROKEN_MIGRATION_NAME: Final = "29991231235959_broken_migration.sql"
BUILD_TIMEOUT: Final = 300.0
DB_TIMEOUT: Final = 180.0
PROMETHEUS_TARGET_TIMEOUT: Final = 15.0


def check_version(version: str) -> str:
    if not VERSION_PATTERN.fullmatch(version):
        raise SandboxUsageError(f"version {version!r} must match {VERSION_PATTERN.pattern} (it names folders)")
    return version


@dataclass
class CommandRecord:
    argv: list[str]
    returncode: int
    seconds: float
    output_tail: str


class StepRunner:
    """Runs one deploy step's commands: timeouts, masked logging, a record of each."""

    def __init__(self, sandbox: Sandbox, step: str) -> None:
        self.sandbox = sandbox
        self.step = step
        self.log_path = sandbox.paths.log_file(f"deploy-{step}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        secrets = sandbox.secrets()
        self._secrets = sorted(
            {secrets.db_password, quote(secrets.db_password, safe=""), secrets.jwt_secret}, key=len, reverse=True
        )
        self.commands: list[CommandRecord] = []

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def log(self, line: str) -> None:
        with self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(self.mask(line) + "\n")

    def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = DB_TIMEOUT
    ) -> CommandRecord:
        shown = [self.mask(word) for word in argv]
        self.log(f"$ {' '.join(shown)}   (cwd {cwd})")
        began = time.monotonic()
        try:
            result = subprocess.run(
                list(argv),
                cwd=cwd,
                env=child_env(env or {}),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else (exc.output or "")
            self.log(output)
            raise SandboxError(f"{shown[0]} did not finish within {timeout:.0f}s; see {self.log_path}") from None
        except FileNotFoundError:
            raise SandboxError(f"{shown[0]} not found: run bash sandbox/install.sh") from None
        output = self.mask(result.stdout)
        self.log(output)
        record = CommandRecord(
            shown, result.returncode, round(time.monotonic() - began, 3), "\n".join(output.strip().splitlines()[-15:])
        )
        self.commands.append(record)
        if result.returncode != 0:
            raise SandboxError(
                f"{' '.join(shown[:3])} failed with exit code {result.returncode}:\n{record.output_tail}"
            )
        return record


def _require_running(sandbox: Sandbox, *parts: str) -> None:
    missing = [part for part in parts if sandbox.running(part) is None]
    if missing:
        raise SandboxError(
            f"sandbox {sandbox.env} is not up ({', '.join(missing)} not running); "
            f"run: python -m sandbox up --env {sandbox.env}"
        )


def _finish(report: Report, runner: StepRunner | None, began: float) -> Report:
    if runner is not None:
        report.data["commands"] = [asdict(command) for command in runner.commands]
        report.data["log"] = str(runner.log_path)
    report.seconds = time.monotonic() - began
    return report


# ---------------------------------------------------------------- A. migrations


def _stage_supabase(sandbox: Sandbox, broken: bool) -> Path:
    """Copy the Supabase folder to the state dir, adding the broken migration if asked.

    The workspace itself is never written to; the CLI pushes from this copy.
    """
    source = sandbox.config.workspace.supabase_dir
    project = sandbox.paths.migrations_workdir
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(
        source, project / "supabase", ignore=shutil.ignore_patterns("node_modules", "functions", ".temp", ".branches")
    )
    if broken:
        fault = source / "faults" / "broken_migration.sql"
        if not fault.is_file():
            raise SandboxError(f"broken_migration fault is on but {fault} is missing")
        shutil.copyfile(fault, project / "supabase" / "migrations" / BROKEN_MIGRATION_NAME)
    return project


def _db_counts(dsn: str) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with psycopg.connect(dsn, connect_timeout=5, options=STATEMENT_TIMEOUT) as conn:
        for table in ("tenants", "tenant_profiles", "tenant_migration_audit", "feature_flags"):
            exists = conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()
            if exists is None or exists[0] is None:
                counts[table] = None
                continue
            row = conn.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(table))).fetchone()
            counts[table] = int(row[0]) if row else None
        try:
            rows = conn.execute("SELECT version FROM supabase_migrations.schema_migrations ORDER BY version").fetchall()
            counts["schema_migrations"] = len(rows)
        except psycopg.errors.UndefinedTable:
            counts["schema_migrations"] = None
    return counts


def tenant_slugs(sandbox: Sandbox) -> list[str]:
    """Every tenant of the environment's database, for the agents service's ``METRICS_TENANTS``.

    Empty (with no error) before the schema exists; the service then creates a tenant's
    series at its first event, as it does for a tenant added later.
    """
    with psycopg.connect(sandbox.dsn(), connect_timeout=5, options=STATEMENT_TIMEOUT) as conn:
        exists = conn.execute("SELECT to_regclass('public.tenants')").fetchone()
        if exists is None or exists[0] is None:
            return []
        return [str(row[0]) for row in conn.execute("SELECT slug FROM public.tenants ORDER BY slug").fetchall()]


def deploy_migrations(sandbox: Sandbox) -> Report:
    """Step A: `supabase db push`, pgTAP through pg_prove, then the tenant-profile backfill."""
    began = time.monotonic()
    report = Report("deploy migrations", sandbox.env)
    runner: StepRunner | None = None
    try:
        _require_running(sandbox, "postgres")
        with sandbox.lock():
            runner = StepRunner(sandbox, "migrations")
            workspace = sandbox.config.workspace
            tools = sandbox.config.tools
            broken = bool(fault_file.read_faults(sandbox.paths.faults_file)["broken_migration"])
            project = _stage_supabase(sandbox, broken)
            report.data["broken_migration_fault"] = broken
            dsn = sandbox.dsn()
            password_env = {"PGPASSWORD": sandbox.secrets().db_password}
            pg_args = [
                "--host",
                "127.0.0.1",
                "--port",
                str(sandbox.config.ports.postgres),
                "--username",
                "postgres",
                "--dbname",
                sandbox.config.database,
            ]

            before = _db_counts(dsn)
            t0 = time.monotonic()
            runner.run(
                [
                    str(tools.supabase),
                    "db",
                    "push",
                    "--db-url",
                    f"{dsn}?sslmode=disable",  # loopback only; the sandbox cluster has no TLS
                    "--workdir",
                    str(project),
                    "--include-all",
                    "--yes",
                ],
                cwd=project,
            )
            report.parts.append(PartReport("db-push", "ok", seconds=round(time.monotonic() - t0, 3)))

            tests = sorted(str(p) for p in workspace.pgtap_dir.glob("*.sql"))
            if not tests:
                raise SandboxError(f"no pgTAP tests in {workspace.pgtap_dir}")
            t0 = time.monotonic()
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True, options=STATEMENT_TIMEOUT) as conn:
                had_pgtap = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgtap'").fetchone() is not None
                if not had_pgtap:
                    conn.execute("CREATE EXTENSION pgtap")
            try:
                runner.run(
                    [tools.pg_prove, *pg_args, "--failures", *tests], cwd=workspace.supabase_dir, env=password_env
                )
            finally:
                if not had_pgtap:
                    # Like `supabase db test`: pgTAP is there for the tests only.
                    with psycopg.connect(dsn, connect_timeout=5, autocommit=True, options=STATEMENT_TIMEOUT) as conn:
                        conn.execute("DROP EXTENSION IF EXISTS pgtap")
            report.parts.append(
                PartReport("pgtap", "ok", seconds=round(time.monotonic() - t0, 3), detail=f"{len(tests)} test files")
            )

            t0 = time.monotonic()
            runner.run(
                [
                    tools.psql,
                    *pg_args,
                    "--no-psqlrc",
                    "--set",
                    "ON_ERROR_STOP=1",
                    "--quiet",
                    "--file",
                    str(workspace.backfill_sql),
                ],
                cwd=workspace.supabase_dir,
                env=password_env,
            )
            report.parts.append(
                PartReport(
                    "backfill", "ok", seconds=round(time.monotonic() - t0, 3), detail=workspace.backfill_sql.name
                )
            )

            after = _db_counts(dsn)
            report.data["counts_before"] = before
            report.data["counts"] = after
            state = load_state(sandbox.paths)
            state.migrations = {
                "pushed_at": utc_now(),
                "schema_migrations": after.get("schema_migrations"),
                "tenants": after.get("tenants"),
                "tenant_migration_audit": after.get("tenant_migration_audit"),
            }
            save_state(sandbox.paths, state)
            report.messages.append(f"migrations pushed, pgTAP passed, backfill applied to {sandbox.config.database}")
    except (SandboxError, psycopg.Error, OSError) as exc:
        report.ok = False
        report.messages.append(str(exc) if runner is None else runner.mask(str(exc)))
    return _finish(report, runner, began)


# ---------------------------------------------------------------- B. functions


def _restore_functions(sandbox: Sandbox) -> str:
    """After a failed functions deploy, start the version that was live before, if any."""
    state = load_state(sandbox.paths)
    if state.functions_version is None:
        return "no earlier functions version to restore; functions are down"
    try:
        sandbox.start_and_wait(sandbox.spec_functions(state.functions_version, state.functions_verify_jwt))
    except SandboxError as exc:
        sandbox.stop_part("functions")
        return f"restoring functions {state.functions_version} failed too: {exc}"
    return f"functions {state.functions_version} restored"


def deploy_functions(sandbox: Sandbox, version: str, verify_jwt: bool = False) -> Report:
    """Step B: restart the Deno edge functions on `version` and health-check them.

    The functions keep one port, so there is a short gap between the old process stopping
    and the new one answering; the report gives it as `gap_seconds`.
    """
    began = time.monotonic()
    report = Report("deploy functions", sandbox.env)
    try:
        check_version(version)
        deno = sandbox.config.tools.deno
        if not os.access(deno, os.X_OK):
            raise SandboxError(f"{deno} is missing; run: bash sandbox/install.sh")
        if not sandbox.config.workspace.functions_entry.is_file():
            raise SandboxError(f"{sandbox.config.workspace.functions_entry} is missing")
        with sandbox.lock():
            spec = sandbox.spec_functions(version, verify_jwt)
            gap_start = time.monotonic()
            outcome = sandbox.stop_part("functions")
            report.parts.append(PartReport("functions-old", outcome, spec.port))
            try:
                spawned, probe = sandbox.start_and_wait(spec)
            except SandboxError as exc:
                sandbox.stop_part("functions")
                report.messages.append(_restore_functions(sandbox))
                raise exc from None
            report.parts.append(
                PartReport(
                    "functions",
                    "started",
                    spec.port,
                    spawned.record.pid,
                    round(time.monotonic() - spawned.started_at, 3),
                    probe.detail,
                )
            )
            report.data["gap_seconds"] = round(time.monotonic() - gap_start, 3)
            state = load_state(sandbox.paths)
            if state.functions_version is not None and state.functions_version != version:
                state.functions_previous = state.functions_version
            state.functions_version, state.functions_verify_jwt = version, verify_jwt
            save_state(sandbox.paths, state)
            report.data.update(
                {"version": version, "verify_jwt": verify_jwt, "url": f"http://127.0.0.1:{spec.port}/functions/v1"}
            )
            report.messages.append(f"functions {version} live on port {spec.port} (verify_jwt={verify_jwt})")
    except SandboxError as exc:
        report.ok = False
        report.messages.append(str(exc))
    return _finish(report, None, began)


# ---------------------------------------------------------------- C. agents


def _virtual_store_entry(real: Path) -> Path:
    for ancestor in real.parents:
        if ancestor.parent.name == ".pnpm":
            return ancestor
    raise SandboxError(f"{real} is not inside a pnpm virtual store (node_modules/.pnpm)")


def _linked_packages(node_modules: Path) -> list[Path]:
    found: list[Path] = []
    if not node_modules.is_dir():
        return found
    for child in node_modules.iterdir():
        if child.name.startswith("@") and child.is_dir() and not child.is_symlink():
            found.extend(child.iterdir())
        elif not child.name.startswith("."):
            found.append(child)
    return found


def stage_agents_tree(package_dir: Path, tree: Path) -> int:
    """Lay out the built service as it will run: dist/, package.json and its production
    dependency closure copied out of pnpm's virtual store. Returns the number of packages."""
    manifest = package_dir / "package.json"
    dependencies = sorted(json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", {}))
    entries: set[Path] = set()
    queue = [(package_dir / "node_modules" / name).resolve() for name in dependencies]
    top_level: dict[str, Path] = {}
    for name, real in zip(dependencies, list(queue), strict=True):
        if not real.exists():
            raise SandboxError(f"{package_dir}/node_modules/{name} is missing: run pnpm install in the workspace")
        top_level[name] = real
    while queue:
        entry = _virtual_store_entry(queue.pop())
        if entry in entries:
            continue
        entries.add(entry)
        for linked in _linked_packages(entry / "node_modules"):
            if linked.is_symlink():
                queue.append(linked.resolve())
    tree.mkdir(parents=True)
    shutil.copytree(package_dir / "dist", tree / "dist")
    shutil.copyfile(manifest, tree / "package.json")
    store = tree / "node_modules" / ".pnpm"
    for entry in sorted(entries):
        shutil.copytree(entry, store / entry.name, symlinks=True)
    for name, real in top_level.items():
        link = tree / "node_modules" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        target = store / _virtual_store_entry(real).name / real.relative_to(_virtual_store_entry(real))
        link.symlink_to(os.path.relpath(target, link.parent))
    return len(entries)


def build_agents_artifact(sandbox: Sandbox, version: str, runner: StepRunner, report: Report) -> artifacts.Artifact:
    workspace = sandbox.config.workspace
    t0 = time.monotonic()
    runner.run(
        [sandbox.config.tools.pnpm, "--filter", "agents-service", "build"],
        cwd=workspace.root,
        env={"RELEASE_VERSION": version},
        timeout=BUILD_TIMEOUT,
    )
    if not workspace.agents_server.is_file():
        raise SandboxError(f"the build did not produce {workspace.agents_server}")
    report.parts.append(PartReport("build", "ok", seconds=round(time.monotonic() - t0, 3)))
    t0 = time.monotonic()
    tree = sandbox.paths.agents_dir / f".package-{os.getpid()}"
    shutil.rmtree(tree, ignore_errors=True)
    try:
        packages = stage_agents_tree(workspace.agents_dir, tree)
        artifact = artifacts.pack(
            tree,
            sandbox.paths.artifacts_dir,
            AGENTS_ARTIFACT,
            {"name": AGENTS_ARTIFACT, "version": version, "entrypoint": "dist/server.js"},
        )
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    report.parts.append(
        PartReport(
            "package",
            "ok",
            seconds=round(time.monotonic() - t0, 3),
            detail=f"{artifact.path.name} ({artifact.size} bytes, {packages} packages)",
        )
    )
    return artifact


def wait_prometheus_target(sandbox: Sandbox, job: str, since: float) -> str:
    """Wait until Prometheus has scraped `job` up at least once after `since` (epoch seconds)."""
    deadline = time.monotonic() + PROMETHEUS_TARGET_TIMEOUT
    while True:
        targets = target_health(sandbox.config, job)
        if targets and all(t.health == "up" and t.last_scrape >= since for t in targets):
            return "up"
        if time.monotonic() > deadline:
            raise SandboxError(
                f"Prometheus has not scraped {job} up within {PROMETHEUS_TARGET_TIMEOUT:.0f}s of the switch: {targets}"
            )
        time.sleep(0.25)


def activate_agents(sandbox: Sandbox, artifact: artifacts.Artifact, version: str, report: Report) -> None:
    """Blue/green: start `artifact` on the spare slot, check it, switch the stable port, stop the old."""
    paths = sandbox.paths
    state = load_state(paths)
    slots = sandbox.config.ports.agents_slots
    old_port = state.agents_slot_port
    new_port = slots[1] if old_port == slots[0] else slots[0]
    release_dir = artifacts.unpack(artifact, paths.agents_releases)
    try:
        tenants = tenant_slugs(sandbox)
    except psycopg.Error as exc:
        tenants = sandbox.recorded_tenants()
        report.messages.append(
            f"tenants not read from the database ({type(exc).__name__}); using the {len(tenants)} recorded before"
        )
    write_json_atomic(paths.agents_tenants_file, tenants)
    spec = sandbox.spec_agents(release_dir, version, new_port, tenants)
    leftover = sandbox.stop_part(spec.name)
    if leftover != "not running":
        report.messages.append(f"stopped a leftover process on the spare slot {spec.name}: {leftover}")
    try:
        spawned, probe = sandbox.start_and_wait(spec)
    except SandboxError:
        sandbox.stop_part(spec.name)
        raise
    report.parts.append(
        PartReport(
            spec.name,
            "started",
            new_port,
            spawned.record.pid,
            round(time.monotonic() - spawned.started_at, 3),
            probe.detail,
        )
    )

    switched_at = time.time()
    sandbox.write_agents_upstream(new_port, version, artifact.digest)
    stable = f"http://127.0.0.1:{sandbox.config.ports.agents}/health"
    try:
        switched = wait_healthy("agents (stable port)", ServiceProbe(stable, paths.faults_file, version), timeout=10.0)
    except SandboxError:
        # Switch back: the release that was live stays live.
        if state.agents_active is not None and old_port is not None:
            sandbox.write_agents_upstream(old_port, state.agents_active.version, state.agents_active.digest)
        sandbox.stop_part(spec.name)
        raise
    report.parts.append(PartReport("switch", "ok", sandbox.config.ports.agents, detail=switched.detail))

    if old_port is not None and old_port != new_port:
        outcome = sandbox.stop_part(sandbox.slot_name(old_port))
        report.parts.append(PartReport(sandbox.slot_name(old_port), outcome, old_port))

    release = AgentsRelease(version=version, digest=artifact.digest, artifact=str(artifact.path), deployed_at=utc_now())
    if state.agents_active is not None and state.agents_active.digest != artifact.digest:
        state.agents_previous = state.agents_active
    state.agents_active, state.agents_slot_port = release, new_port
    save_state(paths, state)

    t0 = time.monotonic()
    report.data["prometheus_target"] = wait_prometheus_target(sandbox, "agents-service", switched_at)
    report.parts.append(PartReport("prometheus-target", "up", seconds=round(time.monotonic() - t0, 3)))
    report.data.update(
        {
            "version": version,
            "digest": artifact.digest,
            "artifact": str(artifact.path),
            "previous_digest": state.agents_previous.digest if state.agents_previous else None,
            "url": f"http://127.0.0.1:{sandbox.config.ports.agents}",
        }
    )


def deploy_agents(sandbox: Sandbox, version: str) -> Report:
    """Step C: build, package to a content-addressed artifact, start on the spare slot, switch."""
    began = time.monotonic()
    report = Report("deploy agents", sandbox.env)
    runner: StepRunner | None = None
    try:
        check_version(version)
        _require_running(sandbox, "agents-proxy", "prometheus")
        with sandbox.lock():
            runner = StepRunner(sandbox, "agents")
            artifact = build_agents_artifact(sandbox, version, runner, report)
            activate_agents(sandbox, artifact, version, report)
            report.messages.append(
                f"agents-service {version} ({artifact.digest}) live on port {sandbox.config.ports.agents}"
            )
    except (SandboxError, httpx.HTTPError, OSError) as exc:
        report.ok = False
        report.messages.append(str(exc))
    return _finish(report, runner, began)


def rollback_agents(sandbox: Sandbox, digest: str) -> Report:
    """Redeploy an earlier agents artifact by digest, through the same blue/green switch."""
    began = time.monotonic()
    report = Report("rollback agents", sandbox.env)
    try:
        normalized = artifacts.normalize_digest(digest)
        _require_running(sandbox, "agents-proxy", "prometheus")
        with sandbox.lock():
            artifact = artifacts.find(sandbox.paths.artifacts_dir, AGENTS_ARTIFACT, normalized)
            version = artifacts.read_manifest(artifact)["version"]
            activate_agents(sandbox, artifact, version, report)
            report.messages.append(f"agents-service rolled back to {version} ({artifact.digest})")
    except (SandboxError, httpx.HTTPError, OSError, KeyError) as exc:
        report.ok = False
        report.messages.append(str(exc))
    return _finish(report, None, began)


def promote_agents(sandbox: Sandbox, source: Sandbox, version: str) -> Report:
    """Ship the artifact ``source`` serves (by digest) to this environment: the image that
    was verified there, not a rebuild. ``source`` must serve ``version``."""
    began = time.monotonic()
    report = Report("promote agents", sandbox.env)
    try:
        check_version(version)
        active = load_state(source.paths).agents_active
        if active is None or active.version != version:
            serving = f"{active.version} ({active.digest})" if active else "nothing"
            raise SandboxError(f"{source.env} serves agents {serving}, not {version}: nothing verified to promote")
        _require_running(sandbox, "agents-proxy", "prometheus")
        with sandbox.lock():
            artifact = artifacts.find(sandbox.paths.artifacts_dir, AGENTS_ARTIFACT, active.digest)
            activate_agents(sandbox, artifact, version, report)
            report.data["promoted_from"] = source.env
            report.messages.append(f"agents-service {version} ({artifact.digest}) promoted from {source.env}")
    except (SandboxError, httpx.HTTPError, OSError) as exc:
        report.ok = False
        report.messages.append(str(exc))
    return _finish(report, None, began)


# ---------------------------------------------------------------- D. web


def web_build_env(sandbox: Sandbox, version: str) -> dict[str, str]:
    ports = sandbox.config.ports
    return {
        "RELEASE_VERSION": version,
        "VITE_RELEASE_VERSION": version,
        "VITE_APP_ENV": sandbox.env,
        "VITE_AGENTS_URL": f"http://127.0.0.1:{ports.agents}",
        "VITE_FUNCTIONS_URL": f"http://127.0.0.1:{ports.functions}/functions/v1",
    }


def deploy_web(sandbox: Sandbox, version: str) -> Report:
    """Step D: build the PWA, copy `dist/` to `releases/<version>/`, switch the active release."""
    began = time.monotonic()
    report = Report("deploy web", sandbox.env)
    runner: StepRunner | None = None
    try:
        check_version(version)
        _require_running(sandbox, "web")
        with sandbox.lock():
            runner = StepRunner(sandbox, "web")
            workspace = sandbox.config.workspace
            t0 = time.monotonic()
            runner.run(
                [sandbox.config.tools.pnpm, "--filter", "web", "build"],
                cwd=workspace.root,
                env=web_build_env(sandbox, version),
                timeout=BUILD_TIMEOUT,
            )
            if not (workspace.web_dist / "index.html").is_file():
                raise SandboxError(f"the build did not produce {workspace.web_dist / 'index.html'}")
            report.parts.append(PartReport("build", "ok", seconds=round(time.monotonic() - t0, 3)))

            releases = sandbox.paths.web_releases
            partial = releases / f".{version}.{os.getpid()}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(workspace.web_dist, partial)
            target = releases / version
            if target.exists():
                shutil.rmtree(target)
            os.replace(partial, target)

            link = sandbox.paths.web_current
            tmp_link = link.with_name(f".current.{os.getpid()}")
            tmp_link.unlink(missing_ok=True)
            tmp_link.symlink_to(Path("releases") / version)
            os.replace(tmp_link, link)
            url = f"http://127.0.0.1:{sandbox.config.ports.web}"
            probe = wait_healthy(
                "web", lambda: http_probe(f"{url}/__sandbox/health", expect_version=version), timeout=10.0
            )
            page = http_probe(f"{url}/")
            if not page.ok:
                raise SandboxError(f"web release {version} is active but {page.detail}")
            report.parts.append(PartReport("switch", "ok", sandbox.config.ports.web, detail=probe.detail))

            state = load_state(sandbox.paths)
            if state.web_version not in (None, version):
                state.web_previous = state.web_version
            state.web_version = version
            save_state(sandbox.paths, state)
            report.data.update({"version": version, "release_dir": str(target), "url": url})
            report.messages.append(f"web {version} live on {url}")
    except (SandboxError, OSError) as exc:
        report.ok = False
        report.messages.append(str(exc))
    return _finish(report, runner, began)
