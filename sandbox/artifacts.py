"""Content-addressed artifacts: the sandbox's stand-in for a container image and its digest.

An artifact is a reproducible `.tar.gz` (sorted entries, zeroed owners and times, gzip
header without a timestamp), named `<name>@sha256:<hex>.tar.gz` after the SHA-256 of its
own bytes: the same tree always gives the same digest, any change gives a new one.
Artifacts are never overwritten or deleted by a deploy, so a rollback can redeploy any
earlier digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sandbox.layout import SandboxUsageError
from sandbox.state import SandboxError

MANIFEST_NAME: Final = "sandbox-artifact.json"
DIGEST_PATTERN: Final = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


@dataclass(frozen=True)
class Artifact:
    name: str
    digest: str  # "sha256:<hex>"
    path: Path
    size: int

    @property
    def hex(self) -> str:
        return self.digest.removeprefix("sha256:")


def artifact_path(artifacts_dir: Path, name: str, digest: str) -> Path:
    return artifacts_dir / f"{name}@{digest}.tar.gz"


def normalize_digest(raw: str) -> str:
    match = DIGEST_PATTERN.match(raw.strip().lower())
    if match is None:
        raise SandboxUsageError(f"{raw!r} is not a digest: expected sha256:<64 hex digits>")
    return f"sha256:{match.group(1)}"


def _tar_info(path: Path, arcname: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    mode = path.lstat().st_mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISLNK(mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        info.mode = 0o777
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
    return info


def _entries(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory)
        for name in dirnames + filenames:
            found.append(base / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def pack(tree: Path, artifacts_dir: Path, name: str, manifest: dict[str, str]) -> Artifact:
    """Pack `tree` plus a manifest into a content-addressed artifact; keep an identical one."""
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        manifest_bytes = json.dumps(manifest, sort_keys=True, indent=2).encode() + b"\n"
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size, info.mode, info.mtime = len(manifest_bytes), 0o644, 0
        archive.addfile(info, io.BytesIO(manifest_bytes))
        for path in _entries(tree):
            arcname = path.relative_to(tree).as_posix()
            if arcname == MANIFEST_NAME:
                continue
            entry = _tar_info(path, arcname)
            if entry.isreg():
                with path.open("rb") as handle:
                    archive.addfile(entry, handle)
            else:
                archive.addfile(entry)
    payload = raw.getvalue()
    digest = "sha256:" + hashlib.sha256(payload).hexdigest()
    target = artifact_path(artifacts_dir, name, digest)
    if not target.exists():
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, target)
    return Artifact(name, digest, target, len(payload))


def find(artifacts_dir: Path, name: str, digest: str) -> Artifact:
    normalized = normalize_digest(digest)
    path = artifact_path(artifacts_dir, name, normalized)
    if not path.is_file():
        known = sorted(p.name for p in artifacts_dir.glob(f"{name}@sha256:*.tar.gz"))
        raise SandboxError(f"no artifact {path.name} in {artifacts_dir}; known: {', '.join(known) or 'none'}")
    actual = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != normalized:
        raise SandboxError(f"{path} is corrupt: its bytes hash to {actual}")
    return Artifact(name, normalized, path, path.stat().st_size)


def read_manifest(artifact: Artifact) -> dict[str, str]:
    with tarfile.open(artifact.path, mode="r:gz") as archive:
        member = archive.extractfile(MANIFEST_NAME)
        if member is None:
            raise SandboxError(f"{artifact.path} has no {MANIFEST_NAME}")
        payload = json.loads(member.read())
    return {str(k): str(v) for k, v in payload.items()}


def unpack(artifact: Artifact, releases_dir: Path) -> Path:
    """Extract once into `releases_dir/<hex>/` (a finished folder is reused as it is)."""
    target = releases_dir / artifact.hex
    if (target / MANIFEST_NAME).is_file():
        return target
    staging = releases_dir / f".{artifact.hex}.{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(artifact.path, mode="r:gz") as archive:
        archive.extractall(staging, filter="tar")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target
