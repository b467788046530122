"""The release tag: ``vX.Y.Z`` exists, is valid semver, and points at the release commit.

Read-only ``git`` through argv with a timeout; the user's and the system's git
configuration are not read, so a local setting cannot change an answer. Each problem is an
:class:`~checks.artifacts.ArtifactError` naming the repository and what is wrong.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from checks.artifacts import ArtifactError

SEMVER_TAG: Final = re.compile(
    r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_GIT_ENV: Final = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",  # a read must not even refresh the index
    "LC_ALL": "C",
}


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def git(repo: Path, *args: str, timeout_s: float) -> GitResult:
    """Run ``git -C repo args...`` (argv, no shell) under a timeout."""
    argv = ["git", "-c", f"safe.directory={repo}", "-C", str(repo), *args]
    try:
        done = subprocess.run(
            argv,
            env={**os.environ, **_GIT_ENV},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise ArtifactError(repo, "git is not installed (not found on PATH)") from None
    except subprocess.TimeoutExpired:
        raise ArtifactError(repo, f"git {args[0]} did not finish within {timeout_s:g}s") from None
    return GitResult(done.returncode, done.stdout, done.stderr)


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def require_repository(repo: Path, *, timeout_s: float) -> None:
    if not repo.is_dir():
        raise ArtifactError(repo, "the release repository does not exist")
    done = git(repo, "rev-parse", "--git-dir", timeout_s=timeout_s)
    if done.returncode != 0:
        raise ArtifactError(repo, f"not a git repository: {_first_line(done.stderr)}")


def resolve_commit(repo: Path, ref: str, *, timeout_s: float) -> str:
    """The commit SHA that ``ref`` names (a tag is followed to its commit)."""
    if not ref or ref.startswith("-"):
        raise ArtifactError(repo, f"{ref!r} is not a git ref")
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", timeout_s=timeout_s)
    if done.returncode != 0 or not done.stdout.strip():
        raise ArtifactError(repo, f"{ref!r} does not name a commit in this repository")
    return done.stdout.strip()


def _describe(repo: Path, sha: str, timeout_s: float) -> str:
    done = git(repo, "log", "-1", "--format=%h %s", sha, timeout_s=timeout_s)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else sha[:12]


def release_tags(repo: Path, *, timeout_s: float) -> list[str]:
    done = git(repo, "tag", "--list", "v*", "--sort=-v:refname", timeout_s=timeout_s)
    return [line for line in done.stdout.splitlines() if line] if done.returncode == 0 else []


@dataclass(frozen=True)
class ReleaseTag:
    name: str
    commit: str
    annotated: bool
    release_commit: str


def check_release_tag(
    repo: Path, version: str, release_ref: str, *, require_annotated: bool, timeout_s: float
) -> ReleaseTag:
    """``version`` is a ``vX.Y.Z`` tag in ``repo`` on the commit ``release_ref`` names."""
    if not SEMVER_TAG.match(version):
        raise ArtifactError(repo, f"the release version {version!r} is not a semver tag name (vX.Y.Z)")
    require_repository(repo, timeout_s=timeout_s)
    release_commit = resolve_commit(repo, release_ref, timeout_s=timeout_s)
    kind = git(repo, "cat-file", "-t", f"refs/tags/{version}", timeout_s=timeout_s)
    if kind.returncode != 0:
        known = release_tags(repo, timeout_s=timeout_s)
        listed = ", ".join(known[:5]) if known else "none"
        raise ArtifactError(repo, f"tag {version} does not exist (release tags here: {listed})")
    annotated = kind.stdout.strip() == "tag"
    tagged = resolve_commit(repo, f"refs/tags/{version}", timeout_s=timeout_s)
    if tagged != release_commit:
        raise ArtifactError(
            repo,
            f"tag {version} points at {_describe(repo, tagged, timeout_s)}, but the release commit "
            f"({release_ref}) is {_describe(repo, release_commit, timeout_s)}",
        )
    if require_annotated and not annotated:
        raise ArtifactError(repo, f"tag {version} is a lightweight tag; the release needs an annotated tag")
    return ReleaseTag(version, tagged, annotated, release_commit)
