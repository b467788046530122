"""The index of one Lighthouse measurement: which reports belong to which release.

A report folder collects runs of several measurements over time (other URLs, other ports,
earlier releases), so each measurement that is kept writes ``index.json`` in its folder:
the release and run it belongs to, a line per run, and every report file (path relative to
the index's folder, SHA-256, size, whether its run was usable). The post-release archive
takes exactly the files the release's indexes list (``checks/post_release.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from checks.artifacts import ArtifactError
from checks.artifacts.archive import checksum
from lighthouse.runner import RunResult, summary

INDEX_NAME: Final = "index.json"


def index_entries(folder: Path, runs: Sequence[RunResult]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every report file of ``runs`` as an index entry, and the problems found (missing,
    empty or outside ``folder`` files, unreadable ones)."""
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    root = folder.resolve()
    for run in runs:
        for path in (run.json_path, run.html_path):
            if not path.is_file() or path.stat().st_size == 0:
                problems.append(f"{run.label}: {path} is missing or empty")
                continue
            if not path.resolve().is_relative_to(root):
                problems.append(f"{run.label}: {path} is outside {folder}")
                continue
            try:
                sha256, size = checksum(path)
            except ArtifactError as exc:
                problems.append(f"{run.label}: {exc}")
                continue
            relative = path.resolve().relative_to(root).as_posix()
            files.append({"path": relative, "sha256": sha256, "bytes": size, "run_ok": run.ok})
    return files, problems


def write_index(
    folder: Path, runs: Sequence[RunResult], files: list[dict[str, Any]], version: str, run_id: str
) -> Path:
    """Write ``<folder>/index.json`` for ``runs`` of release ``version`` in gate run ``run_id``."""
    index = folder / INDEX_NAME
    document = {"version": version, "run_id": run_id, "runs": summary(runs).splitlines(), "files": files}
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return index
