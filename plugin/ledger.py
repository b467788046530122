"""The run ledger: one JSON line per action or gate event, appended under a file lock.

The ledger is the record of what a release run did to the platform. Every line carries
the run id, so ledgers can be concatenated; every value has passed the secret masker
before it is written.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from plugin.masking import mask_structure

_LOCK_TIMEOUT_S = 60.0


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor() -> dict[str, str]:
    """Who is acting: user, host, process and xdist worker."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid:{os.getuid()}"
    return {
        "user": user,
        "host": socket.gethostname(),
        "pid": str(os.getpid()),
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
    }


class LedgerError(Exception):
    """The ledger cannot be trusted; the message names the file and line."""


class Ledger:
    def __init__(self, path: Path, run_id: str, mask: Callable[[str], str] = str) -> None:
        self.path = path
        self.run_id = run_id
        self._mask = mask
        self._lock = FileLock(str(path) + ".lock", timeout=_LOCK_TIMEOUT_S)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        line: dict[str, Any] = mask_structure({"run_id": self.run_id, "at": utc_now(), **record}, self._mask)
        encoded = json.dumps(line, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(encoded)
            handle.flush()
            os.fsync(handle.fileno())
        return line

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record of this run. A line that is not a JSON object fails closed: an
        action must not run twice, nor a deploy be missed, because a record was unreadable."""
        try:
            with self._lock:  # a line being appended is never read half-written
                text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"{self.path}: unreadable: {exc}") from None
        for number, raw in enumerate(text.splitlines(), start=1):
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise LedgerError(f"{self.path}:{number}: not a ledger record; the run's record cannot be trusted")
            if record.get("run_id") == self.run_id:
                yield record

    def action_record(self, name: str) -> dict[str, Any] | None:
        """The final record of action ``name`` in this run, if it has one."""
        found = None
        for record in self.records():
            if record.get("kind") == "action" and record.get("action") == name:
                found = record
        return found

    def executed_mutations(self) -> list[str]:
        """Deploying actions that really ran (whatever their result) in this run."""
        return [
            str(r["action"])
            for r in self.records()
            if r.get("kind") == "action" and r.get("deploys", r.get("mutating")) and r.get("executed")
        ]
