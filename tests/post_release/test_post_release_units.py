"""The post-release logic without a platform: the changelog check, archives, incident records."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.archive import archive
from checks.post_release import changelog_entries, files_to_archive, release_incidents, verify_sums


def test_changelog_section_of_the_release() -> None:
    text = "## [Unreleased]\n\n## [0.1.0] - 2026\n\n### Added\n\n- one\n- two\n\n## [0.0.9]\n\n- old\n"
    assert changelog_entries(text, "v0.1.0") == ["- one", "- two"]
    assert changelog_entries(text, "v0.2.0") == []


def test_archive_checksums_verify_and_a_change_is_caught(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "deep").mkdir(parents=True)
    (source / "index.json").write_text("{}", encoding="utf-8")
    (source / "deep" / "run-1.json").write_text("[1]", encoding="utf-8")
    (source / "SHA256SUMS").write_text("stale\n", encoding="utf-8")
    files = files_to_archive(source, required=("index.json",))
    assert [name for _, name in files] == ["deep/run-1.json", "index.json"]
    archive(files, "lighthouse", tmp_path / "archive")
    assert verify_sums(tmp_path / "archive" / "lighthouse") == []
    (tmp_path / "archive" / "lighthouse" / "index.json").write_text("{ }", encoding="utf-8")
    (problem,) = verify_sums(tmp_path / "archive" / "lighthouse")
    assert "index.json: SHA-256" in problem


def test_a_missing_source_artifact_is_named(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"index\.json: no such file"):
        files_to_archive(tmp_path, required=("index.json",))
    with pytest.raises(ArtifactError, match="no such folder"):
        files_to_archive(tmp_path / "gone")


def test_incidents_of_the_release_and_an_unreadable_record(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"id": "a", "title": "Rollback of v0.1.0 on sandbox/staging"}', "utf-8")
    (tmp_path / "b.json").write_text('{"id": "b", "title": "Rollback of v0.1.01 on sandbox/staging"}', "utf-8")
    assert [i["id"] for i in release_incidents(tmp_path, "v0.1.0")] == ["a"]
    assert release_incidents(tmp_path / "none", "v0.1.0") == []
    (tmp_path / "c.json").write_text("{torn", "utf-8")
    with pytest.raises(ArtifactError, match="unreadable incident record"):
        release_incidents(tmp_path, "v0.1.0")
