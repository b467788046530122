"""The release tag check against real git repositories, and the sandbox's release repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks.artifacts import ArtifactError
from checks.release_artifacts.tags import check_release_tag, resolve_commit
from sandbox.release_repo import ReleaseRepoError, ensure_release_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = REPO_ROOT / "sandbox" / "workspace"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
TIMEOUT_S = 20.0


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two commits on main: ``first`` and ``release``; no tags."""
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "-c", "init.defaultBranch=main", "init", "--quiet")
    for name in ("first", "release"):
        (path / f"{name}.txt").write_text(name, encoding="utf-8")
        _git(path, "add", f"{name}.txt")
        _git(path, "commit", "--quiet", "-m", name)
    return path


def _expect(
    repo: Path,
    needle: str,
    *,
    version: str = "v0.1.0",
    ref: str = "main",
    annotated: bool = True,
    timeout_s: float = TIMEOUT_S,
) -> str:
    with pytest.raises(ArtifactError) as caught:
        check_release_tag(repo, version, ref, require_annotated=annotated, timeout_s=timeout_s)
    message = str(caught.value)
    assert str(repo) in message, message
    assert needle in message, message
    return message


def test_annotated_tag_on_the_release_commit_passes(repo: Path) -> None:
    _git(repo, "tag", "-a", "-m", "v0.1.0", "v0.1.0")
    tag = check_release_tag(repo, "v0.1.0", "main", require_annotated=True, timeout_s=TIMEOUT_S)
    assert tag.annotated
    assert tag.commit == tag.release_commit == _git(repo, "rev-parse", "HEAD")


def test_tag_on_the_wrong_commit_fails(repo: Path) -> None:
    _git(repo, "tag", "-a", "-m", "v0.1.0", "v0.1.0", "HEAD~1")
    message = _expect(repo, "tag v0.1.0 points at")
    assert "first" in message
    assert "but the release commit (main) is" in message
    assert "release" in message


def test_missing_tag_fails_listing_the_tags_there(repo: Path) -> None:
    _git(repo, "tag", "-a", "-m", "old", "v0.0.9", "HEAD~1")
    _expect(repo, "tag v0.1.0 does not exist (release tags here: v0.0.9)")


def test_lightweight_tag_fails_when_annotated_is_required(repo: Path) -> None:
    _git(repo, "tag", "v0.1.0")
    _expect(repo, "lightweight tag")
    assert not check_release_tag(repo, "v0.1.0", "main", require_annotated=False, timeout_s=TIMEOUT_S).annotated


@pytest.mark.parametrize("version", ["0.1.0", "v1.2", "v01.2.3", "v1.2.3-", "release-1"])
def test_a_version_that_is_not_semver_fails(repo: Path, version: str) -> None:
    _expect(repo, "is not a semver tag name", version=version)


def test_semver_prerelease_and_build_are_accepted(repo: Path) -> None:
    _git(repo, "tag", "-a", "-m", "rc", "v1.0.0-rc.1+build.5")
    assert check_release_tag(repo, "v1.0.0-rc.1+build.5", "main", require_annotated=True, timeout_s=TIMEOUT_S)


def test_unknown_release_ref_fails(repo: Path) -> None:
    _git(repo, "tag", "-a", "-m", "v0.1.0", "v0.1.0")
    _expect(repo, "'release/9' does not name a commit", ref="release/9")


def test_an_option_is_never_taken_as_a_ref(repo: Path) -> None:
    with pytest.raises(ArtifactError, match="is not a git ref"):
        resolve_commit(repo, "--output=/tmp/x", timeout_s=TIMEOUT_S)


def test_missing_repository_fails(tmp_path: Path) -> None:
    _expect(tmp_path / "nowhere", "does not exist")


def test_a_folder_that_is_not_a_repository_fails(tmp_path: Path) -> None:
    _expect(tmp_path, "not a git repository")


def test_git_timeout_fails_cleanly(repo: Path) -> None:
    _expect(repo, "did not finish within", timeout_s=0.000001)


# --- the sandbox's release repository --------------------------------------------------------


def test_release_repo_is_built_with_an_annotated_tag_on_main(tmp_path: Path) -> None:
    repo = tmp_path / "state" / "release-repo"
    summary = ensure_release_repo(repo, "v0.1.0", WORKSPACE)
    assert summary["action"] == "created"
    assert summary["commit"] == _git(repo, "rev-parse", "refs/heads/main")
    tag = check_release_tag(repo, "v0.1.0", "refs/heads/main", require_annotated=True, timeout_s=TIMEOUT_S)
    assert tag.commit == summary["commit"]
    assert (repo / "CHANGELOG.md").read_bytes() == (WORKSPACE / "CHANGELOG.md").read_bytes()
    assert not list(repo.parent.glob(".release-repo-*")), "the scratch folder was left behind"


def test_release_repo_is_idempotent_and_leaves_a_moved_tag_alone(tmp_path: Path) -> None:
    repo = tmp_path / "release-repo"
    first = ensure_release_repo(repo, "v0.1.0", WORKSPACE)
    again = ensure_release_repo(repo, "v0.1.0", WORKSPACE)
    assert (again["action"], again["commit"]) == ("already tagged", first["commit"])
    _git(repo, "tag", "-f", "-a", "-m", "moved", "v0.1.0", "HEAD~1")
    assert ensure_release_repo(repo, "v0.1.0", WORKSPACE)["action"] == "already tagged"
    with pytest.raises(ArtifactError, match=r"tag v0\.1\.0 points at"):
        check_release_tag(repo, "v0.1.0", "refs/heads/main", require_annotated=True, timeout_s=TIMEOUT_S)


def test_release_repo_tags_a_new_version_on_a_new_commit(tmp_path: Path) -> None:
    repo = tmp_path / "release-repo"
    first = ensure_release_repo(repo, "v0.1.0", WORKSPACE)
    second = ensure_release_repo(repo, "v0.2.0", WORKSPACE)
    assert second["action"] == "tagged a new release commit"
    assert second["commit"] != first["commit"]
    assert _git(repo, "rev-parse", "refs/heads/main") == second["commit"]
    assert _git(repo, "tag", "--list", "v*").split() == ["v0.1.0", "v0.2.0"]


def test_release_repo_refuses_a_bad_version_or_workspace(tmp_path: Path) -> None:
    with pytest.raises(ReleaseRepoError, match=r"is not vX\.Y\.Z"):
        ensure_release_repo(tmp_path / "r", "0.1", WORKSPACE)
    with pytest.raises(ReleaseRepoError, match="does not exist"):
        ensure_release_repo(tmp_path / "r", "v0.1.0", tmp_path / "no-workspace")
    empty = tmp_path / "empty-workspace"
    empty.mkdir()
    with pytest.raises(ReleaseRepoError, match=r"CHANGELOG.md is missing"):
        ensure_release_repo(tmp_path / "r", "v0.1.0", empty)
    assert not (tmp_path / "r").exists()


def test_release_repo_command_prints_one_summary_line(tmp_path: Path) -> None:
    repo = tmp_path / "release-repo"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.release_repo", "--repo", str(repo), "--version", "v0.1.0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["ok"], summary["version"], summary["action"]) == (True, "v0.1.0", "created")
    bad = subprocess.run(
        [sys.executable, "-m", "sandbox.release_repo", "--repo", str(repo), "--version", "1.0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
