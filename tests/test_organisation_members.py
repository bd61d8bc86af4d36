"""Reading the GitHub organisation's members for `pulumi up`, against a fake API (no network)."""

from __future__ import annotations

import io
import json
import urllib.error
from typing import Any

import pytest

from imaas.inputs.github_members import MembersUnreadableError, read_organisation_members

pytestmark = pytest.mark.fast

API = "https://api.github.com"


class FakeResponse(io.BytesIO):
    def __init__(self, body: object, link: str = "") -> None:
        super().__init__(json.dumps(body).encode())
        self.headers = {"Link": link} if link else {}


def fake_api(pages: dict[str, FakeResponse], seen: list[Any]) -> Any:
    def opener(request: Any, timeout: float) -> FakeResponse:
        seen.append(request)
        if request.full_url not in pages:
            raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)  # type: ignore[arg-type]
        return pages[request.full_url]

    return opener


def test_every_page_of_members_is_read_with_the_token() -> None:
    first = f"{API}/orgs/example-org/members?per_page=100"
    second = f"{API}/organizations/1/members?per_page=100&page=2"
    pages = {
        first: FakeResponse([{"login": "Alice"}, {"login": "bob"}], f'<{second}>; rel="next", <{second}>; rel="last"'),
        second: FakeResponse([{"login": "carol"}]),
    }
    seen: list[Any] = []
    assert read_organisation_members("example-org", "t0ken", None, fake_api(pages, seen)) == {"alice", "bob", "carol"}
    assert [request.full_url for request in seen] == [first, second]
    assert all(request.get_header("Authorization") == "Bearer t0ken" for request in seen)


def test_an_unreadable_list_stops_the_deploy_with_what_to_do() -> None:
    with pytest.raises(MembersUnreadableError, match=r"\(HTTP 404\): the deploy's token needs read:org"):
        read_organisation_members("example-org", "t0ken", "https://ghe.example.com/api/v3/", fake_api({}, []))
    with pytest.raises(MembersUnreadableError, match="no GitHub token"):
        read_organisation_members("example-org", None, None, fake_api({}, []))


def test_the_token_is_never_sent_to_a_next_page_elsewhere() -> None:
    first = f"{API}/orgs/example-org/members?per_page=100"
    pages = {first: FakeResponse([{"login": "alice"}], '<https://evil.example/steal>; rel="next"')}
    seen: list[Any] = []
    with pytest.raises(MembersUnreadableError, match="elsewhere"):
        read_organisation_members("example-org", "t0ken", None, fake_api(pages, seen))
    assert len(seen) == 1
