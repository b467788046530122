"""Unit tests of :func:`plugin.config.load_release_config` and :func:`plugin.config.target_or_error`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plugin.config import ActionConfig, ConfigError, ReleaseConfig, Thresholds, load_release_config, target_or_error

VALID = """
default_target = "sandbox"

[targets.sandbox]
description = "the embedded sandbox"
secrets = ["SANDBOX_DB_PASSWORD"]
vars = { root = "sandbox/workspace" }

[targets.sandbox.actions.migrate]
argv = ["python", "-m", "sandbox.migrate", "--root", "{root}"]
timeout_s = 30

[targets.sandbox.thresholds]
coverage_min_percent = 75.5

[targets.platform]
description = "the real platform"
auto_rollback = true
version_file = "VERSION"
secrets = ["SUPABASE_ACCESS_TOKEN"]
endpoints = { web = "https://app.example.com" }

[targets.platform.environments.staging.vars]
project_ref = "stg-ref"

[targets.platform.environments.production.vars]
project_ref = "prod-ref"

[targets.platform.actions.migrate]
argv = ["supabase", "db", "push", "--project-ref", "{project_ref}"]
timeout_s = 900.5
cwd = "infra"
env = { SUPABASE_ACCESS_TOKEN = "${SUPABASE_ACCESS_TOKEN}" }
"""


def write(tmp_path: Path, text: str, name: str = "release.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as excinfo:
        load_release_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: "), message
    return message


# -- a valid file -----------------------------------------------------------------------


def test_a_valid_file_with_two_targets(tmp_path: Path) -> None:
    config = load_release_config(write(tmp_path, VALID))
    assert isinstance(config, ReleaseConfig)
    assert config.default_target == "sandbox"
    assert sorted(config.targets) == ["platform", "sandbox"]

    sandbox = config.targets["sandbox"]
    assert sandbox.description == "the embedded sandbox"
    assert sandbox.auto_rollback is False
    assert sandbox.secrets == ["SANDBOX_DB_PASSWORD"]
    assert sandbox.vars == {"root": "sandbox/workspace"}
    migrate = sandbox.actions["migrate"]
    assert migrate.argv == ["python", "-m", "sandbox.migrate", "--root", "{root}"]
    assert migrate.timeout_s == 30.0  # an integer is accepted for a number
    assert migrate.cwd is None
    assert migrate.env == {}
    assert sandbox.thresholds.coverage_min_percent == 75.5
    assert sandbox.thresholds.error_rate_max == Thresholds().error_rate_max

    platform = config.targets["platform"]
    assert platform.auto_rollback is True
    assert platform.version_file == "VERSION"
    assert platform.endpoints == {"web": "https://app.example.com"}
    assert platform.environments["staging"].vars == {"project_ref": "stg-ref"}
    assert platform.environments["production"].vars == {"project_ref": "prod-ref"}
    action = platform.actions["migrate"]
    assert action.timeout_s == 900.5
    assert action.cwd == "infra"
    assert action.env == {"SUPABASE_ACCESS_TOKEN": "${SUPABASE_ACCESS_TOKEN}"}
    assert platform.thresholds == Thresholds()


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_release_config(write(tmp_path, ""))
    assert config.default_target == "sandbox"
    assert config.targets == {}


def test_defaults_of_an_action_and_the_thresholds() -> None:
    action = ActionConfig(argv=["true"])
    assert action.timeout_s == 600.0
    thresholds = Thresholds()
    assert thresholds.coverage_min_percent == 80.0
    assert thresholds.latency_p95_max_ms == 350.0
    assert thresholds.canary_window_s == 12 * 3600.0
    assert thresholds.alert_window_s == 24 * 3600.0


def test_the_loaded_config_is_frozen(tmp_path: Path) -> None:
    config = load_release_config(write(tmp_path, VALID))
    with pytest.raises(ValueError, match="frozen"):
        config.targets["sandbox"].description = "changed"  # type: ignore[misc]


# -- errors that name the file and the key ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("targts = {}\n", "targts", "Extra inputs are not permitted"),
        ("[targets.sandbox]\nauto_rolback = true\n", "targets.sandbox.auto_rolback", "Extra inputs are not permitted"),
        (
            "[targets.sandbox.thresholds]\ncoverage_min = 80\n",
            "targets.sandbox.thresholds.coverage_min",
            "Extra inputs are not permitted",
        ),
        (
            "[targets.sandbox.actions.deploy]\nargv = ['x']\ntimeout_s = '30'\n",
            "targets.sandbox.actions.deploy.timeout_s",
            "Input should be a valid number",
        ),
        (
            "[targets.sandbox.actions.deploy]\nargv = [1, 2]\n",
            "targets.sandbox.actions.deploy.argv.0",
            "Input should be a valid string",
        ),
        (
            "[targets.sandbox.actions.deploy]\nargv = []\n",
            "targets.sandbox.actions.deploy.argv",
            "List should have at least 1 item",
        ),
        (
            "[targets.sandbox.actions.deploy]\nargv = ['x']\ntimeout_s = -5\n",
            "targets.sandbox.actions.deploy.timeout_s",
            "Input should be greater than 0",
        ),
        (
            "[targets.sandbox.actions.deploy]\nargv = ['x']\ntimeout_s = 0\n",
            "targets.sandbox.actions.deploy.timeout_s",
            "Input should be greater than 0",
        ),
        (
            "[targets.sandbox.thresholds]\ncoverage_min_percent = 100.5\n",
            "targets.sandbox.thresholds.coverage_min_percent",
            "Input should be less than or equal to 100",
        ),
        (
            "[targets.sandbox.thresholds]\nerror_rate_max = 2\n",
            "targets.sandbox.thresholds.error_rate_max",
            "Input should be less than or equal to 1",
        ),
        (
            "[targets.sandbox]\nauto_rollback = 'yes'\n",
            "targets.sandbox.auto_rollback",
            "Input should be a valid boolean",
        ),
        ("[targets.sandbox]\nsecrets = 'TOKEN'\n", "targets.sandbox.secrets", "Input should be a valid list"),
        ("default_target = 3\n", "default_target", "Input should be a valid string"),
        ("targets = 3\n", "targets", "Input should be a valid dictionary"),
    ],
)
def test_invalid_values_are_reported_with_their_key_path(tmp_path: Path, text: str, key: str, problem: str) -> None:
    message = config_error(write(tmp_path, text))
    assert "invalid configuration" in message
    assert f"\n  {key}: {problem}" in message


def test_an_action_may_give_several_commands(tmp_path: Path) -> None:
    text = "[targets.t.actions.a]\ncommands = [['supabase', 'link'], ['supabase', 'db', 'push']]\n"
    action = load_release_config(write(tmp_path, text)).targets["t"].actions["a"]
    assert action.argv is None
    assert action.argvs == [["supabase", "link"], ["supabase", "db", "push"]]


def test_an_action_with_argv_has_one_command(tmp_path: Path) -> None:
    action = load_release_config(write(tmp_path, VALID)).targets["sandbox"].actions["migrate"]
    assert action.argvs == [["python", "-m", "sandbox.migrate", "--root", "{root}"]]


@pytest.mark.parametrize(
    "body",
    ["timeout_s = 5\n", "argv = ['a']\ncommands = [['b']]\n"],
    ids=["neither", "both"],
)
def test_an_action_needs_exactly_one_of_argv_and_commands(tmp_path: Path, body: str) -> None:
    message = config_error(write(tmp_path, "[targets.t.actions.a]\n" + body))
    assert "\n  targets.t.actions.a: Value error, give exactly one of argv (one command) or commands" in message


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("argv = ['']\n", "argv.0", "String should have at least 1 character"),
        ("commands = []\n", "commands", "List should have at least 1 item"),
        ("commands = [['a'], []]\n", "commands.1", "List should have at least 1 item"),
        ("commands = [['a', 2]]\n", "commands.0.1", "Input should be a valid string"),
    ],
)
def test_bad_commands_name_their_position(tmp_path: Path, body: str, key: str, problem: str) -> None:
    message = config_error(write(tmp_path, "[targets.t.actions.a]\n" + body))
    assert f"\n  targets.t.actions.a.{key}: {problem}" in message


def test_an_argv_of_integers_names_each_bad_element(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "[targets.t.actions.a]\nargv = [1, 'ok', 3]\n"))
    assert "targets.t.actions.a.argv.0: " in message
    assert "targets.t.actions.a.argv.2: " in message
    assert "argv.1" not in message


def test_every_problem_of_a_file_is_listed(tmp_path: Path) -> None:
    text = """
    bogus = 1
    [targets.a.actions.x]
    argv = []
    timeout_s = -1
    [targets.b.thresholds]
    coverage_min_percent = 101
    """
    lines = config_error(write(tmp_path, text)).splitlines()
    assert lines[0] == f"{tmp_path / 'release.toml'}: invalid configuration:"
    keys = sorted(line.strip().split(":", 1)[0] for line in lines[1:])
    assert keys == [
        "bogus",
        "targets.a.actions.x.argv",
        "targets.a.actions.x.timeout_s",
        "targets.b.thresholds.coverage_min_percent",
    ]


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "[targets.sandbox\nargv = \n"))
    assert "not valid TOML" in message


def test_a_json_file_is_not_toml(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '{"targets": {}}', name="release.json"))
    assert "not valid TOML" in message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "release.toml"
    path.write_bytes('description = "caf\u00e9"\n'.encode("latin-1"))
    message = config_error(path)
    assert "not UTF-8 text" in message


def test_a_missing_file(tmp_path: Path) -> None:
    message = config_error(tmp_path / "nowhere" / "release.toml")
    assert "cannot read" in message
    assert "No such file or directory" in message


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "release.toml"
    path.mkdir()
    assert "cannot read" in config_error(path)


# -- target_or_error --------------------------------------------------------------------


def test_target_or_error_returns_the_target(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_release_config(path)
    assert target_or_error(config, "platform", "--release-target", path) is config.targets["platform"]


def test_an_unknown_target_lists_the_defined_ones(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_release_config(path)
    with pytest.raises(ConfigError) as excinfo:
        target_or_error(config, "prod", "--release-target", path)
    assert str(excinfo.value) == (
        f"unknown release target 'prod' (from --release-target); {path} defines: platform, sandbox"
    )


def test_an_unknown_target_when_none_are_defined(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match=r"\(from ini release_target\); .* defines: none defined$"):
        target_or_error(load_release_config(path), "sandbox", "ini release_target", path)
