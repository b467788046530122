"""Keeping artifacts: copies under ``artifacts/<kind>/`` with SHA-256 checksums.

The copy is hashed while it is written and checked against its source afterwards, so the
checksum recorded is the checksum of the bytes kept. Each copy is written to a temporary
name and renamed into place, so a reader (or a second xdist worker archiving the same
files) never sees half a file. ``SHA256SUMS`` in the kind's folder lists the set in
``sha256sum -c`` format.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.artifacts import ArtifactError

__all__ = ["ArchivedFile", "archive", "checksum", "ledger_event"]

_CHUNK = 1024 * 1024
SUMS_FILE = "SHA256SUMS"


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    source: Path
    path: Path
    sha256: str
    bytes: int

    def record(self) -> dict[str, Any]:
        return {"path": str(self.path), "source": str(self.source), "sha256": self.sha256, "bytes": self.bytes}


def checksum(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of ``path``."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise ArtifactError(path, f"cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest(), size


def _copy(source: Path, target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with source.open("rb") as reader, partial.open("wb") as writer:
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(partial, target)
    except FileNotFoundError:
        partial.unlink(missing_ok=True)
        raise ArtifactError(source, "no such file to archive") from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ArtifactError(source, f"cannot archive to {target}: {exc.strerror or exc}") from None
    return digest.hexdigest(), size


def archive(files: Sequence[tuple[Path, str]], kind: str, artifacts_dir: Path) -> list[ArchivedFile]:
    """Copy each ``(source, name)`` to ``artifacts_dir/kind/name`` and return the copies' checksums.

    A source already at its place is checksummed, not copied. The copy is read back and must
    match the source's checksum, or the archive is an :class:`ArtifactError`.
    """
    folder = artifacts_dir / kind
    kept: list[ArchivedFile] = []
    for source, name in files:
        target = folder / name
        if not target.resolve().is_relative_to(folder.resolve()):
            raise ArtifactError(source, f"archive name {name!r} leaves {folder}")
        if source.resolve() == target.resolve():
            digest, size = checksum(target)
        else:
            digest, size = _copy(source, target)
            if checksum(target) != (digest, size):
                raise ArtifactError(target, f"the archived copy differs from {source}: changed while it was copied?")
        kept.append(ArchivedFile(source, target, digest, size))
    _write_sums(folder, kept)
    return kept


def _write_sums(folder: Path, kept: Sequence[ArchivedFile]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{item.sha256}  {item.path.relative_to(folder).as_posix()}\n" for item in kept)
    partial = folder / f".{SUMS_FILE}.{os.getpid()}.partial"
    partial.write_text(lines, encoding="utf-8")
    os.replace(partial, folder / SUMS_FILE)


def ledger_event(kind: str, kept: Sequence[ArchivedFile], **extra: Any) -> dict[str, Any]:
    """The run-ledger record of an archive: ``{"kind": "event", "event": "archived", ...}``."""
    return {
        "kind": "event",
        "event": "archived",
        "artifact_kind": kind,
        "files": [item.record() for item in kept],
        **extra,
    }
