"""The smoke contract parser: good files expand into checks, bad ones name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoke.contracts import SmokeConfigError, expand, load_contracts, smoke_settings

REPO = Path(__file__).resolve().parents[2]

GOOD = """
schema = 1
timeout_s = 3

[[endpoint]]
name = "agents-health"
base = "agents"
path = "/health"
status = 200
json_values = { version = "{version}" }
latency_ms = 500

[[endpoint]]
name = "functions-menu"
base = "functions"
path = "/menu?tenant=icupa-hq"
status = 200
latency_ms = 500
auth = "service_token"
verify_jwt = true
timeout_s = 1.5
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contracts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_contracts_are_valid() -> None:
    checks = expand(load_contracts(REPO / "smoke" / "contracts.toml"))
    ids = [check.id for check in checks]
    assert len(ids) == len(set(ids))
    assert "functions-menu-with-token" in ids
    assert "functions-menu-without-token" in ids


def test_a_verify_jwt_contract_expands_into_two_checks(tmp_path: Path) -> None:
    checks = expand(load_contracts(_write(tmp_path, GOOD)))
    assert [(c.id, c.with_token, c.without_token, c.timeout_s) for c in checks] == [
        ("agents-health", False, False, 3.0),
        ("functions-menu-with-token", True, False, 1.5),
        ("functions-menu-without-token", False, True, 1.5),
    ]


def test_an_unknown_key_names_the_endpoint_and_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('path = "/health"', 'path = "/health"\nmethd = "GET"'))
    with pytest.raises(SmokeConfigError) as caught:
        load_contracts(path)
    message = str(caught.value)
    assert str(path) in message
    assert "endpoint[0] (agents-health).methd: Extra inputs are not permitted" in message


def test_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("latency_ms = 500\n\n", 'latency_ms = "fast"\n\n', 1))
    with pytest.raises(SmokeConfigError) as caught:
        load_contracts(path)
    assert str(path) in str(caught.value)
    assert "endpoint[0] (agents-health).latency_ms: Input should be a valid integer" in str(caught.value)


def test_verify_jwt_without_the_service_token_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('auth = "service_token"\n', ""))
    with pytest.raises(SmokeConfigError, match=r"endpoint\[1\] \(functions-menu\): .*needs auth = 'service_token'"):
        load_contracts(path)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SmokeConfigError, match="not valid TOML"):
        load_contracts(_write(tmp_path, "schema = = 1"))
    with pytest.raises(SmokeConfigError, match="cannot read"):
        load_contracts(tmp_path / "absent.toml")


def test_the_release_toml_section_is_validated() -> None:
    with pytest.raises(SmokeConfigError) as caught:
        smoke_settings({"contracts": "x.toml", "verify_jwt": "maybe"}, config_path=Path("release.toml"), target="t")
    assert "release.toml: invalid smoke settings" in str(caught.value)
    assert "targets.t.checks.smoke.verify_jwt" in str(caught.value)
    with pytest.raises(SmokeConfigError, match=r"targets\.t\.checks\.smoke\.contract: Extra inputs"):
        smoke_settings({"contracts": "x.toml", "contract": "y"}, config_path=Path("release.toml"), target="t")
    with pytest.raises(SmokeConfigError, match=r"targets\.t\.checks\.smoke is missing"):
        smoke_settings(None, config_path=Path("release.toml"), target="t")
