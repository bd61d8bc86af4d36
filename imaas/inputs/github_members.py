"""The GitHub organisation's members, read from GitHub's REST API: what `pulumi up` checks tenant logins against
where the stack does not list them itself (imaas:githubMembers), so that the deploy never invites anyone."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

DEFAULT_API_URL = "https://api.github.com/"
# The `next` page of a paginated list (RFC 8288 Link header, as GitHub sends it).
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
# A bound on pages: 100 members each, so an organisation of up to 100,000 members.
MAX_PAGES = 1000

Opener = Callable[..., Any]


class MembersUnreadableError(Exception):
    """The organisation's members could not be read: the deploy stops rather than invite anyone unchecked."""


def read_organisation_members(
    owner: str, token: str | None, api_url: str | None = None, opener: Opener = urllib.request.urlopen
) -> frozenset[str]:
    """Every member's login (lower case) of organisation `owner`, all pages of `GET /orgs/{owner}/members`.

    The token must see private memberships too: a classic token with read:org, or a GitHub App or fine-grained
    token with the organisation permission Members: read (the GitHub provider's own token has more)."""
    if not token:
        raise MembersUnreadableError(
            f"cannot check that the tenants' logins are members of '{owner}': no GitHub token (github:token or "
            "GITHUB_TOKEN); set imaas:githubMembers, or give the deploy a token that reads the organisation's members"
        )
    base = (api_url or DEFAULT_API_URL).rstrip("/")
    url: str | None = f"{base}/orgs/{quote(owner, safe='')}/members?per_page=100"
    logins: set[str] = set()
    for _ in range(MAX_PAGES):
        if url is None:
            return frozenset(logins)
        request = urllib.request.Request(
            url,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "User-Agent": "imaas",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with opener(request, timeout=30) as response:
                page = json.loads(response.read())
                link = response.headers.get("Link") or ""
        except urllib.error.HTTPError as error:
            raise MembersUnreadableError(
                f"cannot read the members of GitHub organisation '{owner}' (HTTP {error.code}): the deploy's token "
                "needs read:org (or Members: read); or set imaas:githubMembers"
            ) from None
        except (OSError, ValueError) as error:
            raise MembersUnreadableError(f"cannot read the members of GitHub organisation '{owner}': {error}") from None
        if not isinstance(page, list):
            raise MembersUnreadableError(f"GitHub's list of the members of '{owner}' is not a list")
        for member in page:
            login = member.get("login") if isinstance(member, dict) else None
            if isinstance(login, str):
                logins.add(login.lower())
        found = _NEXT.search(link)
        url = found.group(1) if found else None
        if url is not None and not url.startswith(f"{base}/"):
            # The token goes only where it was meant to.
            raise MembersUnreadableError(f"GitHub's next page of the members of '{owner}' is elsewhere: {url}")
    raise MembersUnreadableError(f"the members of GitHub organisation '{owner}' run past {MAX_PAGES} pages")
