"""Fault switches: a JSON file per environment that the running services read.

The file always holds every key with its current value, so a reader never has to guess a
default; it is replaced atomically, so a reader never sees half of it.

`faulty_version` scopes the faults the agents service and the edge functions apply
(error_rate, latency_ms, guardrail_breach_rate, payment_failure_rate, smoke_fail) to one
release: a process serving another version ignores them, so rolling the bad release back
makes the service healthy again, as with a real bad release.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sandbox.layout import SandboxUsageError
from sandbox.state import SandboxError, read_json_object, write_json_atomic

FaultValue = bool | int | float | str

# The menu page's data: the PWA routes pages in the hash, so this is what makes that page heavy.
DEFAULT_HEAVY_PAGE: Final = "/menus/"


def _rate(key: str, value: object) -> FaultValue:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SandboxUsageError(f"{key} takes a number between 0 and 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise SandboxUsageError(f"{key} takes a number between 0 and 1, got {value!r}")
    return float(value)


def _millis(key: str, value: object) -> FaultValue:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 60_000:
        raise SandboxUsageError(f"{key} takes whole milliseconds 0..60000, got {value!r}")
    return value


def _flag(key: str, value: object) -> FaultValue:
    if not isinstance(value, bool):
        raise SandboxUsageError(f"{key} takes true or false, got {value!r}")
    return value


def _page(key: str, value: object) -> FaultValue:
    # true means the default heavy page; a path picks another one; false switches it off.
    if value is True:
        return DEFAULT_HEAVY_PAGE
    if value is False:
        return False
    if isinstance(value, str) and value.startswith("/"):
        return value
    raise SandboxUsageError(f"{key} takes true, false or a path like /menus/ (a prefix) or /index.html, got {value!r}")


def _version(key: str, value: object) -> FaultValue:
    # "" means every version; otherwise a release name as deploy accepts it.
    from sandbox.deploy import VERSION_PATTERN  # noqa: PLC0415 - sandbox.deploy imports this module

    if isinstance(value, str) and (value == "" or VERSION_PATTERN.fullmatch(value)):
        return value
    raise SandboxUsageError(
        f'{key} takes "" (every version) or a release like v0.1.0 matching {VERSION_PATTERN.pattern}, got {value!r}'
    )


@dataclass(frozen=True)
class FaultSpec:
    default: FaultValue
    check: Callable[[str, object], FaultValue]
    effect: str


FAULTS: Final[Mapping[str, FaultSpec]] = {
    "error_rate": FaultSpec(0.0, _rate, "share of agents-service and edge-function requests answered 500"),
    "latency_ms": FaultSpec(0, _millis, "added delay on every agents-service and edge-function request"),
    "guardrail_breach_rate": FaultSpec(0.0, _rate, "share of agent chats the guardrail lets through as breaches"),
    "payment_failure_rate": FaultSpec(0.0, _rate, "share of payments that fail"),
    "smoke_fail": FaultSpec(False, _flag, "health/smoke endpoints answer 503"),
    "heavy_page": FaultSpec(
        False, _page, "the menu page is slow (its data answers after 2.5 s) and heavy (3 MiB more)"
    ),
    "broken_migration": FaultSpec(False, _flag, "deploy migrations pushes an extra migration that fails"),
    "faulty_version": FaultSpec(
        "",
        _version,
        "the agents-service and edge-function faults apply only to a process serving this release (empty: to all)",
    ),
}


def default_faults() -> dict[str, FaultValue]:
    return {key: spec.default for key, spec in FAULTS.items()}


def _parse_value(raw: str) -> object:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _parse_text(raw: str) -> object:
    # A string-valued key keeps its text as typed (`1.10` is a release, not the number 1.1);
    # a JSON string literal (`""`, `"v1"`) is unquoted.
    value = _parse_value(raw)
    return value if isinstance(value, str) else raw


def parse_assignments(assignments: Iterable[str]) -> dict[str, FaultValue]:
    """`KEY=VALUE` words from the command line.

    Each value is read as JSON when it parses, except for a key whose value is a string
    (`faulty_version`): that one keeps the text as typed, unquoted if it is a JSON string.
    """
    parsed: dict[str, FaultValue] = {}
    for word in assignments:
        key, sep, raw = word.partition("=")
        if not sep or not key:
            raise SandboxUsageError(f"expected KEY=VALUE, got {word!r}")
        spec = FAULTS.get(key)
        text_valued = spec is not None and isinstance(spec.default, str)
        parsed[key] = validate(key, _parse_text(raw) if text_valued else _parse_value(raw))
    if not parsed:
        raise SandboxUsageError("fault set needs at least one KEY=VALUE")
    return parsed


def validate(key: str, value: object) -> FaultValue:
    spec = FAULTS.get(key)
    if spec is None:
        raise SandboxUsageError(f"unknown fault {key!r}: expected one of {', '.join(FAULTS)}")
    return spec.check(key, value)


def read_faults(path: Path) -> dict[str, FaultValue]:
    payload = read_json_object(path)
    current = default_faults()
    if payload is None:
        return current
    for key, value in payload.items():
        try:
            current[key] = validate(key, value)
        except SandboxUsageError as exc:
            raise SandboxError(f"{path}: {exc}") from None
    return current


def write_faults(path: Path, faults: Mapping[str, FaultValue]) -> dict[str, FaultValue]:
    merged = default_faults()
    merged.update(faults)
    write_json_atomic(path, merged)
    return merged


def set_faults(path: Path, changes: Mapping[str, FaultValue]) -> dict[str, FaultValue]:
    current = read_faults(path)
    current.update({key: validate(key, value) for key, value in changes.items()})
    return write_faults(path, current)


def clear_faults(path: Path) -> dict[str, FaultValue]:
    return write_faults(path, {})


def active_faults(faults: Mapping[str, FaultValue]) -> dict[str, FaultValue]:
    return {key: value for key, value in faults.items() if value != FAULTS[key].default}
