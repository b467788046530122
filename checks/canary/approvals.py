"""Approvals before production: the Product and Engineering leads, after the staging sign-off.

Settings: ``[targets.<t>.checks.approval]``::

    record = "sandbox/recorded/approvals/{version}.json"  # relative to the rootdir
    recorded = true                 # a recorded stand-in (labelled so in the report)
    max_delay_h = 72                # an approval later than this after the sign-off is late
    [targets.<t>.checks.approval.approvers]        # who may approve, per role
    product_lead = ["amara.uwase"]
    engineering_lead = ["jean.mugabo"]
    [targets.<t>.checks.approval.approvers_env]    # or: a comma-separated environment variable
    product_lead = "ICUPA_PRODUCT_LEADS"

The record (JSON)::

    {"release": "v0.1.0",
     "staging_signoff": {"by": "...", "at": "2026-11-20T09:00:00Z"},
     "approvals": [{"role": "product_lead", "name": "...", "at": "...", "comment": "..."}]}

A role is approved when at least one of its approvals is by an allowed approver, dated at or
after the sign-off, no later than ``max_delay_h`` after it, and not in the future.

The production promotion (``checks/promotion.py``) keeps a live record instead, with no
sign-off in it (the sign-off is the staging gate run that passed)::

    {"release": "v0.1.0", "approvals": [{"role": "...", "name": "...", "at": "...", "comment": "..."}]}

A lead approving appends to it, stamped with the current time::

    python -m checks.canary.approvals approve --record PATH --release v0.1.0 \
        --role product_lead --name amara.uwase [--comment "..."]

It prints one JSON summary line last; exit codes: 0 recorded, 1 the record is unusable, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.settings import Settings

CLOCK_SKEW = timedelta(minutes=5)
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_LOCK_TIMEOUT_S: Final = 30.0
_ROLE: Final = re.compile(r"^[a-z][a-z0-9_]*$")


class ApprovalError(Exception):
    """The settings or the record cannot be read; the message says which and why."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    record: Annotated[str, Field(min_length=1)]
    recorded: bool = False
    max_delay_h: Annotated[float, Field(gt=0)] = 72.0
    approvers: dict[str, list[str]] = Field(default_factory=dict)
    approvers_env: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalSettings:
    record: Path
    recorded: bool
    max_delay: timedelta
    approvers: dict[str, tuple[str, ...]]


def from_target(settings: Settings) -> ApprovalSettings:
    where = f"targets.{settings.target_name}.checks.approval"
    target = settings.target
    if target is None or "approval" not in target.checks:
        raise ApprovalError(f"release.toml has no [{where}] table: no approval record to check")
    try:
        model = _Settings.model_validate(target.checks["approval"])
    except ValidationError as exc:
        problems = "; ".join(f"{where}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApprovalError(problems) from None
    approvers = {role: tuple(names) for role, names in model.approvers.items()}
    for role, variable in model.approvers_env.items():
        names = [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]
        approvers[role] = (*approvers.get(role, ()), *names)
    record = Path(model.record.replace("{version}", settings.version or "unknown"))
    return ApprovalSettings(
        record=record if record.is_absolute() else settings.rootdir / record,
        recorded=model.recorded,
        max_delay=timedelta(hours=model.max_delay_h),
        approvers=approvers,
    )


@dataclass(frozen=True)
class Approval:
    role: str
    name: str
    at: datetime
    comment: str = ""


@dataclass(frozen=True)
class ApprovalRecord:
    release: str
    signoff_by: str
    signoff_at: datetime
    approvals: tuple[Approval, ...]
    recorded: bool


@dataclass
class RoleCheck:
    role: str
    accepted: Approval | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.accepted is not None


def _when(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise ApprovalError(f"{what}: a time is missing")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApprovalError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApprovalError(f"{what}: {value!r} has no time zone")
    return moment.astimezone(UTC)


def load_record(path: Path, recorded: bool) -> ApprovalRecord:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApprovalError(f"no approval record at {path}: nobody has approved this release") from None
    except (OSError, ValueError) as exc:
        raise ApprovalError(f"cannot read the approval record {path}: {exc}") from None
    if not isinstance(payload, dict):
        raise ApprovalError(f"{path}: the approval record is not a JSON object")
    signoff = payload.get("staging_signoff")
    if not isinstance(signoff, dict) or not signoff.get("by"):
        raise ApprovalError(f"{path}: no staging sign-off recorded (staging_signoff.by, .at)")
    approvals = []
    for index, item in enumerate(payload.get("approvals") or []):
        if not isinstance(item, dict) or not item.get("role") or not item.get("name"):
            raise ApprovalError(f"{path}: approvals[{index}] needs a role, a name and a time")
        at = _when(item.get("at"), f"{path}: approvals[{index}].at")
        approvals.append(Approval(str(item["role"]), str(item["name"]), at, str(item.get("comment", ""))))
    return ApprovalRecord(
        release=str(payload.get("release", "")),
        signoff_by=str(signoff["by"]),
        signoff_at=_when(signoff.get("at"), f"{path}: staging_signoff.at"),
        approvals=tuple(approvals),
        recorded=recorded,
    )


def check_role(record: ApprovalRecord, role: str, settings: ApprovalSettings, now: datetime) -> RoleCheck:
    """Whether ``role`` approved this release; every approval that does not count says why."""
    check = RoleCheck(role)
    allowed = settings.approvers.get(role, ())
    if not allowed:
        check.problems.append(f"no allowed approvers are configured for {role}")
        return check
    candidates = [approval for approval in record.approvals if approval.role == role]
    if not candidates:
        check.problems.append(f"no approval from a {role} is recorded")
    for approval in candidates:
        stamp = approval.at.isoformat()
        if approval.name not in allowed:
            check.problems.append(f"{approval.name} is not an allowed {role} (allowed: {', '.join(allowed)})")
        elif approval.at < record.signoff_at:
            check.problems.append(
                f"{approval.name} approved at {stamp}, before the staging sign-off at {record.signoff_at.isoformat()}"
            )
        elif approval.at > record.signoff_at + settings.max_delay:
            hours = (approval.at - record.signoff_at).total_seconds() / 3600
            limit = settings.max_delay.total_seconds() / 3600
            check.problems.append(
                f"{approval.name} approved late: {hours:.1f} h after the sign-off (limit {limit:g} h)"
            )
        elif approval.at > now + CLOCK_SKEW:
            check.problems.append(f"{approval.name}'s approval is dated in the future ({stamp})")
        elif check.accepted is None:
            check.accepted = approval
    return check


# --- the live record of the production promotion ------------------------------------------


def load_approvals(path: Path, release: str) -> tuple[Approval, ...]:
    """The approvals of a live record (no sign-off in it) for ``release``; ApprovalError names the file."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApprovalError(f"no approval record at {path}: nobody has approved {release} for production") from None
    except (OSError, ValueError) as exc:
        raise ApprovalError(f"cannot read the approval record {path}: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("approvals", []), list):
        raise ApprovalError(f"{path}: the approval record is not an object with an 'approvals' list")
    if payload.get("release") != release:
        raise ApprovalError(f"{path} approves {payload.get('release') or 'no release'}, not {release}")
    approvals = []
    for index, item in enumerate(payload.get("approvals", [])):
        if not isinstance(item, dict) or not item.get("role") or not item.get("name"):
            raise ApprovalError(f"{path}: approvals[{index}] needs a role, a name and a time")
        at = _when(item.get("at"), f"{path}: approvals[{index}].at")
        approvals.append(Approval(str(item["role"]), str(item["name"]), at, str(item.get("comment", ""))))
    return tuple(approvals)


def _stamp(moment: datetime) -> str:
    # Milliseconds, as the gate's own records have: an approval given in the same second as
    # the staging sign-off must still compare as after it.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append_approval(path: Path, release: str, approval: Approval) -> dict[str, Any]:
    """Append ``approval`` to the live record at ``path`` (created if missing), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path) + ".lock", timeout=_LOCK_TIMEOUT_S):
            if path.exists():
                load_approvals(path, release)  # refuses a broken record or another release's
                payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            else:
                payload = {"release": release, "approvals": []}
            entry = {"role": approval.role, "name": approval.name, "at": _stamp(approval.at)}
            if approval.comment:
                entry["comment"] = approval.comment
            payload["approvals"].append(entry)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
            os.replace(temp, path)
    except Timeout:
        raise ApprovalError(f"{path}: another approval held the record's lock for {_LOCK_TIMEOUT_S:g}s") from None
    except OSError as exc:
        raise ApprovalError(f"cannot write the approval record {path}: {exc.strerror or exc}") from None
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """``approve``: a lead's approval, stamped now, appended to the release's live record."""
    parser = argparse.ArgumentParser(
        prog="python -m checks.canary.approvals", description="Record a lead's approval of a release for production."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    approve = verbs.add_parser("approve", help="append an approval stamped now")
    approve.add_argument("--record", required=True, type=Path, help="the release's approval record (JSON)")
    approve.add_argument("--release", required=True, help="the release approved, e.g. v0.1.0")
    approve.add_argument("--role", required=True, help="e.g. product_lead or engineering_lead")
    approve.add_argument("--name", required=True, help="who approves (their login)")
    approve.add_argument("--comment", default="")
    args = parser.parse_args(argv)
    summary: dict[str, Any] = {"command": "approve", "ok": False, "record": str(args.record), "release": args.release}
    if not _ROLE.match(args.role) or not args.name.strip() or not args.release.strip():
        print("approve: --role must be a lower-case name, --name and --release non-empty", file=sys.stderr)
        print(json.dumps({**summary, "error": "usage"}))
        return EXIT_USAGE
    approval = Approval(args.role, args.name.strip(), datetime.now(UTC), args.comment)
    try:
        entry = append_approval(args.record, args.release, approval)
    except ApprovalError as exc:
        print(f"approve: {exc}", file=sys.stderr)
        print(json.dumps({**summary, "error": str(exc)}))
        return EXIT_FAILED
    print(f"approve: {entry['name']} ({entry['role']}) approved {args.release} at {entry['at']}", file=sys.stderr)
    print(json.dumps({**summary, "ok": True, "approval": entry}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
