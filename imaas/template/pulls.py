"""The pull requests the sync opens, behind a small interface: GitHub's REST API, or the tests' fake."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from imaas.template.git import TOKEN_VARIABLE
from imaas.template.versions import BRANCH as BASE_BRANCH

API = "https://api.github.com"


class PullRequestError(Exception):
    """The pull-request API refused or could not be reached; the message names the call, never the token."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    branch: str
    state: Literal["open", "closed", "merged"]
    head: str
    """The commit its head pointed at last."""


class PullRequests(Protocol):
    def of(self, repository: str, prefix: str) -> list[PullRequest]:
        """The pull requests into `dev` of `repository` whose head branch starts with `prefix`, newest first."""
        ...

    def open(self, repository: str, branch: str, title: str, body: str) -> PullRequest: ...

    def update(self, repository: str, number: int, title: str, body: str) -> None: ...


@dataclass(frozen=True)
class GitHubPullRequests:
    owner: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{API}/repos/{self.owner}/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {os.environ[TOKEN_VARIABLE]}",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise PullRequestError(f"{method} /repos/{self.owner}/{path}: {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise PullRequestError(f"{method} /repos/{self.owner}/{path}: {error.reason}") from None

    def of(self, repository: str, prefix: str) -> list[PullRequest]:
        # The newest hundred are enough: the sync keeps one open at a time, and a merge moves the record for good.
        query = f"state=all&base={BASE_BRANCH}&sort=created&direction=desc&per_page=100"
        found = self._call("GET", f"{repository}/pulls?{query}")
        return [
            PullRequest(
                item["number"],
                item["head"]["ref"],
                "merged" if item.get("merged_at") else item["state"],
                item["head"]["sha"],
            )
            for item in found
            if item["head"]["ref"].startswith(prefix)
            and (item["head"].get("repo") or {}).get("full_name") == f"{self.owner}/{repository}"
        ]

    def open(self, repository: str, branch: str, title: str, body: str) -> PullRequest:
        item = self._call(
            "POST", f"{repository}/pulls", {"title": title, "head": branch, "base": BASE_BRANCH, "body": body}
        )
        return PullRequest(item["number"], branch, "open", item["head"]["sha"])

    def update(self, repository: str, number: int, title: str, body: str) -> None:
        self._call("PATCH", f"{repository}/pulls/{number}", {"title": title, "body": body})
