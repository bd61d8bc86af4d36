"""Keeps Grafana's tenant organisations as the platform declares them: creates the missing organisations, data sources
and dashboards, updates those that differ, and removes the data sources and dashboards it owns (uid prefix
`imaas-`) that are no longer declared. It never touches the main organisation, never deletes an organisation (a
tenant's own dashboards live in it), and leaves whatever it does not own alone. Running it twice changes nothing.
One organisation it cannot apply (Grafana refuses it, or its state is malformed) is reported and the others are
still applied.

It runs inside the cluster, driven by the tenant-configuration job (imaas/incluster/tenant_config.py), from a plain
Python image: the standard library only. Grafana's HTTP API as of Grafana 13 (pkg/api/api.go): `/api/orgs`,
`/api/orgs/:orgId/users`, `/api/datasources` and `/api/datasources/uid/:uid`, `/api/search`, `/api/dashboards/db` and
`/api/dashboards/uid/:uid`, acting in an organisation with the `X-Grafana-Org-Id` header, and the SSO settings of
`/api/v1/sso-settings/:key` (pkg/services/ssosettings/api/api.go). The admin account is the chart's, whose password
comes from its Secret through the environment."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

MAIN_ORG_ID = 1
MANAGED_PREFIX = "imaas-"
DIGEST_KEY = "imaasDigest"
"""Kept in a data source's jsonData: secure settings cannot be read back, so what was applied is known by digest."""
# Fields Grafana sets on a saved dashboard itself.
DASHBOARD_SERVER_FIELDS = ("id", "version")


class GrafanaError(Exception):
    pass


class Grafana:
    """Grafana's HTTP API as one account, optionally inside one organisation."""

    def __init__(self, url: str, user: str, password: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.user = user
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.timeout = timeout
        self.writes = 0

    def call(self, method: str, path: str, body: Any = None, org: int | None = None) -> Any:
        """The decoded answer, or None for a 404."""
        headers = dict(self.headers)
        if org is not None:
            headers["X-Grafana-Org-Id"] = str(org)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        if method != "GET":
            self.writes += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise GrafanaError(f"{method} {path}: HTTP {err.code}") from None
        except urllib.error.URLError as err:
            raise GrafanaError(f"{method} {path}: {err.reason}") from None
        return json.loads(content) if content else None


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _owned(uid: str | None) -> bool:
    return bool(uid) and str(uid).startswith(MANAGED_PREFIX)


CREDENTIAL_PREFIX = "$IMAAS_"
"""A secure setting whose value is `$IMAAS_<NAME>` names the environment variable holding it (a store's reader
password, from a Secret the job's pod mounts): the desired state, a ConfigMap, holds no credential."""


def with_credentials(source: dict[str, Any], environ: dict[str, str] | os._Environ[str]) -> dict[str, Any]:
    """`source` with each secure setting that names a variable replaced by the variable's value."""
    secure = dict(source.get("secureJsonData") or {})
    for key, value in secure.items():
        if isinstance(value, str) and value.startswith(CREDENTIAL_PREFIX):
            name = value[1:]
            if not environ.get(name):
                raise GrafanaError(f"data source {source.get('uid')}: {name} is not set")
            secure[key] = environ[name]
    return {**source, "secureJsonData": secure} if secure else source


def sync_datasources(
    grafana: Grafana,
    org: int,
    desired: list[dict[str, Any]],
    log: list[str],
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> None:
    existing = {source.get("uid"): source for source in grafana.call("GET", "/api/datasources", org=org) or []}
    for source in desired:
        uid = source["uid"]
        # The digest covers the credential too, so a new key is written at the next run; it is a SHA-256 over a
        # 256-bit random password, which tells nothing of it.
        source = with_credentials(source, os.environ if environ is None else environ)
        want = digest(source)
        body = {**source, "jsonData": {**source.get("jsonData", {}), DIGEST_KEY: want}}
        current = existing.get(uid)
        if current is None:
            grafana.call("POST", "/api/datasources", body, org=org)
            log.append(f"org {org}: created data source {uid}")
        elif (current.get("jsonData") or {}).get(DIGEST_KEY) != want:
            grafana.call("PUT", f"/api/datasources/uid/{urllib.parse.quote(uid)}", body, org=org)
            log.append(f"org {org}: updated data source {uid}")
    wanted = {source["uid"] for source in desired}
    for uid in sorted(uid for uid in existing if _owned(uid) and uid not in wanted):
        grafana.call("DELETE", f"/api/datasources/uid/{urllib.parse.quote(uid)}", org=org)
        log.append(f"org {org}: removed data source {uid}")


def _content(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in dashboard.items() if key not in DASHBOARD_SERVER_FIELDS}


def sync_dashboards(grafana: Grafana, org: int, desired: list[dict[str, Any]], log: list[str]) -> None:
    for dashboard in desired:
        uid = dashboard["uid"]
        current = grafana.call("GET", f"/api/dashboards/uid/{urllib.parse.quote(uid)}", org=org)
        # Compared whole, so a hand edit of a platform dashboard is put back as well.
        if current is None or _content(current.get("dashboard") or {}) != _content(dashboard):
            body = {"dashboard": {**_content(dashboard), "id": None}, "overwrite": True, "message": "imaas"}
            grafana.call("POST", "/api/dashboards/db", body, org=org)
            log.append(f"org {org}: {'created' if current is None else 'updated'} dashboard {uid}")
    wanted = {dashboard["uid"] for dashboard in desired}
    found = grafana.call("GET", "/api/search?type=dash-db&limit=5000", org=org) or []
    for uid in sorted({hit.get("uid") for hit in found} - wanted):
        if _owned(uid):
            grafana.call("DELETE", f"/api/dashboards/uid/{urllib.parse.quote(uid)}", org=org)
            log.append(f"org {org}: removed dashboard {uid}")


def join(grafana: Grafana, org: int, log: list[str]) -> None:
    """Makes the job's account an Admin of an organisation it did not create (one made by hand, or restored)."""
    members = grafana.call("GET", f"/api/orgs/{org}/users") or []
    if not any(member.get("login") == grafana.user and member.get("role") == "Admin" for member in members):
        if any(member.get("login") == grafana.user for member in members):
            user_id = next(member["userId"] for member in members if member.get("login") == grafana.user)
            grafana.call("PATCH", f"/api/orgs/{org}/users/{user_id}", {"role": "Admin"})
        else:
            grafana.call("POST", f"/api/orgs/{org}/users", {"loginOrEmail": grafana.user, "role": "Admin"})
        log.append(f"org {org}: joined as Admin")


@dataclass
class Report:
    """What a run did, and what it could not do (one line per organisation it left as it was)."""

    log: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


# What a malformed desired state makes the code below raise, besides Grafana's own refusals.
_STATE_ERRORS = (GrafanaError, KeyError, TypeError, ValueError, AttributeError)


def _apply(
    grafana: Grafana,
    orgs: dict[str, int],
    state: dict[str, Any],
    log: list[str],
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> None:
    name = state["name"]
    org = orgs.get(name)
    if org is None:
        # Grafana makes the account that creates an organisation its Admin, which the calls below need.
        org = grafana.call("POST", "/api/orgs", {"name": name})["orgId"]
        orgs[name] = org
        log.append(f"created organisation {name} ({org})")
    elif org == MAIN_ORG_ID:
        raise GrafanaError(f"organisation {name} is the main organisation")
    else:
        join(grafana, org, log)
    sync_datasources(grafana, org, state.get("datasources", []), log, environ)
    sync_dashboards(grafana, org, state.get("dashboards", []), log)


def reconcile(
    grafana: Grafana,
    desired: list[dict[str, Any]],
    keep: frozenset[str] = frozenset(),
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> Report:
    """Brings every organisation but the main one to `desired` (one entry per tenant organisation), leaving those
    named in `keep` as they are (a tenant whose configuration could not be read this time). An organisation that
    fails is reported in the result and the next one is applied; only a Grafana that cannot even list its
    organisations stops the run (GrafanaError). `environ` holds the stores' reader passwords the data sources name
    (with_credentials); the process's environment when None."""
    report = Report()
    orgs = {org["name"]: org["id"] for org in grafana.call("GET", "/api/orgs?perpage=5000") or []}
    for state in sorted(desired, key=lambda state: str(state.get("name"))):
        try:
            _apply(grafana, orgs, state, report.log, environ)
        except _STATE_ERRORS as err:
            report.failures.append(f"organisation {state.get('name')!r}: {err}")
    declared = {state.get("name") for state in desired}
    # An organisation no longer declared (a decommissioned tenant) keeps what its users made, and loses what the
    # platform gave it: its data sources, so nothing of the tenant's data stays readable through it.
    for name, org in sorted(orgs.items()):
        if org != MAIN_ORG_ID and name not in declared and name not in keep:
            try:
                sync_datasources(grafana, org, [], report.log)
                sync_dashboards(grafana, org, [], report.log)
            except GrafanaError as err:
                report.failures.append(f"organisation {name!r} (no longer declared): {err}")
    return report


SSO_PROVIDER = "generic_oauth"


def as_list(value: Any) -> list[str]:
    """A list setting as Grafana may return it: a list, a JSON list in a string, or words (pkg/util SplitString)."""
    if isinstance(value, list):
        return [str(item) for item in value]
    text = str(value or "").strip()
    if text.startswith("["):
        try:
            return [str(item) for item in json.loads(text)]
        except ValueError:
            pass
    return text.replace(",", " ").split()


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return sorted(as_list(current)) == sorted(wanted)
    return bool(current == wanted)


def sync_sso(grafana: Grafana, desired: dict[str, Any], log: list[str]) -> None:
    """Writes the generic OAuth provider's settings through Grafana's SSO settings API when any differs. What the
    API stores overrides grafana.ini and the environment (ssosettingsimpl mergeSettings); the client secret is not
    sent, so Grafana keeps taking it from its environment (the platform's Secret), and the job never holds it."""
    path = f"/api/v1/sso-settings/{SSO_PROVIDER}"
    current = (grafana.call("GET", path) or {}).get("settings") or {}
    changed = sorted(key for key, value in desired.items() if not _same(current.get(key), value))
    if changed:
        grafana.call("PUT", path, {"settings": desired})
        log.append(f"updated sign-in settings ({SSO_PROVIDER}): {', '.join(changed)}")
