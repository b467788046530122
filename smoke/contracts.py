"""Endpoint contracts of the smoke suite: the file format, its validation, and expansion.

``release.toml`` names the contract file in ``[targets.<t>.checks.smoke]``; the file lists
one ``[[endpoint]]`` table per endpoint. Both are validated with pydantic (unknown keys are
errors), and every error names the file and the key. A contract of a ``--verify-jwt``
endpoint (``verify_jwt = true``) expands into two checks, one with the service token and
one without, so each is its own test result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plugin.tomlfile import read_toml

Base = Literal["agents", "functions", "web"]
JsonScalar = str | int | float | bool

_NAME = r"^[a-z][a-z0-9-]*$"
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class SmokeConfigError(Exception):
    """The smoke configuration cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Contract(_Strict):
    """One endpoint: what to send, and what the answer must be."""

    name: str = Field(pattern=_NAME)
    base: Base
    method: Literal["GET", "POST", "HEAD"] = "GET"
    path: str = Field(pattern=r"^/")
    status: int = Field(ge=100, le=599)
    json_fields: list[str] = Field(default_factory=list)
    # Fixed values of fields; "{version}" stands for the release version.
    json_values: dict[str, JsonScalar] = Field(default_factory=dict)
    content_type: str | None = None
    body: dict[str, Any] | None = None
    latency_ms: int = Field(gt=0)
    timeout_s: float | None = Field(default=None, gt=0)
    auth: Literal["none", "service_token"] = "none"
    verify_jwt: bool = False
    status_without_token: int = Field(default=401, ge=100, le=599)
    runbook: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        for field in [*self.json_fields, *self.json_values]:
            if not _FIELD.match(field):
                raise ValueError(f"json field {field!r} is not a dotted name")
        if self.verify_jwt and self.auth != "service_token":
            raise ValueError("verify_jwt = true needs auth = 'service_token'")
        if self.body is not None and self.method != "POST":
            raise ValueError("body is only sent with method = 'POST'")
        return self


class ContractFile(_Strict):
    schema_version: Literal[1] = Field(alias="schema")
    timeout_s: float = Field(default=10.0, gt=0)
    endpoint: list[Contract] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ContractFile:
        names = [contract.name for contract in self.endpoint]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return self


class SmokeSettings(_Strict):
    """``[targets.<t>.checks.smoke]`` in ``release.toml``."""

    contracts: str
    # "auto": follow what the target records (the sandbox's functions_verify_jwt); true: the
    # no-token request must be refused (the real platform always verifies).
    verify_jwt: bool | Literal["auto"] = "auto"
    tenant: str = Field(default="icupa-hq", pattern=r"^[a-z0-9][a-z0-9-]*$")
    max_connections: int = Field(default=100, gt=0)
    playwright_timeout_s: float = Field(default=30.0, gt=0)


def _problems(exc: ValidationError, prefix: str, raw: Any) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        # Name the endpoint by its name, where the table has one: endpoint[2] (agents-health).
        if len(loc) >= 2 and loc[0] == "endpoint" and isinstance(loc[1], int) and isinstance(raw, dict):
            tables = raw.get("endpoint")
            name = tables[loc[1]].get("name") if isinstance(tables, list) and isinstance(tables[loc[1]], dict) else None
            head = f"endpoint[{loc[1]}]" + (f" ({name})" if isinstance(name, str) else "")
            loc = [head, *loc[2:]]
        key = ".".join(str(part) for part in [prefix, *loc] if part != "") or "(top level)"
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)


def smoke_settings(section: dict[str, Any] | None, *, config_path: Path | None, target: str) -> SmokeSettings:
    where = config_path if config_path is not None else Path("release.toml")
    if section is None:
        raise SmokeConfigError(
            f"{where}: targets.{target}.checks.smoke is missing: the smoke suite needs its contracts"
        )
    try:
        return SmokeSettings.model_validate(section)
    except ValidationError as exc:
        raise SmokeConfigError(
            f"{where}: invalid smoke settings:\n" + _problems(exc, f"targets.{target}.checks.smoke", section)
        ) from None


def load_contracts(path: Path) -> ContractFile:
    """Read and validate a contract file. Raises :class:`SmokeConfigError` naming file and key."""
    raw = read_toml(path, SmokeConfigError)
    try:
        return ContractFile.model_validate(raw)
    except ValidationError as exc:
        raise SmokeConfigError(f"{path}: invalid smoke contracts:\n" + _problems(exc, "", raw)) from None


@dataclass(frozen=True)
class Check:
    """One request of a contract, and so one test result."""

    id: str
    contract: Contract
    with_token: bool
    # Only the no-token request of a --verify-jwt endpoint.
    without_token: bool
    timeout_s: float


def expand(contracts: ContractFile) -> list[Check]:
    """The checks of a contract file, in file order; ids are stable (collection uses them)."""
    checks: list[Check] = []
    for contract in contracts.endpoint:
        timeout = contract.timeout_s or contracts.timeout_s
        token = contract.auth == "service_token"
        if contract.verify_jwt:
            checks.append(Check(f"{contract.name}-with-token", contract, True, False, timeout))
            checks.append(Check(f"{contract.name}-without-token", contract, False, True, timeout))
        else:
            checks.append(Check(contract.name, contract, token, False, timeout))
    return checks
