"""PostgreSQL 15 for one environment: its own cluster, run as the `postgres` user.

PostgreSQL refuses to run as root, so when we are root initdb and postgres run as `postgres`
with the data folder owned by it. Only TCP on 127.0.0.1 is open (no Unix socket), with
scram-sha-256 password auth for the superuser `postgres`; the password is generated once and
kept in the environment's 0600 secrets file.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from sandbox.layout import SandboxConfig
from sandbox.state import SandboxError

DB_USER = "postgres"
# Every statement the orchestrator itself sends is bounded, like every other call it makes.
STATEMENT_TIMEOUT = "-c statement_timeout=30000"
INITDB_TIMEOUT = 120.0


def run_as_user() -> str | None:
    """The OS user PostgreSQL runs as: `postgres` when we are root, else ourselves."""
    return "postgres" if os.geteuid() == 0 else None


def dsn(config: SandboxConfig, password: str, database: str | None = None) -> str:
    db = database or config.database
    return f"postgresql://{DB_USER}:{quote(password, safe='')}@127.0.0.1:{config.ports.postgres}/{db}"


def masked_dsn(config: SandboxConfig, database: str | None = None) -> str:
    return f"postgresql://{DB_USER}:***@127.0.0.1:{config.ports.postgres}/{database or config.database}"


def _check_reachable(path: Path, user: str) -> None:
    """Fail clearly when `user` cannot traverse to `path` (a 0700 parent, as pytest's tmp has)."""
    entry = pwd.getpwnam(user)
    for ancestor in reversed(path.parents):
        info = ancestor.stat()
        if info.st_uid == entry.pw_uid:
            continue
        if not info.st_mode & stat.S_IXOTH and not (info.st_gid == entry.pw_gid and info.st_mode & stat.S_IXGRP):
            raise SandboxError(
                f"the {user} user cannot reach {path}: {ancestor} is mode "
                f"{stat.S_IMODE(info.st_mode):04o}; put the sandbox state (SANDBOX_STATE_DIR) "
                "under a folder others may traverse"
            )


def ensure_cluster(config: SandboxConfig, password: str) -> bool:
    """initdb the environment's cluster if it has none yet. True when it was created now."""
    pgdata = config.paths.pgdata
    if (pgdata / "PG_VERSION").is_file():
        return False
    user = run_as_user()
    pgdata.mkdir(parents=True, exist_ok=True)
    if any(pgdata.iterdir()):
        raise SandboxError(f"{pgdata} exists but holds no cluster; remove it and run up again")
    pwfile = config.paths.env_dir / ".initdb-password"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    try:
        if user is not None:
            _check_reachable(pgdata, user)
            entry = pwd.getpwnam(user)
            os.chown(pgdata, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        os.chmod(pgdata, 0o700)
        argv = [
            str(config.tools.pg_bin / "initdb"),
            "--pgdata",
            str(pgdata),
            "--username",
            DB_USER,
            "--pwfile",
            str(pwfile),
            "--auth-host",
            "scram-sha-256",
            "--auth-local",
            "peer",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        ]
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=INITDB_TIMEOUT,
                check=False,
                user=user,
                group=user,
                extra_groups=[] if user else None,
                cwd="/",
            )
        except subprocess.TimeoutExpired:
            raise SandboxError(f"initdb did not finish within {INITDB_TIMEOUT:.0f}s") from None
        except FileNotFoundError:
            raise SandboxError(f"{argv[0]} not found: run bash sandbox/install.sh (postgresql-15)") from None
        if result.returncode != 0:
            raise SandboxError(f"initdb failed ({result.returncode}):\n{result.stderr.strip()[-2000:]}")
    finally:
        pwfile.unlink(missing_ok=True)
    return True


def server_argv(config: SandboxConfig) -> list[str]:
    return [
        str(config.tools.pg_bin / "postgres"),
        "-D",
        str(config.paths.pgdata),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"port={config.ports.postgres}",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=60",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]


def ensure_database(config: SandboxConfig, password: str) -> bool:
    """Create the environment's database (`icupa_<env>`) if missing. True when created now."""
    conninfo = dsn(config, password, "postgres")
    try:
        with psycopg.connect(conninfo, connect_timeout=5, autocommit=True, options=STATEMENT_TIMEOUT) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (config.database,)).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config.database)))
    except psycopg.Error as exc:
        raise SandboxError(f"cannot create database {config.database}: {exc}") from None
    return True
