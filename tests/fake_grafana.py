"""An in-process stand-in for the part of Grafana's HTTP API the organisation job uses (Grafana 13, pkg/api/api.go):
organisations, data sources and dashboards per organisation chosen by `X-Grafana-Org-Id`, the generic OAuth
provider's SSO settings (pkg/services/ssosettings: PUT stores, GET merges what is stored over the system settings),
basic auth, 404 for what is missing and 409 for a duplicate, as Grafana answers. It records every request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from local_server import JsonHandler, serving

USER, PASSWORD = "admin", "not-a-real-password"


@dataclass
class Org:
    id: int
    name: str
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=lambda: {USER: "Admin"})
    """Login to role; Grafana makes whoever creates an organisation its Admin."""


@dataclass
class State:
    orgs: dict[int, Org] = field(default_factory=lambda: {1: Org(1, "Main Org.")})
    requests: list[tuple[str, str, int | None]] = field(default_factory=list)
    next_id: int = 2
    refused: set[str] = field(default_factory=set)
    """Organisation names whose creation this Grafana refuses (HTTP 500), to see the job go on with the others."""
    sso: dict[str, Any] = field(default_factory=dict)
    """The generic OAuth provider's settings the SSO settings API stored."""
    sso_system: dict[str, Any] = field(default_factory=lambda: {"clientSecret": "*********", "enabled": False})
    """What grafana.ini and the environment give (the GET merges the stored settings over it)."""

    def org_named(self, name: str) -> Org | None:
        return next((org for org in self.orgs.values() if org.name == name), None)

    def writes(self) -> list[tuple[str, str, int | None]]:
        return [request for request in self.requests if request[0] != "GET"]


def _handler(state: State) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def handle_request(self, method: str) -> None:
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            org_header = self.headers.get("X-Grafana-Org-Id")
            org_id = int(org_header) if org_header else None
            path = urlsplit(self.path).path
            state.requests.append((method, path, org_id))
            if self.headers.get("Authorization") != f"Basic {token}":
                return self.answer(401, {"message": "Unauthorized"})
            body = self.json_body()
            org = state.orgs.get(org_id or 1)
            if org is None or USER not in org.members:
                return self.answer(401, {"message": "not a member of that organisation"})
            parts = [unquote(part) for part in path.strip("/").split("/")]
            match (method, parts):
                case ("GET", ["api", "orgs"]):
                    return self.answer(200, [{"id": o.id, "name": o.name} for o in state.orgs.values()])
                case ("GET", ["api", "v1", "sso-settings", "generic_oauth"]):
                    # ssosettingsimpl GetForProviderWithRedactedSecrets: the database's over the system's.
                    merged = {**state.sso_system, **state.sso}
                    return self.answer(200, {"provider": "generic_oauth", "settings": merged})
                case ("PUT", ["api", "v1", "sso-settings", "generic_oauth"]):
                    settings = body["settings"]
                    # generic_oauth Validate: a client id, auth and token URLs (validateInfo, UrlValidator).
                    if not settings.get("clientId") or not str(settings.get("authUrl", "")).startswith("http"):
                        return self.answer(400, {"message": "invalid settings"})
                    state.sso = dict(settings)
                    return self.answer(204)
                case ("POST", ["api", "orgs"]):
                    if body["name"] in state.refused:
                        return self.answer(500, {"message": "Failed to create organization"})
                    if state.org_named(body["name"]):
                        return self.answer(409, {"message": "Organization name taken"})
                    new = Org(state.next_id, body["name"])
                    state.orgs[new.id], state.next_id = new, state.next_id + 1
                    return self.answer(200, {"orgId": new.id, "message": "Organization created"})
                case ("GET", ["api", "orgs", org_ref, "users"]):
                    members = state.orgs[int(org_ref)].members
                    return self.answer(200, [{"login": k, "role": v, "userId": 1} for k, v in members.items()])
                case ("POST", ["api", "orgs", org_ref, "users"]):
                    state.orgs[int(org_ref)].members[body["loginOrEmail"]] = body["role"]
                    return self.answer(200, {"message": "User added to organization"})
                case ("PATCH", ["api", "orgs", org_ref, "users", _]):
                    state.orgs[int(org_ref)].members[USER] = body["role"]
                    return self.answer(200, {"message": "Organization user updated"})
                case ("GET", ["api", "datasources"]):
                    listed = [{k: v for k, v in s.items() if k != "secureJsonData"} for s in org.datasources.values()]
                    return self.answer(200, listed)
                case ("POST", ["api", "datasources"]):
                    if body["uid"] in org.datasources:
                        return self.answer(409, {"message": "data source with the same uid already exists"})
                    org.datasources[body["uid"]] = body
                    return self.answer(200, {"message": "Datasource added"})
                case ("PUT" | "DELETE", ["api", "datasources", "uid", uid]):
                    if uid not in org.datasources:
                        return self.answer(404, {"message": "Data source not found"})
                    if method == "PUT":
                        org.datasources[uid] = body
                    else:
                        del org.datasources[uid]
                    return self.answer(200, {"message": "ok"})
                case ("GET", ["api", "search"]):
                    return self.answer(200, [{"uid": uid, "type": "dash-db"} for uid in org.dashboards])
                case ("POST", ["api", "dashboards", "db"]):
                    dashboard = dict(body["dashboard"])
                    previous = org.dashboards.get(dashboard["uid"])
                    if previous and not body.get("overwrite"):
                        return self.answer(412, {"message": "version-mismatch"})
                    dashboard["id"] = len(org.dashboards) + 1
                    dashboard["version"] = (previous or {}).get("version", 0) + 1
                    org.dashboards[dashboard["uid"]] = dashboard
                    return self.answer(200, {"status": "success", "uid": dashboard["uid"]})
                case ("GET" | "DELETE", ["api", "dashboards", "uid", uid]):
                    if uid not in org.dashboards:
                        return self.answer(404, {"message": "Dashboard not found"})
                    if method == "DELETE":
                        del org.dashboards[uid]
                        return self.answer(200, {"message": "deleted"})
                    return self.answer(200, {"dashboard": org.dashboards[uid], "meta": {}})
            return self.answer(404, {"message": "Not found"})

    return Handler


@contextmanager
def fake_grafana(state: State | None = None) -> Iterator[tuple[str, State]]:
    """A running fake on a local port: its URL and its state."""
    state = state or State()
    with serving(_handler(state)) as url:
        yield url, state
