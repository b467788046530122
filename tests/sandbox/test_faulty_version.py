"""`faulty_version`: faults that belong to one release, so that rolling it back heals the service.

The unit tests check the key's validation and the file format; the integration test deploys
the real agents service and edge functions on an isolated sandbox, makes v0.1.0 bad with the
fault switches, and rolls it back to the baseline v0.0.9 with the fault file left unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox import faults
from sandbox.layout import REPO_ROOT, SandboxConfig, SandboxUsageError
from sandbox.state import SandboxError
from tests.sandbox.harness import CLI_TIMEOUT, CliResult, SandboxHarness, isolated_sandbox

BAD = "v0.1.0"
PREVIOUS = "v0.0.9"
CHAT = {"tenant": "demo-cafe", "message": "What is on the menu today?"}
MENU_TENANT = "kigali-bistro"  # a tenant of the edge functions' catalog


# ---------------------------------------------------------------------------- the key


def test_faulty_version_defaults_to_every_version_and_is_always_in_the_file(tmp_path: Path) -> None:
    assert faults.default_faults()["faulty_version"] == ""
    path = tmp_path / "faults.json"
    written = faults.set_faults(path, {"error_rate": 1.0})
    assert written["faulty_version"] == ""
    assert json.loads(path.read_text())["faulty_version"] == ""
    assert "faulty_version" not in faults.active_faults(written)

    scoped = faults.set_faults(path, faults.parse_assignments([f"faulty_version={BAD}"]))
    assert json.loads(path.read_text()) == {**faults.default_faults(), "error_rate": 1.0, "faulty_version": BAD}
    assert faults.active_faults(scoped) == {"error_rate": 1.0, "faulty_version": BAD}
    assert faults.read_faults(path)["faulty_version"] == BAD


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (f"faulty_version={BAD}", BAD),
        ("faulty_version=", ""),
        ('faulty_version=""', ""),
        ('faulty_version="v2"', "v2"),
        # A release that reads as a JSON number keeps its text: 1.10 is not 1.1.
        ("faulty_version=1.10", "1.10"),
        ("faulty_version=2", "2"),
        ("faulty_version=1.0.0+build.7", "1.0.0+build.7"),
    ],
)
def test_faulty_version_accepts_a_release_name_or_empty(word: str, expected: str) -> None:
    assert faults.parse_assignments([word]) == {"faulty_version": expected}


@pytest.mark.parametrize(
    "value",
    ["../v1", "v 1", "-v1", ".v1", "v1\n", "v" * 65, 1, 0.1, True, None, ["v1"]],
)
def test_faulty_version_rejects_anything_but_a_release_name(value: object) -> None:
    with pytest.raises(SandboxUsageError, match="faulty_version takes"):
        faults.validate("faulty_version", value)


def test_a_faults_file_with_a_bad_faulty_version_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"faulty_version": 7}))
    with pytest.raises(SandboxError, match=r"faults\.json: faulty_version takes"):
        faults.read_faults(path)


def test_the_cli_sets_shows_and_refuses_faulty_version(harness: SandboxHarness) -> None:
    assert "faulty_version" in harness.cli("fault", "--help").stdout  # the keys are listed with `set`
    refused = harness.cli("fault", "set", "faulty_version=../etc")
    assert refused.returncode == 2
    assert "faulty_version takes" in refused.stderr
    assert "Traceback" not in refused.stderr

    done = harness.cli("fault", "set", "error_rate=1", f"faulty_version={BAD}")
    assert done.returncode == 0, done.stderr
    assert done.summary["faults"]["faulty_version"] == BAD
    assert f"faulty_version={BAD}" in done.stderr
    status = harness.cli("status")
    assert f"faulty_version={BAD}" in status.stdout
    assert harness.cli("status", "--json").summary["faults"] == {"error_rate": 1.0, "faulty_version": BAD}


# ---------------------------------------------------------------------------- end to end


def _rollback_previous(harness: SandboxHarness, part: str) -> CliResult:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.rollback_previous", part, "--env", "staging", "--release-version", BAD],
        cwd=REPO_ROOT,
        env=harness.environ,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


def _ok(result: CliResult, what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stderr}\n{result.stdout}"


def test_rolling_back_the_faulty_version_heals_agents_and_functions() -> None:
    with isolated_sandbox("icupa-faulty-version-") as harness:
        tools = SandboxConfig.load("staging", harness.environ).tools
        for tool in (tools.deno, tools.supabase):
            assert tool.exists(), f"{tool} is missing: run bash sandbox/install.sh"
        base = harness.port_base
        agents = f"http://127.0.0.1:{base + 3}"
        functions = f"http://127.0.0.1:{base + 4}/functions/v1"

        _ok(harness.cli("up"), "up")
        _ok(harness.cli("baseline", "--version", PREVIOUS, timeout=900), "baseline")
        _ok(harness.cli("deploy", "functions", "--version", BAD), "deploy functions")
        _ok(harness.cli("deploy", "agents", "--version", BAD, timeout=600), "deploy agents")
        _ok(harness.cli("fault", "set", "error_rate=1", f"faulty_version={BAD}"), "fault set")
        faults_file = harness.api().paths.faults_file
        written = faults_file.read_bytes()

        with httpx.Client(timeout=10) as http:
            assert http.get(f"{agents}/version").status_code == 500, "the faulty release answers 500"
            chat = http.post(f"{agents}/agents/chat", json=CHAT)
            assert chat.status_code == 500
            assert chat.json()["message"] == "injected fault: error_rate"
            assert http.get(f"{agents}/health").json()["version"] == BAD
            assert http.get(f"{functions}/menu", params={"tenant": MENU_TENANT}).status_code == 500
            assert http.get(f"{functions}/health").json()["version"] == BAD

            rolled = _rollback_previous(harness, "agents")
            _ok(rolled, "rollback_previous agents")
            assert (rolled.summary["rolled_back"], rolled.summary["to_version"]) == (True, PREVIOUS)
            assert http.get(f"{agents}/health").json() == {"status": "ok", "version": PREVIOUS}
            healed = http.post(f"{agents}/agents/chat", json=CHAT)
            assert healed.status_code == 200, healed.text
            assert healed.json()["tenant"] == "demo-cafe"

            rolled = _rollback_previous(harness, "functions")
            _ok(rolled, "rollback_previous functions")
            assert (rolled.summary["rolled_back"], rolled.summary["to_version"]) == (True, PREVIOUS)
            assert http.get(f"{functions}/health").json() == {"status": "ok", "version": PREVIOUS}
            menu = http.get(f"{functions}/menu", params={"tenant": MENU_TENANT})
            assert menu.status_code == 200, menu.text
            assert menu.json()["version"] == PREVIOUS

        assert faults_file.read_bytes() == written, "the rollback heals the service, not the fault file"
        assert faults.read_faults(faults_file)["error_rate"] == 1.0
