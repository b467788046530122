"""Work that a release run does once, whichever xdist worker asks first.

A session fixture runs once per *process*: under ``-n 2`` each worker would run Lighthouse,
or a canary analysis, again. :func:`once_per_run` runs the work in the first process that
asks, under a file lock in the run folder, and keeps its JSON result in
``runs/<id>/shared/<name>.json``; every later caller, on any worker, reads that file. A
failure is kept too (``{"failed": message}``), so the other workers fail with the same
message instead of repeating the work. A result file that cannot be read fails closed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from filelock import FileLock, Timeout

from plugin.runtime import get_runtime

_FAILED = "failed"


def once_per_run(config: pytest.Config, name: str, produce: Callable[[], Any], timeout_s: float) -> Any:
    """``produce()``'s JSON-able value, computed once per release run across workers.

    ``timeout_s`` bounds the wait for another worker that is producing it. When ``produce``
    fails the test (``pytest.fail``, or any exception), the message is kept and re-raised as
    a failure here and in every later caller.
    """
    __tracebackhide__ = True
    runtime = get_runtime(config)
    path = runtime.run_dir / "shared" / f"{name}.json"
    lock_path = runtime.run_dir / "locks" / f"shared-{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(lock_path), timeout=timeout_s):
            if not path.is_file():
                record = _produce(produce)
                temporary = path.with_suffix(".tmp")
                temporary.write_text(json.dumps(record), encoding="utf-8")
                os.replace(temporary, path)
            else:
                record = _read(path)
    except Timeout:
        pytest.fail(f"another worker held {name} for more than {timeout_s:g}s", pytrace=False)
    if _FAILED in record:
        pytest.fail(str(record[_FAILED]), pytrace=False)
    return record["value"]


def _produce(produce: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"value": produce()}
    except pytest.fail.Exception as exc:
        return {_FAILED: exc.msg}
    except Exception as exc:  # kept for the other workers, then reported as a failure
        return {_FAILED: f"{type(exc).__name__}: {exc}"}


def _read(path: os.PathLike[str]) -> dict[str, Any]:
    __tracebackhide__ = True
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        pytest.fail(f"{path}: the shared result is unreadable: {exc}", pytrace=False)
    if not isinstance(record, dict) or not ({"value", _FAILED} & set(record)):
        pytest.fail(f"{path}: not a shared result (no value)", pytrace=False)
    return record
