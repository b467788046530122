"""The JSON state of one environment, its secrets file and its lock.

The state file records what `up` started and what the deploy verbs put live (versions,
artifact digests); it is the source of truth for `status`, `down` and the next deploy.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.layout import StatePaths


class SandboxError(RuntimeError):
    """A sandbox operation failed; the message says what and where (exit code 1)."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json_atomic(path: Path, payload: object, mode: int = 0o644) -> None:
    """Write JSON so that a reader sees either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_json_object(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SandboxError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(payload, dict):
        raise SandboxError(f"{path} does not hold a JSON object")
    return payload


@dataclass
class AgentsRelease:
    version: str
    digest: str
    artifact: str
    deployed_at: str


@dataclass
class EnvState:
    env: str
    ports: dict[str, int] = field(default_factory=dict)
    started_at: str | None = None
    functions_version: str | None = None
    functions_verify_jwt: bool = False
    functions_previous: str | None = None  # the version served before functions_version
    agents_active: AgentsRelease | None = None
    agents_previous: AgentsRelease | None = None
    agents_slot_port: int | None = None
    web_version: str | None = None
    web_previous: str | None = None
    migrations: dict[str, Any] | None = None
    updated_at: str | None = None

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> EnvState:
        def release(key: str) -> AgentsRelease | None:
            raw = payload.get(key)
            return AgentsRelease(**raw) if isinstance(raw, dict) else None

        return cls(
            env=str(payload["env"]),
            ports={str(k): int(v) for k, v in dict(payload.get("ports") or {}).items()},
            started_at=payload.get("started_at"),
            functions_version=payload.get("functions_version"),
            functions_verify_jwt=bool(payload.get("functions_verify_jwt", False)),
            functions_previous=payload.get("functions_previous"),
            agents_active=release("agents_active"),
            agents_previous=release("agents_previous"),
            agents_slot_port=payload.get("agents_slot_port"),
            web_version=payload.get("web_version"),
            web_previous=payload.get("web_previous"),
            migrations=payload.get("migrations"),
            updated_at=payload.get("updated_at"),
        )


def load_state(paths: StatePaths) -> EnvState:
    payload = read_json_object(paths.state_file)
    if payload is None:
        return EnvState(env=paths.env)
    try:
        return EnvState.from_json(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxError(f"{paths.state_file} is not a sandbox state file ({exc})") from None


def save_state(paths: StatePaths, state: EnvState) -> None:
    state.updated_at = utc_now()
    write_json_atomic(paths.state_file, asdict(state))


@dataclass(frozen=True)
class Secrets:
    """Generated once per environment, kept in a 0600 file, never printed."""

    db_password: str
    jwt_secret: str

    def __repr__(self) -> str:
        return "Secrets(db_password='***', jwt_secret='***')"


def load_or_create_secrets(paths: StatePaths) -> Secrets:
    payload = read_json_object(paths.secrets_file)
    if payload is None:
        created = Secrets(db_password=secrets.token_urlsafe(24), jwt_secret=secrets.token_urlsafe(32))
        write_json_atomic(paths.secrets_file, asdict(created), mode=0o600)
        return created
    os.chmod(paths.secrets_file, 0o600)
    try:
        return Secrets(db_password=str(payload["db_password"]), jwt_secret=str(payload["jwt_secret"]))
    except KeyError as exc:
        raise SandboxError(f"{paths.secrets_file} lacks {exc}; remove it and the pgdata folder") from None


@contextlib.contextmanager
def env_lock(paths: StatePaths, timeout: float = 600.0) -> Iterator[None]:
    """Serialise mutating verbs on one environment (CLI runs and xdist workers alike)."""
    paths.env_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"another sandbox command holds {paths.lock_file} for more than "
                        f"{timeout:.0f}s; wait for it or end it"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)
