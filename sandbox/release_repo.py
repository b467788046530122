"""The sandbox's release repository: a small git history whose release commit is tagged.

The real platform's release is a commit of its GitHub repository, tagged ``vX.Y.Z``. The
sandbox has no such repository, so this builds one in its state folder (default
``<SANDBOX_STATE_DIR or sandbox/.state>/release-repo``): a first commit, then a release
commit holding a snapshot of the workspace's release files (``CHANGELOG.md``, the package
manifests, the lockfile) and an annotated tag ``vX.Y.Z`` on it, on branch ``main``.

It is set-up, not a check: the release gate's checks only read the repository. Building is
idempotent: if the tag exists it is left alone (whatever it points at, so a moved tag stays
visible to the checks); a new version gets a new release commit on ``main`` and its tag.
A new repository is built in a temporary folder and moved into place whole.

    python -m sandbox.release_repo [--repo PATH] [--version v0.1.0] [--workspace PATH]

Progress goes to stderr and one JSON summary line last to stdout. Exit codes: 0 ok, 1
failed, 2 usage.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sandbox.layout import PACKAGE_DIR

SNAPSHOT: Final = (
    "CHANGELOG.md",
    "package.json",
    "pnpm-workspace.yaml",
    "pnpm-lock.yaml",
    "turbo.json",
    "apps/web/package.json",
    "agents-service/package.json",
    "scripts/package.json",
)
VERSION_PATTERN: Final = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
GIT_TIMEOUT_S: Final = 30.0
_IDENTITY: Final = {
    "GIT_AUTHOR_NAME": "ICUPA Sandbox",
    "GIT_AUTHOR_EMAIL": "sandbox@icupa.invalid",
    "GIT_COMMITTER_NAME": "ICUPA Sandbox",
    "GIT_COMMITTER_EMAIL": "sandbox@icupa.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


class ReleaseRepoError(Exception):
    """The repository cannot be built; the message says why."""


def default_repo(environ: dict[str, str] | None = None) -> Path:
    source = os.environ if environ is None else environ
    return Path(source.get("SANDBOX_STATE_DIR") or PACKAGE_DIR / ".state") / "release-repo"


def default_version() -> str:
    return (PACKAGE_DIR / "VERSION").read_text(encoding="utf-8").strip()


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            env={**os.environ, **_IDENTITY},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise ReleaseRepoError("git is not installed (not found on PATH)") from None
    except subprocess.TimeoutExpired:
        raise ReleaseRepoError(f"git {args[0]} did not finish within {GIT_TIMEOUT_S:g}s") from None
    if done.returncode != 0:
        raise ReleaseRepoError(f"git {' '.join(args[:2])} failed in {repo}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def _has_tag(repo: Path, tag: str) -> bool:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}")
    except ReleaseRepoError:
        return False
    return True


def _copy_snapshot(workspace: Path, repo: Path) -> list[str]:
    copied = []
    for name in SNAPSHOT:
        source = workspace / name
        if not source.is_file():
            continue
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(name)
    if "CHANGELOG.md" not in copied:
        raise ReleaseRepoError(f"{workspace / 'CHANGELOG.md'} is missing: the release has no changelog to snapshot")
    return copied


def _release_commit(repo: Path, workspace: Path, version: str) -> str:
    copied = _copy_snapshot(workspace, repo)
    (repo / "VERSION").write_text(version + "\n", encoding="utf-8")
    _git(repo, "add", "--", *copied, "VERSION")
    _git(repo, "commit", "--quiet", "--allow-empty", "-m", f"release: {version}")
    _git(repo, "tag", "--annotate", "-m", f"ICUPA sandbox {version}", "--", version)
    return _git(repo, "rev-parse", "HEAD")


def _new_repo(repo: Path, workspace: Path, version: str) -> str:
    repo.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".release-repo-", dir=repo.parent))
    try:
        scratch.chmod(0o755)
        _git(scratch, "-c", "init.defaultBranch=main", "init", "--quiet")
        (scratch / "README.md").write_text(
            "# ICUPA sandbox release repository\n\nBuilt by `python -m sandbox.release_repo`: the sandbox's stand-in "
            "for the platform's GitHub repository. Release commits are tagged `vX.Y.Z`.\n",
            encoding="utf-8",
        )
        _git(scratch, "add", "README.md")
        _git(scratch, "commit", "--quiet", "-m", "chore: start of the sandbox release history")
        commit = _release_commit(scratch, workspace, version)
        os.rename(scratch, repo)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return commit


@contextmanager
def _locked(repo: Path) -> Iterator[None]:
    repo.parent.mkdir(parents=True, exist_ok=True)
    with (repo.parent / f".{repo.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_release_repo(repo: Path, version: str, workspace: Path) -> dict[str, Any]:
    """Build or extend the repository so that ``version`` is tagged; a summary of what it did."""
    if not VERSION_PATTERN.match(version):
        raise ReleaseRepoError(f"version {version!r} is not vX.Y.Z")
    if not workspace.is_dir():
        raise ReleaseRepoError(f"workspace {workspace} does not exist")
    with _locked(repo):
        if not repo.exists():
            commit, action = _new_repo(repo, workspace, version), "created"
        elif _has_tag(repo, version):
            commit, action = _git(repo, "rev-parse", f"refs/tags/{version}^{{commit}}"), "already tagged"
        else:
            _git(repo, "checkout", "--quiet", "main")
            commit, action = _release_commit(repo, workspace, version), "tagged a new release commit"
    return {
        "command": "release-repo",
        "ok": True,
        "repo": str(repo),
        "version": version,
        "commit": commit,
        "action": action,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.release_repo", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=None, help="where the repository is (default: the state folder)")
    parser.add_argument("--version", default=None, help="the release to tag (default: sandbox/VERSION)")
    parser.add_argument("--workspace", type=Path, default=PACKAGE_DIR / "workspace", help="the release's sources")
    args = parser.parse_args(argv)
    repo = (args.repo or default_repo()).resolve()
    version = args.version or default_version()
    try:
        summary = ensure_release_repo(repo, version, args.workspace.resolve())
    except ReleaseRepoError as exc:
        print(f"release-repo: {exc}", file=sys.stderr)
        print(json.dumps({"command": "release-repo", "ok": False, "repo": str(repo), "error": str(exc)}))
        return 2 if "is not vX.Y.Z" in str(exc) else 1
    print(f"release-repo: {summary['action']}: {version} at {summary['commit'][:12]} in {repo}", file=sys.stderr)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
