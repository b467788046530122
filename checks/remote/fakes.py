"""Loopback fakes of GitHub's REST API and of a Slack incoming webhook, in their real formats.

:class:`FakeGitHub` serves the recorded answers of a folder (``sandbox/recorded/github/``):

- ``issues.json``: ``GET /repos/{o}/{r}/issues`` with ``labels`` (every label must be on
  the issue), ``state`` and page-number pagination (``page``, ``per_page``; ``Link`` with
  ``next``, ``last``, ``first``, ``prev``);
- ``check-runs.json``: ``GET /repos/{o}/{r}/commits/{ref}/check-runs``, recorded for the
  commit that ``for_ref`` names in the backing git repository; ``filter=latest`` (the
  default) keeps the newest run of each name; an unknown ref is GitHub's 422;
- ``dependabot-alerts.json``: ``GET /repos/{o}/{r}/dependabot/alerts`` with ``state`` and
  ``severity`` filters and cursor pagination (``after``);
- ``secret-scanning-alerts.json``: ``GET /repos/{o}/{r}/secret-scanning/alerts`` with
  ``state`` (``open``/``resolved``), ``secret_type`` and ``resolution`` filters, newest
  first, page-number pagination; with :attr:`FakeGitHub.secret_scanning_enabled` off it
  answers like a repository without secret scanning (404, GitHub's documented answer);
- git refs from a backing git repository (read-only ``git``): ``/git/ref/tags/{tag}``,
  ``/git/matching-refs/tags/{prefix}`` and ``/git/tags/{sha}`` for annotated tags.

Every answer carries ``X-Recorded-Fake`` and GitHub's API-version and rate-limit headers.
With a token set, requests without ``Authorization: Bearer <token>`` get GitHub's 401.

:class:`FakeSlack` takes ``POST /services/T.../B.../<secret>`` JSON messages and answers like
Slack: ``200 ok``, ``400 invalid_payload`` / ``no_text``, ``404 no_service``.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from checks.artifacts import ArtifactError
from checks.release_artifacts.tags import git
from checks.remote.server import LoopbackServer, Request, Response

API_VERSION: Final = "2022-11-28"
DOCS: Final = "https://docs.github.com/rest"
_DEFAULT_PER_PAGE: Final = 30
_MAX_PER_PAGE: Final = 100
_GIT_TIMEOUT_S: Final = 10.0
_SHA: Final = frozenset(string.hexdigits.lower())


class FakeDataError(Exception):
    """A recorded file is missing or malformed; the message names it."""


def _recorded(folder: Path, name: str, key: str) -> dict[str, Any]:
    path = folder / name
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FakeDataError(f"{path}: the recorded answers are missing") from None
    except (OSError, ValueError) as exc:
        raise FakeDataError(f"{path}: cannot read the recorded answers: {exc}") from None
    if not isinstance(payload, dict) or "recorded_fake" not in payload or not isinstance(payload.get(key), list):
        raise FakeDataError(f"{path}: expected an object with 'recorded_fake' and a '{key}' list")
    return payload


def _error(status: int, message: str, headers: Mapping[str, str]) -> Response:
    return Response.json(status, {"message": message, "documentation_url": DOCS, "status": str(status)}, headers)


class FakeGitHub(LoopbackServer):
    def __init__(
        self,
        recorded: Path,
        repository: str,
        *,
        token: str | None = None,
        git_repo: Path | None = None,
    ) -> None:
        super().__init__("github")
        self.recorded = recorded
        self.repository = repository
        self.token = token
        self.git_repo = git_repo
        self.issues: list[dict[str, Any]] = _recorded(recorded, "issues.json", "items")["items"]
        runs = _recorded(recorded, "check-runs.json", "check_runs")
        self.check_runs: list[dict[str, Any]] = runs["check_runs"]
        self.check_runs_ref = str(runs.get("for_ref", ""))
        self.alerts: list[dict[str, Any]] = _recorded(recorded, "dependabot-alerts.json", "items")["items"]
        secret_alerts = _recorded(recorded, "secret-scanning-alerts.json", "items")
        self.secret_alerts: list[dict[str, Any]] = secret_alerts["items"]
        self.secret_scanning_enabled = True
        self._remaining = 5000
        repo = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        self.add_route("GET", repo + r"/issues", self._issues)
        self.add_route("GET", repo + r"/commits/(?P<ref>.+)/check-runs", self._check_runs)
        self.add_route("GET", repo + r"/dependabot/alerts", self._alerts)
        self.add_route("GET", repo + r"/secret-scanning/alerts", self._secret_alerts)
        self.add_route("GET", repo + r"/git/ref/tags/(?P<tag>.+)", self._tag_ref)
        self.add_route("GET", repo + r"/git/matching-refs/tags/(?P<prefix>.*)", self._matching_refs)
        self.add_route("GET", repo + r"/git/tags/(?P<sha>[0-9a-f]{40})", self._tag_object)

    # --- common -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        self._remaining = max(self._remaining - 1, 0)
        return {
            "X-GitHub-Api-Version-Selected": API_VERSION,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self._remaining),
            "X-RateLimit-Used": str(5000 - self._remaining),
            "X-RateLimit-Resource": "core",
            "X-RateLimit-Reset": "4102444800",
            "X-Recorded-Fake": f"{self.recorded.name}: recorded answers, not live GitHub data",
        }

    def dispatch(self, request: Request) -> Response:
        headers = self._headers()
        if self.token is not None:
            given = request.headers.get("authorization", "")
            if not given:
                return _error(401, "Requires authentication", headers)
            scheme, _, value = given.partition(" ")
            if scheme.lower() not in {"bearer", "token"} or not secrets.compare_digest(value, self.token):
                return _error(401, "Bad credentials", headers)
        response = super().dispatch(request)
        return Response(response.status, response.body, {**headers, **response.headers})

    def _repo_ok(self, groups: Mapping[str, str]) -> bool:
        return f"{groups['owner']}/{groups['repo']}".lower() == self.repository.lower()

    def _page_numbers(self, request: Request) -> tuple[int, int] | None:
        try:
            per_page = int(request.param("per_page") or _DEFAULT_PER_PAGE)
            page = int(request.param("page") or 1)
        except ValueError:
            return None
        return min(max(per_page, 1), _MAX_PER_PAGE), max(page, 1)

    def _link(self, request: Request, pages: Mapping[str, dict[str, str]]) -> str:
        parts = []
        for rel, changes in pages.items():
            query = {k: v[-1] for k, v in request.query.items()}
            query.update(changes)
            parts.append(f'<{request.base_url}{request.path}?{urlencode(query)}>; rel="{rel}"')
        return ", ".join(parts)

    def _paged(self, request: Request, items: list[Any], wrap: Any = None) -> Response:
        numbers = self._page_numbers(request)
        if numbers is None:
            return _error(422, "Invalid pagination parameters", {})
        per_page, page = numbers
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links: dict[str, dict[str, str]] = {}
        if page < last:
            links["next"] = {"page": str(page + 1)}
            links["last"] = {"page": str(last)}
        if page > 1:
            links["first"] = {"page": "1"}
            links["prev"] = {"page": str(min(page - 1, last))}
        headers = {"Link": self._link(request, links)} if links else {}
        return Response.json(200, wrap(chunk) if wrap else chunk, headers)

    # --- git, read-only -----------------------------------------------------------------

    def _git(self, *args: str) -> str | None:
        if self.git_repo is None:
            return None
        try:
            done = git(self.git_repo, *args, timeout_s=_GIT_TIMEOUT_S)
        except ArtifactError:
            return None
        return done.stdout if done.returncode == 0 else None

    def _commit(self, ref: str) -> str | None:
        if not ref or ref.startswith("-"):
            return None
        out = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        return out.strip() if out else None

    def _ref_json(self, request: Request, name: str, sha: str, kind: str) -> dict[str, Any]:
        api = f"{request.base_url}/repos/{self.repository}/git"
        return {
            "ref": name,
            "node_id": base64.b64encode(f"REF:{name}".encode()).decode(),
            "url": f"{api}/{name}",
            "object": {"sha": sha, "type": kind, "url": f"{api}/{kind}s/{sha}"},
        }

    def _tag_refs(self, prefix: str) -> list[tuple[str, str, str]]:
        out = self._git("for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", f"refs/tags/{prefix}*")
        rows = []
        for line in (out or "").splitlines():
            name, sha, kind = line.split(" ")
            if name.startswith(f"refs/tags/{prefix}"):
                rows.append((name, sha, kind))
        return rows

    # --- routes -------------------------------------------------------------------------

    def _issues(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        state = request.param("state", "open")
        if state not in {"open", "closed", "all"}:
            return _error(422, f"Invalid value for state: {state}", {})
        wanted = {label.strip().lower() for label in (request.param("labels") or "").split(",") if label.strip()}
        chosen = []
        for issue in self.issues:
            names = {str(label.get("name", "")).lower() for label in issue.get("labels", [])}
            if (state == "all" or issue.get("state") == state) and wanted <= names:
                chosen.append(issue)
        chosen.sort(key=lambda issue: issue.get("created_at", ""), reverse=True)
        return self._paged(request, chosen)

    def _check_runs(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        ref = groups["ref"]
        sha = self._commit(ref)
        if sha is None:
            return _error(422, f"No commit found for SHA: {ref}", {})
        recorded_for = self._commit(self.check_runs_ref)
        runs = [{**run, "head_sha": sha} for run in self.check_runs] if sha == recorded_for else []
        if request.param("filter", "latest") == "latest":
            newest: dict[str, dict[str, Any]] = {}
            for run in runs:
                kept = newest.get(run["name"])
                if kept is None or str(run.get("started_at", "")) > str(kept.get("started_at", "")):
                    newest[run["name"]] = run
            runs = list(newest.values())
        return self._paged(request, runs, wrap=lambda chunk: {"total_count": len(runs), "check_runs": chunk})

    def _alerts(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        states = set((request.param("state") or "").split(",")) - {""}
        severities = set((request.param("severity") or "").split(",")) - {""}
        chosen = [
            alert
            for alert in self.alerts
            if (not states or alert.get("state") in states)
            and (not severities or alert.get("security_advisory", {}).get("severity") in severities)
        ]
        try:
            per_page = min(max(int(request.param("per_page") or _DEFAULT_PER_PAGE), 1), _MAX_PER_PAGE)
            after = request.param("after")
            start = int(base64.b64decode(after).decode()) if after else 0
        except ValueError:
            return _error(400, "Invalid cursor or page size", {})
        chunk = chosen[start : start + per_page]
        headers = {}
        if start + per_page < len(chosen):
            cursor = base64.b64encode(str(start + per_page).encode()).decode()
            headers["Link"] = self._link(request, {"next": {"after": cursor}})
        return Response.json(200, chunk, headers)

    def _secret_alerts(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        if not self.secret_scanning_enabled:
            return _error(404, "Secret scanning is disabled on this repository.", {})
        state = request.param("state")
        if state not in {None, "open", "resolved"}:
            return _error(422, f"Invalid value for state: {state}", {})
        types = set((request.param("secret_type") or "").split(",")) - {""}
        resolutions = set((request.param("resolution") or "").split(",")) - {""}
        chosen = [
            alert
            for alert in self.secret_alerts
            if (state is None or alert.get("state") == state)
            and (not types or alert.get("secret_type") in types)
            and (not resolutions or alert.get("resolution") in resolutions)
        ]
        chosen.sort(key=lambda alert: str(alert.get("created_at", "")), reverse=True)
        return self._paged(request, chosen)

    def _tag_ref(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        name = f"refs/tags/{groups['tag']}"
        for ref, sha, kind in self._tag_refs(groups["tag"]):
            if ref == name:
                return Response.json(200, self._ref_json(request, ref, sha, kind))
        return _error(404, "Not Found", {})

    def _matching_refs(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        rows = self._tag_refs(groups["prefix"])
        return Response.json(200, [self._ref_json(request, ref, sha, kind) for ref, sha, kind in rows])

    def _tag_object(self, request: Request, groups: dict[str, str]) -> Response:
        if not self._repo_ok(groups):
            return _error(404, "Not Found", {})
        sha = groups["sha"]
        kind = self._git("cat-file", "-t", sha)
        body = self._git("cat-file", "tag", sha) if kind and kind.strip() == "tag" else None
        if body is None:
            return _error(404, "Not Found", {})
        header, _, message = body.partition("\n\n")
        fields = dict(line.split(" ", 1) for line in header.splitlines() if " " in line)
        api = f"{request.base_url}/repos/{self.repository}/git"
        return Response.json(
            200,
            {
                "sha": sha,
                "url": f"{api}/tags/{sha}",
                "tag": fields.get("tag", ""),
                "message": message,
                "tagger": {"name": fields.get("tagger", "").rsplit(" <", 1)[0]},
                "object": {
                    "sha": fields.get("object", ""),
                    "type": fields.get("type", ""),
                    "url": f"{api}/{fields.get('type', 'commit')}s/{fields.get('object', '')}",
                },
            },
        )


def _slack_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


class FakeSlack(LoopbackServer):
    """One incoming webhook; accepted messages are kept in :attr:`messages`."""

    def __init__(self) -> None:
        super().__init__("slack")
        secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
        self.path = f"/services/{_slack_id('T', 10)}/{_slack_id('B', 10)}/{secret}"
        self.messages: list[dict[str, Any]] = []
        self.add_route("POST", r"/services/.*", self._post)

    @property
    def url(self) -> str:
        return self.base_url + self.path

    @staticmethod
    def _answer(status: int, word: str) -> Response:
        return Response.text(status, word, "text/html")

    def _post(self, request: Request, groups: dict[str, str]) -> Response:
        if not secrets.compare_digest(request.path, self.path):
            return self._answer(404, "no_service")
        problem = self._problem(request)
        if problem is not None:
            return self._answer(400, problem)
        self.messages.append(request.json())
        return self._answer(200, "ok")

    @staticmethod
    def _problem(request: Request) -> str | None:
        """Slack's error word for a message it would refuse, or None."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            return "invalid_payload"
        try:
            payload = request.json()
        except (ValueError, UnicodeDecodeError):
            return "invalid_payload"
        if not isinstance(payload, dict):
            return "invalid_payload"
        if not payload.get("text") and not payload.get("blocks"):
            return "no_text"
        if "blocks" in payload and not isinstance(payload["blocks"], list):
            return "invalid_blocks"
        return None
