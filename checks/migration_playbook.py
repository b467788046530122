"""The zero-downtime migration playbook's machinery: settings, pairing, a throwaway database.

Settings come from ``[targets.<t>.checks.migrations]`` in ``release.toml`` (templates such as
``{root}`` and ``${VAR}`` are filled; relative paths are under the rootdir):

``supabase_dir``     the release's ``supabase/`` folder (``migrations/``, ``rollbacks/``, ``seed/``)
``supabase_cli``     the Supabase CLI that pushes migrations (the one the deploy uses)
``pg_dump``          a PostgreSQL 15 ``pg_dump`` for the schema dumps
``scratch_dsn_env``  the environment variable holding the DSN of a role allowed to
                     ``CREATE DATABASE`` on the target's cluster (a secret; required for every
                     target but the sandbox, whose own server and superuser are used)
``timeout_s``        the timeout of each CLI / pg_dump run (each SQL statement gets its own)

The mutating parts of the playbook never touch the environment's database: they run in
``icupa_playbook_<random>``, created next to it on the same cluster and dropped afterwards.
Migrations are pushed with the Supabase CLI (``db push --include-all``), the tool the deploy
itself uses, so the file-per-transaction behaviour and ``supabase_migrations.schema_migrations``
(which every rollback edits) are the real ones; rollbacks and the backfill are plain SQL files
applied with psycopg in autocommit mode, so each file's own ``begin``/``commit`` governs, like
``psql -f`` in the runbook.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.masking import Masker
from plugin.settings import Settings
from plugin.templating import TemplateError, render

MIGRATION_NAME: Final = re.compile(r"^(?P<version>\d{14})_(?P<name>[A-Za-z0-9_]+)\.sql$")
DB_TIMEOUT_S: Final = 30
CONNECT_TIMEOUT_S: Final = 10
CLI_ENV: Final = {"SUPABASE_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1", "SUPABASE_NO_UPDATE_NOTIFIER": "1"}
_SANDBOX_DEFAULTS: Final = {
    "supabase_dir": "{root}/sandbox/workspace/supabase",
    "supabase_cli": "{root}/sandbox/workspace/supabase/node_modules/.bin/supabase",
}


class PlaybookError(Exception):
    """The playbook cannot run; the message says why (and never holds a secret)."""


class MigrationSettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    supabase_dir: Annotated[str, Field(min_length=1)]
    supabase_cli: Annotated[str, Field(min_length=1)] = "supabase"
    pg_dump: Annotated[str, Field(min_length=1)] = "/usr/lib/postgresql/15/bin/pg_dump"
    scratch_dsn_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=1800)] = 180.0


@dataclass(frozen=True)
class PlaybookSettings:
    target: str
    supabase_dir: Path
    supabase_cli: str
    pg_dump: str
    scratch_dsn_env: str | None
    timeout_s: float

    @property
    def migrations_dir(self) -> Path:
        return self.supabase_dir / "migrations"

    @property
    def rollbacks_dir(self) -> Path:
        return self.supabase_dir / "rollbacks"

    @property
    def backfill_sql(self) -> Path:
        return self.supabase_dir / "seed" / "backfill_tenant_profiles.sql"


def _variables(settings: Settings) -> dict[str, str]:
    variables = {
        "python": sys.executable,
        "root": str(settings.rootdir),
        "target": settings.target_name,
        "env": settings.env or "",
        "version": settings.version or "",
    }
    if settings.target is not None:
        variables.update(settings.target.vars)
        if settings.env and settings.env in settings.target.environments:
            variables.update(settings.target.environments[settings.env].vars)
    return variables


def load_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> PlaybookSettings:
    """The target's ``checks.migrations`` table, validated and filled."""
    where = f"{settings.config_path or 'release.toml'}: targets.{settings.target_name}.checks.migrations"
    raw: dict[str, Any] = dict(settings.target.checks.get("migrations", {})) if settings.target else {}
    if settings.target_name == "sandbox":
        raw = {**_SANDBOX_DEFAULTS, **raw}
    elif not raw:
        raise PlaybookError(f"{where}: missing; the playbook needs at least supabase_dir and scratch_dsn_env")
    try:
        model = MigrationSettingsModel.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise PlaybookError(f"{where}: {problems}") from None
    if settings.target_name != "sandbox" and model.scratch_dsn_env is None:
        raise PlaybookError(f"{where}.scratch_dsn_env: required for a target other than the sandbox")
    variables, env = _variables(settings), os.environ if environ is None else environ

    def fill(key: str, value: str) -> str:
        try:
            return render(value, variables, env)
        except TemplateError as exc:
            raise PlaybookError(f"{where}.{key}: {exc}") from None

    return PlaybookSettings(
        target=settings.target_name,
        supabase_dir=settings.rootdir / fill("supabase_dir", model.supabase_dir),
        supabase_cli=fill("supabase_cli", model.supabase_cli),
        pg_dump=fill("pg_dump", model.pg_dump),
        scratch_dsn_env=model.scratch_dsn_env,
        timeout_s=model.timeout_s,
    )


# ---------------------------------------------------------------------------- pairing


def migration_files(migrations_dir: Path) -> list[Path]:
    """The migration files in push order (the CLI's: by their 14-digit version)."""
    if not migrations_dir.is_dir():
        raise PlaybookError(f"{migrations_dir}: no migrations folder")
    return sorted(migrations_dir.glob("*.sql"), key=lambda p: p.name)


def rollback_path(settings: PlaybookSettings, migration: Path) -> Path:
    return settings.rollbacks_dir / f"{migration.stem}_rollback.sql"


def pairing_problems(settings: PlaybookSettings) -> list[str]:
    """Every migration has exactly its rollback, every rollback its migration; names are well formed."""
    problems: list[str] = []
    migrations = migration_files(settings.migrations_dir)
    if not migrations:
        problems.append(f"{settings.migrations_dir}: no migrations")
    stems = set()
    for migration in migrations:
        if MIGRATION_NAME.match(migration.name) is None:
            problems.append(f"{migration}: not named <14-digit version>_<name>.sql")
        stems.add(migration.stem)
        rollback = rollback_path(settings, migration)
        if not rollback.is_file():
            problems.append(f"{migration}: no rollback file {rollback}")
        elif not rollback.read_text(encoding="utf-8").strip():
            problems.append(f"{rollback}: empty rollback file for {migration.name}")
    if settings.rollbacks_dir.is_dir():
        for rollback in sorted(settings.rollbacks_dir.glob("*.sql")):
            stem = rollback.stem.removesuffix("_rollback")
            if stem == rollback.stem:
                problems.append(f"{rollback}: a rollback's name ends in _rollback.sql")
            elif stem not in stems:
                problems.append(f"{rollback}: rollback of {stem}.sql, which is not a migration")
    return problems


# ------------------------------------------------------------------ throwaway database


@dataclass(frozen=True)
class ScratchDatabase:
    """A throwaway database; ``dsn`` (libpq key=value) and ``url`` hold the password: never print them."""

    name: str
    dsn: str = field(repr=False)
    url: str = field(repr=False)
    password: str | None = field(repr=False)

    def masker(self, base: Masker) -> Masker:
        values = [self.dsn, self.url] + ([self.password] if self.password else [])
        return base.with_secrets(values)


def _options() -> str:
    return f"-c statement_timeout={DB_TIMEOUT_S * 1000} -c lock_timeout={DB_TIMEOUT_S * 1000}"


def _url(params: Mapping[str, str]) -> str:
    user = quote(params.get("user", "postgres"), safe="")
    password = params.get("password")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    sslmode = params.get("sslmode") or ("disable" if host in {"127.0.0.1", "localhost", "::1"} else "require")
    return f"postgresql://{auth}@{host}:{port}/{quote(params['dbname'], safe='')}?sslmode={sslmode}"


class ScratchServer:
    """Creates ``icupa_playbook_<random>`` databases on a cluster and drops every one on ``close``."""

    def __init__(self, admin_dsn: str) -> None:
        try:
            self._params = {k: str(v) for k, v in conninfo_to_dict(admin_dsn).items() if v is not None}
        except psycopg.ProgrammingError:
            raise PlaybookError("the scratch DSN is not a valid PostgreSQL connection string") from None
        self._admin = admin_dsn
        self.created: list[str] = []

    def _execute(self, statement: sql.Composed) -> None:
        try:
            with psycopg.connect(
                self._admin, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, options=_options()
            ) as conn:
                conn.execute(statement)
        except psycopg.Error as exc:
            # psycopg's messages name host and port at most, never the password.
            raise PlaybookError(f"on the scratch server: {type(exc).__name__}: {exc}".strip()) from None

    def create(self) -> ScratchDatabase:
        name = f"icupa_playbook_{secrets.token_hex(6)}"
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        params = {**self._params, "dbname": name}
        return ScratchDatabase(name, make_conninfo("", **params), _url(params), params.get("password"))

    def drop(self, name: str) -> None:
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def close(self) -> list[str]:
        """Drop every database this server created; returns the problems (empty when clean)."""
        problems = []
        for name in list(self.created):
            try:
                self.drop(name)
            except PlaybookError as exc:
                problems.append(f"{name}: {exc}")
        return problems


# -------------------------------------------------------------------- operations on it


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def _run(argv: list[str], *, env: Mapping[str, str], timeout_s: float, masker: Masker, cwd: Path) -> Outcome:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        return Outcome(127, f"{argv[0]}: not found")
    except subprocess.TimeoutExpired:
        return Outcome(
            124, f"{Path(argv[0]).name} {' '.join(masker.mask_argv(argv[1:3]))}: timed out after {timeout_s:g}s"
        )
    return Outcome(done.returncode, masker.mask(done.stdout + done.stderr))


def push_migrations(settings: PlaybookSettings, db: ScratchDatabase, migrations: list[Path], masker: Masker) -> Outcome:
    """``supabase db push --include-all`` of exactly ``migrations``, from a copy of them."""
    mask = db.masker(masker)
    with tempfile.TemporaryDirectory(prefix="icupa-playbook-") as workdir:
        folder = Path(workdir) / "supabase" / "migrations"
        folder.mkdir(parents=True)
        for migration in migrations:
            shutil.copyfile(migration, folder / migration.name)
        argv = [settings.supabase_cli, "db", "push", "--db-url", db.url, "--workdir", workdir, "--include-all", "--yes"]
        return _run(argv, env=CLI_ENV, timeout_s=settings.timeout_s, masker=mask, cwd=Path(workdir))


def dump_schema(settings: PlaybookSettings, db: ScratchDatabase, masker: Masker) -> str:
    """``pg_dump --schema-only`` (fixed restrict key, so two dumps compare byte for byte)."""
    params = {k: v for k, v in conninfo_to_dict(db.dsn).items() if k != "password" and v is not None}
    argv = [settings.pg_dump, "--schema-only", "--restrict-key=x", f"--dbname={make_conninfo('', **params)}"]
    env = {"PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_S)}
    if db.password:
        env["PGPASSWORD"] = db.password
    outcome = _run(argv, env=env, timeout_s=settings.timeout_s, masker=db.masker(masker), cwd=Path.cwd())
    if outcome.returncode != 0:
        raise PlaybookError(f"pg_dump of {db.name} exited {outcome.returncode}: {outcome.output[-2000:]}")
    return outcome.output


def run_sql_file(db: ScratchDatabase, path: Path) -> list[tuple[Any, ...]]:
    """Run a SQL file (its own transaction control) in autocommit mode; the last result set's rows."""
    try:
        with psycopg.connect(db.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, options=_options()) as conn:
            cursor = conn.execute(path.read_text(encoding="utf-8").encode())
            rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description else []
            while cursor.nextset():
                rows = cursor.fetchall() if cursor.description else rows
            return rows
    except psycopg.Error as exc:
        raise PlaybookError(f"{path} failed in {db.name}: {type(exc).__name__}: {exc}".strip()) from None


def query(db: ScratchDatabase, statement: str) -> list[tuple[Any, ...]]:
    try:
        with psycopg.connect(db.dsn, connect_timeout=CONNECT_TIMEOUT_S, options=_options()) as conn:
            return conn.execute(statement.encode()).fetchall()
    except psycopg.Error as exc:
        raise PlaybookError(f"query in {db.name} failed: {type(exc).__name__}: {exc}".strip()) from None


@contextmanager
def scratch_server(admin_dsn: str) -> Iterator[ScratchServer]:
    server = ScratchServer(admin_dsn)
    try:
        yield server
    finally:
        server.close()
