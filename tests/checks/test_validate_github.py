"""GitHub secret scanning and Dependabot triage for the validate phase.

The client against the recorded fake on loopback (pagination, filters, a 403 or a disabled
feature named clearly, the secret never kept), the verdicts on their own, and the two
checks of ``checks/test_validate.py`` under the release gate in a child pytest: they pass on
the recorded data, and block, naming the alerts, when an open high alert or an open secret
appears, or when GitHub answers 403.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.remote.alerts import dependabot_verdict, secret_scanning_verdict, untriaged_dependabot
from checks.remote.fakes import FakeGitHub
from checks.remote.github import DependabotAlert, GitHubClient, GitHubError, SecretScanningAlert
from checks.remote.server import Fault, LoopbackServer, Response

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDED = REPO_ROOT / "sandbox" / "recorded" / "github"
REPOSITORY = "icupa/icupa-sandbox"
TOKEN = "ghs_" + "ValidateGitHubLoopbackToken000000000"
SANDBOX_RECORDED = 'recorded = "sandbox/recorded/github"'
GATE_TIMEOUT_S = 300
DISABLED = "Secret scanning is disabled on this repository."
LODASH_GHSA = "GHSA-35jh-r3h4-6jhm"  # lodash command injection (high), for the made-up open alerts


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(RECORDED, REPOSITORY, token=TOKEN) as server:
        yield server


def _client(url: str, *, per_page: int = 2, **kwargs: Any) -> GitHubClient:
    return GitHubClient(
        url,
        REPOSITORY,
        TOKEN,
        per_page=per_page,
        token_env="TEST_GH_TOKEN",  # noqa: S106 - the variable's name, not a token
        timeout_s=5,
        **kwargs,
    )


def _recorded(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((RECORDED / name).read_text(encoding="utf-8"))["items"]
    return items


def _dependabot(number: int, state: str, severity: str, package: str = "lodash") -> DependabotAlert:
    template = _recorded("dependabot-alerts.json")[0]
    alert = json.loads(json.dumps(template))
    alert.update(number=number, state=state)
    alert["security_advisory"].update(severity=severity, ghsa_id=LODASH_GHSA)
    alert["dependency"]["package"]["name"] = package
    alert["html_url"] = f"https://github.com/{REPOSITORY}/security/dependabot/{number}"
    return DependabotAlert.model_validate(alert)


def _open_secret(number: int, secret: str) -> dict[str, Any]:
    alert: dict[str, Any] = json.loads(json.dumps(_recorded("secret-scanning-alerts.json")[0]))
    alert.update(
        {
            "number": number,
            "state": "open",
            "resolution": None,
            "resolved_at": None,
            "resolved_by": None,
            "resolution_comment": None,
            "secret_type": "github_personal_access_token",
            "secret_type_display_name": "GitHub Personal Access Token",
            "secret": secret,
            "validity": "active",
            "created_at": "2026-11-20T08:00:00Z",
            "html_url": f"https://github.com/{REPOSITORY}/security/secret-scanning/{number}",
        }
    )
    return alert


# --- the client against the fake --------------------------------------------------------------


def test_secret_scanning_alerts_follow_link_pages(fake: FakeGitHub) -> None:
    with _client(fake.base_url, per_page=1) as client:
        every = client.secret_scanning_alerts(None)
    assert [alert.number for alert in every] == [4, 3, 2, 1]  # newest first
    requests = fake.requests
    assert [request.param("page") for request in requests] == [None, "2", "3", "4"]  # from the Link headers
    assert all(request.path == f"/repos/{REPOSITORY}/secret-scanning/alerts" for request in requests)
    assert all(request.param("per_page") == "1" for request in requests)
    assert all(request.headers["authorization"] == f"Bearer {TOKEN}" for request in requests)
    assert [(alert.state, alert.resolution) for alert in every] == [
        ("resolved", "revoked"),
        ("resolved", "used_in_tests"),
        ("resolved", "false_positive"),
        ("resolved", "revoked"),
    ]


def test_secret_scanning_state_filter(fake: FakeGitHub) -> None:
    with _client(fake.base_url) as client:
        assert client.secret_scanning_alerts("open") == []
        assert len(client.secret_scanning_alerts("resolved")) == 4
    assert [request.param("state") for request in fake.requests] == ["open", "resolved", "resolved"]


def test_the_fake_filters_secret_types_and_resolutions_and_checks_the_state(fake: FakeGitHub) -> None:
    with _client(fake.base_url, per_page=100) as client:
        base = f"{fake.base_url}/repos/{REPOSITORY}/secret-scanning/alerts"
        types = client._get(f"{base}?secret_type=google_api_key,supabase_service_key").json()
        revoked = client._get(f"{base}?resolution=revoked").json()
        with pytest.raises(GitHubError, match=r"422 \(Invalid value for state: closed\)"):
            client._get(f"{base}?state=closed")
    assert [alert["number"] for alert in types] == [2, 1]
    assert [alert["number"] for alert in revoked] == [4, 1]


def test_the_secret_is_never_kept(fake: FakeGitHub) -> None:
    fake.secret_alerts = [_open_secret(9, "never-shown-" + secrets.token_hex(8)), *fake.secret_alerts]
    with _client(fake.base_url) as client:
        alert = client.secret_scanning_alerts("open")[0]
    secret = str(fake.secret_alerts[0]["secret"])
    assert "secret" not in alert.model_dump()
    assert secret not in repr(alert) + alert.describe()
    assert alert.describe() == (
        f"#9 GitHub Personal Access Token (open, created 2026-11-20T08:00:00Z, validity active) "
        f"https://github.com/{REPOSITORY}/security/secret-scanning/9"
    )


def test_a_403_names_the_endpoint_and_that_secret_scanning_may_be_off(fake: FakeGitHub) -> None:
    fake.fault = Fault(status=403, body={"message": DISABLED})
    with _client(fake.base_url) as client, pytest.raises(GitHubError) as caught:
        client.secret_scanning_alerts("open")
    message = str(caught.value)
    assert message == (
        f"GitHub GET /repos/{REPOSITORY}/secret-scanning/alerts?per_page=2&state=open: 403 Forbidden ({DISABLED}): "
        f"the token in TEST_GH_TOKEN may not read this; or secret scanning may be disabled for {REPOSITORY}"
    )
    assert TOKEN not in message


def test_a_disabled_feature_on_the_fake_is_githubs_404(fake: FakeGitHub) -> None:
    fake.secret_scanning_enabled = False
    with _client(fake.base_url) as client, pytest.raises(GitHubError) as caught:
        client.secret_scanning_alerts("open")
    assert f"404 Not Found ({DISABLED})" in str(caught.value)
    assert f"secret scanning may be disabled for {REPOSITORY}" in str(caught.value)


def test_secret_scanning_pages_are_bounded() -> None:
    server = LoopbackServer("endless")

    def endless(request: Any, groups: dict[str, str]) -> Response:
        page = int(request.param("page") or 1)
        return Response.json(200, [], {"Link": f'<{request.base_url}{request.path}?page={page + 1}>; rel="next"'})

    server.add_route("GET", r".*", endless)
    with server, _client(server.base_url, max_pages=3) as client, pytest.raises(GitHubError, match="more than 3 pages"):
        client.secret_scanning_alerts("open")


def test_an_alert_without_its_type_is_an_unexpected_answer() -> None:
    server = LoopbackServer("shape")
    server.add_route("GET", r".*", lambda request, groups: Response.json(200, [{"number": 1, "state": "open"}]))
    with server, _client(server.base_url) as client, pytest.raises(GitHubError) as caught:
        client.secret_scanning_alerts("open")
    assert "unexpected answer: secret_type: Field required" in str(caught.value)


# --- the verdicts ---------------------------------------------------------------------------------


def test_an_open_high_dependabot_alert_is_named() -> None:
    alerts = [
        _dependabot(7, "open", "high", "lodash"),
        _dependabot(6, "open", "medium", "nanoid"),
        _dependabot(5, "dismissed", "critical", "form-data"),
        _dependabot(4, "fixed", "high", "cross-spawn"),
    ]
    verdict = dependabot_verdict(alerts, "high", REPOSITORY)
    assert verdict is not None
    assert verdict.startswith(f"GitHub {REPOSITORY}: 1 Dependabot alerts at high or above are not triaged")
    assert "all alerts by state: dismissed 1, fixed 1, open 2" in verdict
    assert f"#7 lodash (high, {LODASH_GHSA}, pnpm-lock.yaml): open {alerts[0].html_url}" in verdict
    assert "nanoid" not in verdict
    assert dependabot_verdict(alerts[1:], "high", REPOSITORY) is None


def test_the_level_decides_and_an_unknown_severity_blocks() -> None:
    medium = [_dependabot(6, "open", "medium"), _dependabot(3, "auto_dismissed", "critical")]
    assert dependabot_verdict(medium, "high", REPOSITORY) is None
    assert [alert.number for alert in untriaged_dependabot(medium, "medium")] == [6]
    odd = [_dependabot(8, "open", "severe")]
    assert [alert.number for alert in untriaged_dependabot(odd, "critical")] == [8]


def test_an_open_secret_alert_is_named_without_the_secret() -> None:
    secret = "never-shown-" + secrets.token_hex(8)
    alerts = [SecretScanningAlert.model_validate(_open_secret(9, secret))]
    alerts += [SecretScanningAlert.model_validate(item) for item in _recorded("secret-scanning-alerts.json")]
    verdict = secret_scanning_verdict(alerts, REPOSITORY)
    assert verdict is not None
    assert verdict.startswith(f"GitHub {REPOSITORY}: 1 open secret-scanning alerts (values never shown")
    assert "#9 GitHub Personal Access Token (open" in verdict
    assert secret not in verdict
    assert secret_scanning_verdict(alerts[1:], REPOSITORY) is None


# --- the checks under the gate ---------------------------------------------------------------------


def _gate(tmp: Path, github_source: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The two GitHub checks of checks/test_validate.py, with the sandbox's GitHub replaced."""
    text = (REPO_ROOT / "release.toml").read_text(encoding="utf-8")
    assert text.count(SANDBOX_RECORDED) == 1
    config = tmp / "release.toml"
    config.write_text(text.replace(SANDBOX_RECORDED, github_source), encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k != "SANDBOX_GITHUB_TOKEN"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks/test_validate.py",
            "-k",
            "secret_scanning or dependabot",
            "--release-env",
            "staging",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_config={config}",
            "-o",
            f"release_state_dir={tmp / 'gate'}",
            "-rA",
        ],
        cwd=REPO_ROOT,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GATE_TIMEOUT_S,
        check=False,
    )


def _clean(output: str) -> None:
    assert "Traceback" not in output, output[-4000:]
    assert "INTERNALERROR" not in output, output[-4000:]


def test_the_checks_pass_on_the_recorded_data(tmp_path: Path) -> None:
    done = _gate(tmp_path, f'recorded = "{RECORDED}"')
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "PASSED checks/test_validate.py::test_github_secret_scanning_has_no_open_alert" in output
    assert "PASSED checks/test_validate.py::test_dependabot_alerts_are_triaged" in output
    assert f"Dependabot: 5 alerts in {REPOSITORY}, none open at high or above" in output
    assert "RELEASE GATE: PASSED" in output


def test_open_alerts_block_the_gate_naming_them(tmp_path: Path) -> None:
    folder = tmp_path / "github"
    shutil.copytree(RECORDED, folder)
    dependabot = json.loads((folder / "dependabot-alerts.json").read_text(encoding="utf-8"))
    extra = json.loads(_dependabot(9, "open", "high", "lodash").model_dump_json())
    extra["dependency"]["package"]["ecosystem"] = "npm"
    dependabot["items"].insert(0, extra)
    (folder / "dependabot-alerts.json").write_text(json.dumps(dependabot), encoding="utf-8")
    secret = "never-shown-" + secrets.token_hex(8)
    scanning = json.loads((folder / "secret-scanning-alerts.json").read_text(encoding="utf-8"))
    scanning["items"].insert(0, _open_secret(5, secret))
    (folder / "secret-scanning-alerts.json").write_text(json.dumps(scanning), encoding="utf-8")

    done = _gate(tmp_path, f'recorded = "{folder}"')
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    assert "FAILED checks/test_validate.py::test_github_secret_scanning_has_no_open_alert" in output
    assert "FAILED checks/test_validate.py::test_dependabot_alerts_are_triaged" in output
    assert "#5 GitHub Personal Access Token (open, created 2026-11-20T08:00:00Z, validity active)" in output
    assert f"#9 lodash (high, {LODASH_GHSA}, pnpm-lock.yaml): open https://github.com/{REPOSITORY}" in output
    assert "RELEASE GATE: BLOCKED at validate/pipeline" in output
    assert secret not in output
    _clean(output)


def test_a_403_blocks_the_gate_clearly(tmp_path: Path) -> None:
    server = LoopbackServer("forbidden")
    server.add_route(
        "GET",
        r".*",
        lambda request, groups: Response.json(
            403, {"message": DISABLED}, {"X-Accepted-GitHub-Permissions": "secret_scanning_alerts=read"}
        ),
    )
    with server:
        done = _gate(
            tmp_path,
            f'api_url = "{server.base_url}"',
            {"SANDBOX_GITHUB_TOKEN": TOKEN},
        )
        seen = server.requests
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    assert (
        f"GitHub GET /repos/{REPOSITORY}/secret-scanning/alerts?per_page=2&state=open: 403 Forbidden ({DISABLED}): "
        "the token in SANDBOX_GITHUB_TOKEN may not read this; the endpoint needs secret_scanning_alerts=read; "
        f"or secret scanning may be disabled for {REPOSITORY}"
    ) in output
    assert "FAILED checks/test_validate.py::test_dependabot_alerts_are_triaged" in output
    assert "RELEASE GATE: BLOCKED at validate/pipeline" in output
    assert TOKEN not in output
    assert all(request.headers.get("authorization") == f"Bearer {TOKEN}" for request in seen)
    _clean(output)
