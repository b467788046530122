"""``[targets.<t>.checks.artifacts]`` and ``[targets.<t>.checks.coverage]``: validated, resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.artifacts.settings import ArtifactSettingsError, from_target, variables
from plugin.config import load_release_config
from plugin.masking import Masker
from plugin.runtime import make_runtime
from plugin.settings import Settings

REPO = Path(__file__).resolve().parents[2]

GOOD_ARTIFACTS = """
[targets.t.checks.artifacts]
workspace = "ws"
eslint_report = "{run_dir}/eslint.json"
audit_report = "reports/audit.json"
detect_secrets_root = "ws"
sbom_files = ["artifacts/sbom/a.cdx.json"]
"""
GOOD_COVERAGE = """
[targets.t.checks.coverage]
format = "lcov"
packages = ["apps/web"]
"""


def _settings(config: Path, target: str, rootdir: Path) -> Settings:
    release = load_release_config(config)
    return Settings(
        plan=False,
        dry_run=False,
        target_name=target,
        env="staging",
        version="v1.2.3",
        version_source="test",
        selections=frozenset(),
        rootdir=rootdir,
        state_dir=rootdir / ".release-gate",
        suites=(),
        release=release,
        config_path=config,
        target=release.targets[target],
        checklist=None,
        masker=Masker.from_environment(()),
    )


def _from_toml(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "release.toml"
    config.write_text("[targets.t]\n" + text, encoding="utf-8")
    return _settings(config, "t", tmp_path)


def test_the_sandbox_target_of_the_real_release_toml() -> None:
    settings = _settings(REPO / "release.toml", "sandbox", REPO)
    artifacts = from_target(settings)
    runtime = make_runtime(settings, None)
    paths = artifacts.resolve(variables(runtime))
    assert paths.workspace == REPO / "sandbox" / "workspace"
    assert paths.eslint_report == runtime.run_dir / "eslint.json"
    assert paths.web_version_file == REPO / "sandbox" / "workspace" / "apps" / "web" / "dist" / "version.json"
    assert [package for package, _ in paths.coverage_dirs] == ["apps/web", "agents-service", "scripts"]
    assert paths.coverage_dirs[0][1] == REPO / "sandbox" / "workspace" / "apps" / "web" / "coverage"
    assert artifacts.coverage.file_name == "cobertura-coverage.xml"
    assert artifacts.coverage_min_percent == 80
    assert artifacts.artifacts.audit_recorded


def test_the_icupa_target_resolves_from_the_environment() -> None:
    settings = _settings(REPO / "release.toml", "icupa", REPO)
    artifacts = from_target(settings)
    names = variables(make_runtime(settings, None))
    paths = artifacts.resolve(names, {"ICUPA_REPO_DIR": "/src/icupa"})
    assert paths.workspace == Path("/src/icupa")
    assert paths.coverage_dirs[1][1] == Path("/src/icupa/agents-service/coverage")
    with pytest.raises(ArtifactSettingsError, match=r"targets\.icupa\.checks\.artifacts\.workspace: .*ICUPA_REPO_DIR"):
        artifacts.resolve(names, {})


def test_defaults(tmp_path: Path) -> None:
    artifacts = from_target(_from_toml(tmp_path, GOOD_ARTIFACTS + GOOD_COVERAGE))
    assert (artifacts.coverage.figure, artifacts.coverage.file_name) == ("both", "lcov.info")
    assert artifacts.artifacts.audit_level == "high"
    assert artifacts.artifacts.detect_secrets_exclude == ["node_modules", "dist", "coverage", ".turbo"]


BAD: dict[str, tuple[str, str]] = {
    "unknown_key": (GOOD_ARTIFACTS + GOOD_COVERAGE + 'fgure = "lines"\n', "checks.coverage.fgure: Extra inputs"),
    "bad_figure": (
        GOOD_ARTIFACTS + GOOD_COVERAGE + 'figure = "statements"\n',
        "checks.coverage.figure: Input should be 'lines', 'branches' or 'both'",
    ),
    "bad_format": (
        GOOD_ARTIFACTS + GOOD_COVERAGE.replace('"lcov"', '"clover"'),
        "checks.coverage.format: Input should be 'cobertura', 'lcov' or 'istanbul'",
    ),
    "packages_not_a_list": (
        GOOD_ARTIFACTS + GOOD_COVERAGE.replace('["apps/web"]', '"apps/web"'),
        "checks.coverage.packages: Input should be a valid list",
    ),
    "no_packages": (GOOD_ARTIFACTS + GOOD_COVERAGE.replace('["apps/web"]', "[]"), "checks.coverage.packages"),
    "missing_coverage_table": (GOOD_ARTIFACTS, "checks.coverage: missing"),
    "missing_artifacts_table": (GOOD_COVERAGE, "checks.artifacts: missing"),
    "missing_workspace": (
        GOOD_ARTIFACTS.replace('workspace = "ws"\n', "") + GOOD_COVERAGE,
        "checks.artifacts.workspace: missing field",
    ),
    "recorded_not_a_bool": (
        GOOD_ARTIFACTS + 'audit_recorded = "yes"\n' + GOOD_COVERAGE,
        "checks.artifacts.audit_recorded: Input should be a valid boolean",
    ),
    "bad_audit_level": (
        GOOD_ARTIFACTS + 'audit_level = "medium"\n' + GOOD_COVERAGE,
        "checks.artifacts.audit_level: Input should be 'info', 'low', 'moderate', 'high' or 'critical'",
    ),
    "no_secret_scan": (
        GOOD_ARTIFACTS.replace('detect_secrets_root = "ws"\n', "") + GOOD_COVERAGE,
        "checks.artifacts: Value error, give gitleaks_report, detect_secrets_root or both",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_settings_name_the_key_and_the_file(tmp_path: Path, case: str) -> None:
    text, needle = BAD[case]
    with pytest.raises(ArtifactSettingsError) as caught:
        from_target(_from_toml(tmp_path, text))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'release.toml'}: targets.t.checks"), message
    assert needle in message, message


def test_an_unknown_template_variable_names_the_key(tmp_path: Path) -> None:
    settings = _from_toml(tmp_path, GOOD_ARTIFACTS.replace("reports/audit.json", "{nowhere}/a.json") + GOOD_COVERAGE)
    names = variables(make_runtime(settings, None))
    with pytest.raises(ArtifactSettingsError, match=r"checks\.artifacts\.audit_report: unknown template variable"):
        from_target(settings).resolve(names)
