"""A throwaway copy of the sandbox workspace's sources, and a fake secret to plant in it."""

from __future__ import annotations

import secrets
import shutil
import string
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKSPACE = REPO / "sandbox" / "workspace"
_BUILT = ("node_modules", "dist", "coverage", ".turbo")


def copy_workspace(destination: Path) -> Path:
    """The workspace's sources (not its installed packages or build output) under ``destination``."""
    shutil.copytree(WORKSPACE, destination, ignore=shutil.ignore_patterns(*_BUILT), symlinks=True)
    return destination


def fake_aws_key_id() -> str:
    """A fresh string in the shape of an AWS access key id; random, so no scanner allowlists it."""
    alphabet = string.ascii_uppercase + "234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def plant_secret(workspace: Path) -> tuple[str, Path, int]:
    """Write a fake credential into the agents service's source; returns it, its file and line."""
    secret = fake_aws_key_id()
    path = workspace / "agents-service" / "src" / "leaked-credentials.ts"
    path.write_text(f'// a credential committed by mistake\nexport const awsKeyId = "{secret}";\n', encoding="utf-8")
    return secret, path, 2
