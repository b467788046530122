"""GitHub and Slack clients against real HTTP servers on loopback (the recorded fakes).

Pagination is followed (page numbers and cursors); 401, 403, 404, 422, 500, a timeout, an
answer that is not JSON or lacks a required field, and a next page on another host are each
a GitHubError naming the endpoint, never a pass, and never showing the token.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from checks.remote.fakes import FakeDataError, FakeGitHub, FakeSlack
from checks.remote.github import GitHubClient, GitHubError
from checks.remote.server import Fault, LoopbackServer, Request, Response
from checks.remote.settings import CheckSettings, SettingsError, validate_sections
from checks.remote.slack import SlackError, build_message, mask_webhook, post_webhook
from plugin.config import load_release_config
from sandbox.release_repo import ensure_release_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDED = REPO_ROOT / "sandbox" / "recorded" / "github"
REPOSITORY = "icupa/icupa-sandbox"
TOKEN = "ghs_" + "T3stT0kenForTheLoopbackFakeOnly0000"


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("git") / "release-repo"
    ensure_release_repo(repo, "v0.1.0", REPO_ROOT / "sandbox" / "workspace")
    return repo


@pytest.fixture
def fake(release_repo: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(RECORDED, REPOSITORY, token=TOKEN, git_repo=release_repo) as server:
        yield server


def _client(url: str, *, token: str | None = TOKEN, per_page: int = 2, **kwargs: Any) -> GitHubClient:
    return GitHubClient(url, REPOSITORY, token, per_page=per_page, token_env="TEST_GH_TOKEN", **kwargs)  # noqa: S106


def _commit(repo: Path, ref: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return done.stdout.strip()


# --- pagination ----------------------------------------------------------------------------


def test_issues_follow_link_pages_and_leave_out_pull_requests(fake: FakeGitHub) -> None:
    with _client(fake.base_url) as client:
        issues = client.issues(["S1"], "open")
    assert [issue.number for issue in issues] == [24, 17, 15]  # PR #18 was on a page too
    pages = [request.param("page") for request in fake.requests]
    assert pages == [None, "2"]  # the second URL came from the Link header
    assert all(request.headers["authorization"] == f"Bearer {TOKEN}" for request in fake.requests)
    assert all(request.headers["x-github-api-version"] == "2022-11-28" for request in fake.requests)


def test_issue_labels_must_all_match_and_state_filters(fake: FakeGitHub) -> None:
    with _client(fake.base_url, per_page=100) as client:
        assert [i.number for i in client.issues(["S0"], "all")] == [21, 9]
        assert [i.number for i in client.issues(["S0", "incident"], "open")] == [21]
        assert client.issues(["S0", "S1"], "open") == []


def test_check_runs_are_paged_counted_and_latest_per_name(fake: FakeGitHub, release_repo: Path) -> None:
    sha = _commit(release_repo, "v0.1.0")
    with _client(fake.base_url, per_page=3) as client:
        runs = client.check_runs(sha)
    assert len(fake.requests) == 3  # 9 latest runs, 3 a page
    assert len(runs) == 9
    assert {run.head_sha for run in runs} == {sha}
    e2e = [run for run in runs if run.name == "e2e (playwright)"]
    assert [(run.conclusion, run.id) for run in e2e] == [("success", 60011)]


def test_check_runs_of_another_commit_are_none(fake: FakeGitHub, release_repo: Path) -> None:
    with _client(fake.base_url) as client:
        assert client.check_runs(_commit(release_repo, "main~1")) == []


def test_check_runs_of_an_unknown_commit_is_a_422(fake: FakeGitHub) -> None:
    with _client(fake.base_url) as client, pytest.raises(GitHubError) as caught:
        client.check_runs("0" * 40)
    message = str(caught.value)
    assert f"GET /repos/{REPOSITORY}/commits/{'0' * 40}/check-runs" in message
    assert "422" in message
    assert "No commit found" in message


def test_dependabot_alerts_follow_cursors(fake: FakeGitHub) -> None:
    with _client(fake.base_url, per_page=1) as client:
        every = client.dependabot_alerts("open,dismissed,fixed")
        high = client.dependabot_alerts("open,dismissed,fixed", ["high", "critical"])
        open_high = client.dependabot_alerts("open", ["high", "critical"])
    assert [alert.number for alert in every] == [5, 4, 3, 2, 1]
    assert [request.param("after") is not None for request in fake.requests[:5]] == [False, True, True, True, True]
    assert [(alert.number, alert.state) for alert in high] == [(4, "fixed"), (2, "dismissed"), (1, "fixed")]
    assert open_high == []
    assert [(alert.package, alert.severity) for alert in every[:3]] == [
        ("cookie", "low"),
        ("form-data", "critical"),
        ("esbuild", "medium"),
    ]


def test_tags_resolve_through_annotated_tag_objects(fake: FakeGitHub, release_repo: Path) -> None:
    with _client(fake.base_url) as client:
        tag = client.tag_commit("v0.1.0")
        refs = client.matching_tags("v0.")
        with pytest.raises(GitHubError, match=r"GET /repos/icupa/icupa-sandbox/git/ref/tags/v9.9.9: 404 Not Found"):
            client.tag_commit("v9.9.9")
    assert (tag.ref, tag.annotated) == ("refs/tags/v0.1.0", True)
    assert tag.commit_sha == _commit(release_repo, "main")
    assert [ref.ref for ref in refs] == ["refs/tags/v0.1.0"]
    assert refs[0].object.type == "tag"


# --- failures ------------------------------------------------------------------------------


def _error(client: GitHubClient) -> str:
    with client, pytest.raises(GitHubError) as caught:
        client.issues(["S0"])
    message = str(caught.value)
    assert TOKEN not in message
    assert f"GET /repos/{REPOSITORY}/issues" in message
    return message


def test_a_refused_token_is_a_401_naming_the_variable(fake: FakeGitHub) -> None:
    message = _error(_client(fake.base_url, token="ghs_" + "W" * 36))
    assert "401 Unauthorized (Bad credentials): the token in TEST_GH_TOKEN was refused" in message


def test_no_token_is_a_401(fake: FakeGitHub) -> None:
    assert "401 Unauthorized (Requires authentication)" in _error(_client(fake.base_url, token=None))


def test_a_missing_token_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_GH_TOKEN", raising=False)
    with pytest.raises(GitHubError, match="the token variable TEST_GH_TOKEN is not set"):
        GitHubClient.from_env("http://127.0.0.1:9", REPOSITORY, "TEST_GH_TOKEN", timeout_s=1, per_page=10, max_pages=1)


def test_a_server_error_is_a_failure(fake: FakeGitHub) -> None:
    fake.fault = Fault(status=500, body={"message": "Server Error"})
    assert "500 server error (Server Error); GitHub did not answer, so nothing is known" in _error(
        _client(fake.base_url)
    )


def test_a_timeout_is_a_failure(fake: FakeGitHub) -> None:
    fake.fault = Fault(delay_s=3.0)
    message = _error(_client(fake.base_url, timeout_s=0.3))
    assert "no answer within 0.3s (timeout)" in message


def test_an_unreachable_api_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert "cannot reach http://127.0.0.1" in _error(_client(f"http://127.0.0.1:{port}"))


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000000"}, "403 rate limit exhausted"),
        (403, {"X-Accepted-GitHub-Permissions": "issues=read"}, "the endpoint needs issues=read"),
        (404, {}, "404 Not Found (nope): no such repository"),
        (301, {"Location": "https://api.github.com/repositories/1"}, "301 redirect to https://api.github.com/"),
        (418, {}, "418 (nope)"),
    ],
)
def test_other_statuses_are_named(status: int, headers: dict[str, str], expected: str) -> None:
    server = LoopbackServer("odd")
    server.add_route("GET", r".*", lambda request, groups: Response.json(status, {"message": "nope"}, headers))
    with server:
        assert expected in _error(_client(server.base_url))


def _serving(handler: Any) -> LoopbackServer:
    server = LoopbackServer("custom")
    server.add_route("GET", r".*", handler)
    return server


def test_an_answer_that_is_not_json_fails() -> None:
    with _serving(lambda request, groups: Response.text(200, '[{"number": 1, "tit')) as server:
        assert "the answer is not JSON" in _error(_client(server.base_url))


def test_an_answer_missing_a_required_field_fails() -> None:
    with _serving(
        lambda request, groups: Response.json(200, [{"title": "x", "state": "open", "labels": []}])
    ) as server:
        assert "unexpected answer: number: Field required" in _error(_client(server.base_url))


def test_an_answer_of_the_wrong_shape_fails() -> None:
    with _serving(lambda request, groups: Response.json(200, {"message": "hello"})) as server:
        assert "expected a list of issues" in _error(_client(server.base_url))


def test_a_next_page_on_another_host_is_not_followed() -> None:
    def first(request: Request, groups: dict[str, str]) -> Response:
        return Response.json(200, [], {"Link": '<http://127.0.0.2:9/repos/x/y/issues?page=2>; rel="next"'})

    with _serving(first) as server:
        assert "the next page is on another host; not following it with the token" in _error(_client(server.base_url))
        assert len(server.requests) == 1


def test_endless_pages_are_bounded() -> None:
    def endless(request: Request, groups: dict[str, str]) -> Response:
        page = int(request.param("page") or 1)
        link = f'<{request.base_url}{request.path}?page={page + 1}>; rel="next"'
        return Response.json(200, [], {"Link": link})

    with _serving(endless) as server:
        assert "more than 5 pages; giving up" in _error(_client(server.base_url, max_pages=5))
        assert len(server.requests) == 5


def test_a_page_linking_back_is_caught() -> None:
    def loop(request: Request, groups: dict[str, str]) -> Response:
        return Response.json(200, [], {"Link": f'<{request.base_url}{request.path}?page=1>; rel="next"'})

    with _serving(loop) as server:
        assert "the pages link back to an earlier page" in _error(_client(server.base_url))


def test_check_runs_total_count_must_match_the_pages() -> None:
    answer = {"total_count": 5, "check_runs": []}
    with (
        _serving(lambda request, groups: Response.json(200, answer)) as server,
        _client(server.base_url) as client,
        pytest.raises(GitHubError, match=r"total_count says 5 but the pages held 0"),
    ):
        client.check_runs("abc")


def test_the_fake_refuses_other_repositories_and_methods(fake: FakeGitHub) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(timeout=5) as http:
        assert http.get(f"{fake.base_url}/repos/other/repo/issues", headers=headers).status_code == 404
        assert http.post(f"{fake.base_url}/repos/{REPOSITORY}/issues", headers=headers).status_code == 405
        answer = http.get(f"{fake.base_url}/repos/{REPOSITORY}/issues?state=all", headers=headers)
    assert answer.headers["x-recorded-fake"].startswith("github: recorded answers")
    assert answer.headers["x-ratelimit-limit"] == "5000"


def test_the_fake_needs_its_recorded_files(tmp_path: Path) -> None:
    with pytest.raises(FakeDataError, match=r"issues\.json: the recorded answers are missing"):
        FakeGitHub(tmp_path, REPOSITORY)
    (tmp_path / "issues.json").write_text("[]", encoding="utf-8")
    with pytest.raises(FakeDataError, match="expected an object with 'recorded_fake'"):
        FakeGitHub(tmp_path, REPOSITORY)


def test_a_stopped_server_frees_its_port() -> None:
    server = LoopbackServer("short-lived")
    server.start()
    port = int(server.base_url.rsplit(":", 1)[1])
    server.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


# --- Slack ---------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _message() -> dict[str, Any]:
    return build_message(
        version="v0.1.0",
        env="staging",
        target="sandbox",
        release_window="Thu 09:00-12:00 UTC",
        rollout_plan=["internal", "pilot", "GA"],
        channel="#release",
    )


def test_the_webhook_takes_a_message(slack: FakeSlack) -> None:
    post_webhook(slack.url, _message(), timeout_s=5)
    (posted,) = slack.messages
    assert posted["text"].startswith("ICUPA v0.1.0 release (sandbox, staging): release window Thu 09:00-12:00 UTC")
    assert [block["type"] for block in posted["blocks"]] == ["header", "section", "section", "context"]
    assert "1. internal\n2. pilot\n3. GA" in json.dumps(posted["blocks"][2]).replace("\\n", "\n")


def test_a_wrong_webhook_is_no_service_and_stays_masked(slack: FakeSlack) -> None:
    wrong = slack.base_url + "/services/T0/B0/not-the-secret"
    with pytest.raises(SlackError) as caught:
        post_webhook(wrong, _message(), timeout_s=5)
    message = str(caught.value)
    assert message == f"Slack webhook POST {slack.base_url}/services/***: 404 no_service"
    assert "not-the-secret" not in message
    assert slack.messages == []


@pytest.mark.parametrize(
    ("payload", "word"),
    [({}, "no_text"), ({"text": "x", "blocks": "nope"}, "invalid_blocks")],
)
def test_the_webhook_refuses_bad_payloads(slack: FakeSlack, payload: dict[str, Any], word: str) -> None:
    with pytest.raises(SlackError, match=f"400 {word}"):
        post_webhook(slack.url, payload, timeout_s=5)


def test_the_webhook_refuses_a_body_that_is_not_json(slack: FakeSlack) -> None:
    with httpx.Client(timeout=5) as http:
        answer = http.post(slack.url, content=b"text=hi", headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.text) == (400, "invalid_payload")


def test_a_webhook_timeout_is_a_failure_without_the_secret(slack: FakeSlack) -> None:
    slack.fault = Fault(delay_s=3.0)
    with pytest.raises(SlackError) as caught:
        post_webhook(slack.url, _message(), timeout_s=0.3)
    assert "no answer within 0.3s (timeout)" in str(caught.value)
    assert slack.path not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/services/***"),
        ("http://user:pw@127.0.0.1:8080/services/T/B/s", "http://127.0.0.1:8080/services/***"),
        ("https://example.com", "https://example.com/***"),
        ("not a url", "<not a URL>"),
    ],
)
def test_mask_webhook(url: str, masked: str) -> None:
    assert mask_webhook(url) == masked


SLACK_TOML = """
[targets.t]
[targets.t.checks.slack]
webhook_env = "TEST_SLACK_WEBHOOK_URL"
release_window = "{window}"
rollout_plan = ["internal tenants", "full GA"]
"""


def _notify(tmp_path: Path, env: dict[str, str], window: str = "Thu {version}") -> subprocess.CompletedProcess[str]:
    config = tmp_path / "release.toml"
    config.write_text(SLACK_TOML.replace("{window}", window), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "checks.remote.slack", "--config", str(config), "--target", "t", "--version", "v0.1.0"],
        cwd=REPO_ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "TEST_SLACK_WEBHOOK_URL"}, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notify_command_posts_and_prints_a_masked_summary(tmp_path: Path, slack: FakeSlack) -> None:
    done = _notify(tmp_path, {"TEST_SLACK_WEBHOOK_URL": slack.url})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["webhook"] == f"{slack.base_url}/services/***"
    assert slack.path not in done.stdout + done.stderr
    assert slack.messages[0]["text"].startswith("ICUPA v0.1.0 release (t, none): release window Thu v0.1.0.")


def test_notify_command_fails_cleanly(tmp_path: Path, slack: FakeSlack) -> None:
    unset = _notify(tmp_path, {})
    assert unset.returncode == 2
    assert "the webhook variable TEST_SLACK_WEBHOOK_URL is not set" in unset.stderr
    refused = _notify(tmp_path, {"TEST_SLACK_WEBHOOK_URL": slack.base_url + "/services/T/B/wrong"})
    assert refused.returncode == 1
    assert "404 no_service" in refused.stderr
    assert "wrong" not in refused.stdout + refused.stderr
    unknown = _notify(tmp_path, {"TEST_SLACK_WEBHOOK_URL": slack.url}, window="${NO_SUCH_WINDOW_VAR}")
    assert unknown.returncode == 2
    assert "environment variable NO_SUCH_WINDOW_VAR is not set" in unknown.stderr
    for done in (unset, refused, unknown):
        assert "Traceback" not in done.stderr
    assert slack.messages == []


# --- settings ------------------------------------------------------------------------------

GOOD_GITHUB: dict[str, Any] = {"repository": "o/r", "critical_checks": {"unit": ["test"]}}


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (
            {"github": {**GOOD_GITHUB, "per_pgae": 3}},
            "targets.t.checks.github.per_pgae: Extra inputs are not permitted",
        ),
        (
            {"github": {**GOOD_GITHUB, "per_page": "3"}},
            "targets.t.checks.github.per_page: Input should be a valid integer",
        ),
        ({"github": {**GOOD_GITHUB, "per_page": 500}}, "targets.t.checks.github.per_page: Input should be less than"),
        ({"github": {"repository": "o/r"}}, "targets.t.checks.github.critical_checks: Field required"),
        (
            {"github": {**GOOD_GITHUB, "critical_checks": {"smoke": ["x"]}}},
            "targets.t.checks.github.critical_checks.smoke",
        ),
        (
            {"github": {**GOOD_GITHUB, "triage": {"severity_labels": []}}},
            "targets.t.checks.github.triage.severity_labels: List should have at least 1 item",
        ),
        ({"slack": {"release_window": "w"}}, "targets.t.checks.slack.rollout_plan: Field required"),
        (
            {
                "release": {
                    "repo": ".",
                    "release_ref": "main",
                    "codeql_sarif": "x",
                    "audit_report": "y",
                    "sarif_level": "hi",
                }
            },
            "targets.t.checks.release.sarif_level: Input should be 'critical', 'high', 'medium' or 'low'",
        ),
    ],
)
def test_bad_settings_name_the_key_and_the_file(checks: dict[str, Any], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_sections(checks, "t", "/x/release.toml")
    assert str(caught.value).startswith("/x/release.toml: invalid check settings:")
    assert expected in str(caught.value)


def _settings(github: dict[str, Any]) -> CheckSettings:
    sections = validate_sections({"github": github}, "t", "/x/release.toml")
    return CheckSettings("t", "/x/release.toml", Path("/root"), {"root": "/root"}, sections["github"], None, None)


def test_templates_are_filled_and_checked() -> None:
    settings = _settings({**GOOD_GITHUB, "repository": "${TEST_REPOSITORY_SLUG}"})
    with pytest.raises(SettingsError, match=r"checks.github.repository: environment variable TEST_REPOSITORY_SLUG"):
        settings.github_target()
    with pytest.raises(SettingsError, match=r"checks.github.repository: 'nope' is not owner/name"):
        _settings({**GOOD_GITHUB, "repository": "nope"}).github_target()
    with pytest.raises(SettingsError, match=r"checks.github.api_url: 'ftp://x' is not a URL"):
        _settings({**GOOD_GITHUB, "api_url": "ftp://x"}).github_target()
    with pytest.raises(SettingsError, match=r"checks.release.repo: unknown template variable \{nope\}"):
        settings.path("release.repo", "{nope}/x")
    assert settings.path("release.repo", "{root}/a") == Path("/root/a")
    with pytest.raises(SettingsError, match=r"has no \[targets.t.checks.slack\] table"):
        settings.require_slack()


@pytest.mark.parametrize("target", ["sandbox", "icupa"])
def test_the_project_release_toml_is_valid(target: str) -> None:
    config = load_release_config(REPO_ROOT / "release.toml")
    sections = validate_sections(config.targets[target].checks, target, "release.toml")
    assert all(sections[name] is not None for name in ("github", "slack", "release"))
    for action in ("release_repo", "sbom_generate", "notify_stakeholders"):
        assert action in config.targets[target].actions
