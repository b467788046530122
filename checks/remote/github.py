"""A read-only GitHub REST client for the release gate (httpx, API version 2022-11-28).

What the pre-release and validate checks ask GitHub:

- issues with given labels (``GET /repos/{owner}/{repo}/issues``), pull requests left out;
- the check runs of the release commit (``GET /repos/{o}/{r}/commits/{ref}/check-runs``);
- Dependabot alerts (``GET /repos/{o}/{r}/dependabot/alerts``);
- secret-scanning alerts (``GET /repos/{o}/{r}/secret-scanning/alerts``), without the secret:
  GitHub's answer carries each alert's ``secret`` value, which is dropped when parsed;
- a tag's commit (``GET /repos/{o}/{r}/git/ref/tags/{tag}``, dereferencing an annotated
  tag through ``GET /repos/{o}/{r}/git/tags/{sha}``) and ``/git/matching-refs/tags/...``.

Every call has a timeout. Lists follow the ``Link: <...>; rel="next"`` header, page by page
or cursor by cursor, up to a bound, and only to the same origin as the API (the token is
never sent anywhere else). The token comes from an environment variable and is never part
of a message: errors name the endpoint and the problem, not the credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

API_VERSION: Final = "2022-11-28"
USER_AGENT: Final = "icupa-release-gate"


class GitHubError(Exception):
    """A GitHub call did not give a usable answer; the message names the endpoint."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


_ItemT = TypeVar("_ItemT", bound=BaseModel)


class Label(_Lenient):
    name: str


class User(_Lenient):
    login: str


class IssueComment(_Lenient):
    id: int
    body: str = ""
    user: User | None = None
    created_at: str


class Milestone(_Lenient):
    title: str


class Issue(_Lenient):
    number: int
    title: str
    state: str
    html_url: str = ""
    labels: list[Label]
    assignee: User | None = None
    assignees: list[User] = []
    milestone: Milestone | None = None
    pull_request: dict[str, Any] | None = None

    @property
    def label_names(self) -> set[str]:
        return {label.name for label in self.labels}

    @property
    def assigned(self) -> bool:
        return self.assignee is not None or bool(self.assignees)


class CheckRun(_Lenient):
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    html_url: str | None = None


class _CheckRunsPage(_Lenient):
    total_count: int
    check_runs: list[CheckRun]


class _GitObject(_Lenient):
    sha: str
    type: str


class GitRef(_Lenient):
    ref: str
    object: _GitObject


class _GitTag(_Lenient):
    tag: str
    object: _GitObject


class _Advisory(_Lenient):
    ghsa_id: str
    severity: str
    summary: str = ""


class _Dependency(_Lenient):
    package: dict[str, Any]
    manifest_path: str = ""


class DependabotAlert(_Lenient):
    number: int
    state: str
    security_advisory: _Advisory
    dependency: _Dependency
    html_url: str = ""
    dismissed_reason: str | None = None

    @property
    def package(self) -> str:
        return str(self.dependency.package.get("name", "?"))

    @property
    def severity(self) -> str:
        return self.security_advisory.severity


class SecretScanningAlert(_Lenient):
    """A secret-scanning alert. The ``secret`` in GitHub's answer is not a field: never kept."""

    number: int
    state: str
    secret_type: str
    secret_type_display_name: str = ""
    resolution: str | None = None
    html_url: str = ""
    created_at: str = ""
    resolved_at: str | None = None
    validity: str | None = None
    push_protection_bypassed: bool | None = None

    def describe(self) -> str:
        """One line naming the alert (never the secret)."""
        kind = self.secret_type_display_name or self.secret_type
        extra = [f"created {self.created_at}"] if self.created_at else []
        if self.validity and self.validity != "unknown":
            extra.append(f"validity {self.validity}")
        if self.push_protection_bypassed:
            extra.append("push protection bypassed")
        where = f" {self.html_url}" if self.html_url else ""
        return f"#{self.number} {kind} ({self.state}{', ' + ', '.join(extra) if extra else ''}){where}"


@dataclass(frozen=True)
class TagCommit:
    """Where a tag points on GitHub: the tag ref, and the commit it names."""

    ref: str
    commit_sha: str
    annotated: bool


def _origin(url: str) -> tuple[str, str]:
    split = urlsplit(url)
    return split.scheme, split.netloc


class GitHubClient:
    """Calls for one repository. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str | None,
        *,
        timeout_s: float = 15.0,
        per_page: int = 100,
        max_pages: int = 50,
        token_env: str = "GITHUB_TOKEN",  # noqa: S107 - the variable's name, not a token
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.repository = repository
        self.per_page = per_page
        self.max_pages = max_pages
        self.timeout_s = timeout_s
        self.token_env = token_env
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout_s), follow_redirects=False)

    @classmethod
    def from_env(
        cls, api_url: str, repository: str, token_env: str, *, timeout_s: float, per_page: int, max_pages: int
    ) -> GitHubClient:
        token = os.environ.get(token_env)
        if not token:
            raise GitHubError(f"GitHub {api_url}: the token variable {token_env} is not set (or empty)")
        return cls(
            api_url,
            repository,
            token,
            timeout_s=timeout_s,
            per_page=per_page,
            max_pages=max_pages,
            token_env=token_env,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ----------------------------------------------------------------------

    def _endpoint(self, url: str) -> str:
        split = urlsplit(url)
        return f"GET {split.path}" + (f"?{split.query}" if split.query else "")

    def _get(self, url: str, feature: str | None = None) -> httpx.Response:
        endpoint = self._endpoint(url)
        try:
            response = self._client.get(url)
        except httpx.TimeoutException:
            raise GitHubError(
                f"GitHub {endpoint}: no answer within {self.timeout_s:g}s (timeout) from {self.api_url}"
            ) from None
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub {endpoint}: cannot reach {self.api_url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise GitHubError(f"GitHub {endpoint}: {self._status_problem(response, feature)}")
        return response

    def _status_problem(self, response: httpx.Response, feature: str | None = None) -> str:
        """What a status means; ``feature`` names a repository feature that may be switched off."""
        status = response.status_code
        try:
            body = response.json()
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
        except ValueError:
            message = ""
        said = f" ({message})" if message else ""
        headers = response.headers
        if status == 401:
            problem = f"401 Unauthorized{said}: the token in {self.token_env} was refused"
        elif status == 403 and headers.get("x-ratelimit-remaining") == "0":
            problem = f"403 rate limit exhausted{said}; it resets at {headers.get('x-ratelimit-reset', '?')}"
        elif status == 403:
            needed = headers.get("x-accepted-github-permissions")
            hint = f"; the endpoint needs {needed}" if needed else ""
            problem = f"403 Forbidden{said}: the token in {self.token_env} may not read this{hint}"
        elif status == 404:
            problem = f"404 Not Found{said}: no such repository or ref, or the token cannot see it"
        elif 300 <= status < 400:
            problem = f"{status} redirect to {headers.get('location', '?')}: the repository moved; update it"
        elif status >= 500:
            problem = f"{status} server error{said}; GitHub did not answer, so nothing is known"
        else:
            problem = f"{status}{said}"
        if feature and status in (403, 404) and headers.get("x-ratelimit-remaining") != "0":
            problem += f"; or {feature} may be disabled for {self.repository}"
        return problem

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            endpoint = self._endpoint(str(response.request.url))
            raise GitHubError(f"GitHub {endpoint}: the answer is not JSON") from None

    def _next_url(self, response: httpx.Response) -> str | None:
        link = response.links.get("next")
        if not link or not link.get("url"):
            return None
        url = str(link["url"])
        if _origin(url) != _origin(self.api_url):
            endpoint = self._endpoint(str(response.request.url))
            raise GitHubError(f"GitHub {endpoint}: the next page is on another host; not following it with the token")
        return url

    def _pages(self, path: str, params: dict[str, str], feature: str | None = None) -> Iterator[tuple[str, Any]]:
        """Each page's endpoint and JSON, following ``rel="next"`` links."""
        url: str | None = f"{self.api_url}{path}" + (f"?{urlencode(params)}" if params else "")
        seen: set[str] = set()
        while url is not None:
            if len(seen) >= self.max_pages:
                raise GitHubError(f"GitHub {self._endpoint(url)}: more than {self.max_pages} pages; giving up")
            if url in seen:
                raise GitHubError(f"GitHub {self._endpoint(url)}: the pages link back to an earlier page")
            seen.add(url)
            response = self._get(url, feature)
            yield self._endpoint(url), self._json(response)
            url = self._next_url(response)

    def _repo(self) -> str:
        return f"/repos/{self.repository}"

    @staticmethod
    def _shape(endpoint: str, exc: ValidationError) -> GitHubError:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return GitHubError(f"GitHub {endpoint}: unexpected answer: {where}: {first['msg']}")

    def _listed(
        self, path: str, params: dict[str, str], model: type[_ItemT], what: str, feature: str | None = None
    ) -> list[_ItemT]:
        """Every item of a paged list endpoint, each validated as ``model``."""
        found: list[_ItemT] = []
        for endpoint, page in self._pages(path, params, feature):
            if not isinstance(page, list):
                raise GitHubError(f"GitHub {endpoint}: unexpected answer: expected a list of {what}")
            try:
                found += [model.model_validate(item) for item in page]
            except ValidationError as exc:
                raise self._shape(endpoint, exc) from None
        return found

    # --- calls --------------------------------------------------------------------------

    def issues(self, labels: list[str], state: str = "open") -> list[Issue]:
        """Issues carrying every label in ``labels`` (GitHub's rule); pull requests left out."""
        params = {"labels": ",".join(labels), "state": state, "per_page": str(self.per_page)}
        items = self._listed(f"{self._repo()}/issues", params, Issue, "issues")
        return [issue for issue in items if issue.pull_request is None]

    def issue_comments(self, number: int) -> list[IssueComment]:
        """Every comment of issue ``number``, oldest first (GitHub's order)."""
        params = {"per_page": str(self.per_page)}
        return self._listed(f"{self._repo()}/issues/{number}/comments", params, IssueComment, "comments")

    def check_runs(self, ref: str) -> list[CheckRun]:
        """The latest check run of each name for the commit ``ref``."""
        params = {"filter": "latest", "per_page": str(self.per_page)}
        runs: list[CheckRun] = []
        total = None
        for endpoint, page in self._pages(f"{self._repo()}/commits/{ref}/check-runs", params):
            try:
                parsed = _CheckRunsPage.model_validate(page)
            except ValidationError as exc:
                raise self._shape(endpoint, exc) from None
            total = parsed.total_count
            runs += parsed.check_runs
        if total is not None and total != len(runs):
            raise GitHubError(
                f"GitHub GET {self._repo()}/commits/{ref}/check-runs: total_count says {total} "
                f"but the pages held {len(runs)}"
            )
        return runs

    def dependabot_alerts(self, state: str = "open", severities: list[str] | None = None) -> list[DependabotAlert]:
        params = {"state": state, "per_page": str(self.per_page)}
        if severities:
            params["severity"] = ",".join(severities)
        path = f"{self._repo()}/dependabot/alerts"
        return self._listed(path, params, DependabotAlert, "alerts", "Dependabot alerts")

    def secret_scanning_alerts(self, state: str | None = "open") -> list[SecretScanningAlert]:
        """Secret-scanning alerts in ``state`` (``open`` or ``resolved``; None: every state)."""
        params = {"per_page": str(self.per_page)}
        if state:
            params["state"] = state
        path = f"{self._repo()}/secret-scanning/alerts"
        return self._listed(path, params, SecretScanningAlert, "alerts", "secret scanning")

    def tag_commit(self, tag: str) -> TagCommit:
        """The commit a tag names on GitHub; an annotated tag is followed to its commit."""
        url = f"{self.api_url}{self._repo()}/git/ref/tags/{tag}"
        endpoint = self._endpoint(url)
        try:
            ref = GitRef.model_validate(self._json(self._get(url)))
        except ValidationError as exc:
            raise self._shape(endpoint, exc) from None
        obj, annotated = ref.object, False
        for _ in range(5):  # a tag of a tag: follow a few levels
            if obj.type == "commit":
                return TagCommit(ref.ref, obj.sha, annotated)
            if obj.type != "tag":
                raise GitHubError(f"GitHub {endpoint}: the tag names a {obj.type}, not a commit")
            annotated = True
            tag_url = f"{self.api_url}{self._repo()}/git/tags/{obj.sha}"
            try:
                obj = _GitTag.model_validate(self._json(self._get(tag_url))).object
            except ValidationError as exc:
                raise self._shape(self._endpoint(tag_url), exc) from None
        raise GitHubError(f"GitHub {endpoint}: the tag chain is too deep")

    def matching_tags(self, prefix: str) -> list[GitRef]:
        refs: list[GitRef] = []
        for endpoint, page in self._pages(f"{self._repo()}/git/matching-refs/tags/{prefix}", {}):
            if not isinstance(page, list):
                raise GitHubError(f"GitHub {endpoint}: unexpected answer: expected a list of refs")
            try:
                refs += [GitRef.model_validate(item) for item in page]
            except ValidationError as exc:
                raise self._shape(endpoint, exc) from None
        return refs
