"""The promotion gate: the commit status a service repository's test and prod branches require before a pull request
into them merges, posted as the platform's own GitHub App (the rulesets pin its id, so no workflow of the repository
can post it).

For a pull request from the branch below (dev into test, test into prod; for a service without test, dev into prod)
the status is green only when the pull request's head, the exact commit being promoted, has run in the environment
below for the soak time: its Argo CD Application there synced to that commit and healthy, the commit deployed for at
least the soak, and none of the service's own alerts (`imaas_tenant`, `imaas_environment`, `imaas_service`) firing
in that environment over the last soak (the `ALERTS` series of the tenants' and the platform's Prometheus, the only
senders of the platform's Alertmanager, up to their last evaluation, so the ones firing now too; Alertmanager itself
admits no reader: the platform's store proxies). Any other pull request into a gated branch is green only as a rollback:
it changes nothing but the environment's rollback block (`deploy/overlays/<env>/kustomization.yaml`, written by the
template's rollback workflow), which replaces the image the environment runs with one the branch already holds;
everything else needs a platform admin's bypass.

It runs as one Deployment on each cluster that hosts an environment promoted from, reads the Applications labelled
`imaas.io/promotes-to` in Argo CD's namespace, and posts a status only when its state or text changes (GitHub keeps
at most 1,000 statuses per commit and context). The standard library only, like every program of this layer: the
App's JWT is signed here (RS256, RSASSA-PKCS1-v1_5 over SHA-256, RFC 7518 section 3.3 and RFC 8017 section 8.2).

APIs: Argo CD's Application status (`status.sync.status/revision`, `status.health.status/lastTransitionTime`,
`status.history[].revision/deployedAt`, as the v1alpha1 CRD defines them); Prometheus' `/api/v1/query`; GitHub's
REST API 2022-11-28 (`/app/installations/{id}/access_tokens`, `/repos/{o}/{r}/pulls`, `/compare`, `/contents`,
`/statuses/{sha}`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROMOTES_TO_LABEL = "imaas.io/promotes-to"
TENANT_LABEL = "imaas.io/tenant"
ENVIRONMENT_LABEL = "imaas.io/environment"
SERVICE_LABEL = "imaas.io/service"
CONTEXT_PREFIX = "imaas/promotion-gate"
"""The status context of the gate into branch `<env>`: `imaas/promotion-gate/<env>`."""
BASE_KUSTOMIZATION = "deploy/base/kustomization.yaml"
ROLLBACK_BEGIN = "# imaas-rollback: begin"
ROLLBACK_END = "# imaas-rollback: end"
DESCRIPTION_LIMIT = 140
"""GitHub cuts a status description at 140 characters."""
SUCCESS, PENDING, FAILURE, ERROR = "success", "pending", "failure", "error"


# GitHub's search answers at most 1,000 results, 100 a page.
SEARCH_PAGES = 10


def repository_of(url: str) -> str:
    """`owner/name` of a GitHub clone URL in any form Argo CD reads: SSH (`git@github.com:o/r.git`, the platform's),
    `ssh://git@github.com/o/r` or HTTPS."""
    path = re.sub(r"^(?:https://|ssh://git@|git@)github\.com[:/]", "", url)
    return path.removesuffix("/").removesuffix(".git")


def context(environment: str) -> str:
    return f"{CONTEXT_PREFIX}/{environment}"


def overlay_kustomization(environment: str) -> str:
    return f"deploy/overlays/{environment}/kustomization.yaml"


@dataclass(frozen=True)
class Verdict:
    state: str
    description: str
    target_url: str | None = None

    def body(self, environment: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "state": self.state,
            "context": context(environment),
            "description": self.description[:DESCRIPTION_LIMIT],
        }
        if self.target_url:
            body["target_url"] = self.target_url
        return body


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as Kubernetes writes it (`2026-01-02T03:04:05Z`)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Deployment:
    """What one Application says of one commit in its environment."""

    sync_status: str
    sync_revision: str
    health_status: str
    health_since: datetime | None
    deployed_at: datetime | None
    """When the commit started to run there: the first deployment of the newest unbroken run of history entries
    with that revision; None when it was never deployed."""


def deployment_of(application: dict[str, Any], revision: str) -> Deployment:
    status = application.get("status") or {}
    sync = status.get("sync") or {}
    health = status.get("health") or {}
    deployed_at = None
    # History is oldest first: walk back from the newest while it holds the revision.
    for entry in reversed(status.get("history") or []):
        if entry.get("revision") != revision:
            break
        deployed_at = parse_time(entry.get("deployedAt")) or deployed_at
    return Deployment(
        sync_status=str(sync.get("status") or "Unknown"),
        sync_revision=str(sync.get("revision") or ""),
        health_status=str(health.get("status") or "Unknown"),
        health_since=parse_time(health.get("lastTransitionTime")),
        deployed_at=deployed_at,
    )


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)}m"


def soak_verdict(
    deployment: Deployment,
    head: str,
    environment: str,
    soak: timedelta,
    now: datetime,
    firing: list[str],
    target_url: str | None = None,
) -> Verdict:
    """Whether commit `head` has soaked in `environment`: synced and healthy there, running for `soak`, and none of
    the service's alerts (`firing`: the alerts that fired there over the last soak, or since the deployment if
    shorter) firing."""
    short = head[:7]

    def verdict(state: str, text: str) -> Verdict:
        return Verdict(state, text, target_url)

    if deployment.sync_revision != head:
        running = deployment.sync_revision[:7] or "nothing"
        return verdict(PENDING, f"{environment} runs {running}, not {short}: promote the branch {environment} runs")
    if deployment.sync_status != "Synced":
        return verdict(PENDING, f"{short} is {deployment.sync_status} in {environment}: waiting for Argo CD to sync it")
    if deployment.health_status == "Degraded":
        return verdict(FAILURE, f"{short} is Degraded in {environment}")
    if deployment.health_status != "Healthy":
        return verdict(PENDING, f"{short} is {deployment.health_status} in {environment}, not Healthy")
    if deployment.deployed_at is None:
        return verdict(PENDING, f"{short} has no deployment recorded in {environment} yet")
    if firing:
        return verdict(
            FAILURE,
            f"{', '.join(sorted(set(firing)))} fired in {environment} within the last {_minutes(soak)}: green after "
            f"a quiet soak",
        )
    started = max(filter(None, (deployment.deployed_at, deployment.health_since)))
    ready = started + soak
    if now < ready:
        return verdict(
            PENDING,
            f"soaking in {environment} since {started:%H:%M} UTC: green at {ready:%Y-%m-%d %H:%M} UTC if no alert "
            "fires",
        )
    return verdict(SUCCESS, f"{short} ran healthy in {environment} for {_minutes(soak)} with no alert")


def alert_window(deployment: Deployment, soak: timedelta, now: datetime) -> timedelta:
    """How far back the alerts count: the last soak, or the time since the commit was deployed if shorter."""
    if deployment.deployed_at is None:
        return soak
    return max(timedelta(seconds=60), min(soak, now - deployment.deployed_at))


# The image lines of a kustomization as the service template writes them.
_NEW_NAME = re.compile(r"^\s*newName:\s*(\S+)\s*$", re.MULTILINE)
_NEW_TAG = re.compile(r"^\s*newTag:\s*\"?([A-Za-z0-9_.{}-]+)\"?\s*$", re.MULTILINE)
_NAME = re.compile(r"^\s*-?\s*name:\s*(\S+)\s*$", re.MULTILINE)


def base_image(text: str) -> str | None:
    """`<newName>:<newTag>` of deploy/base/kustomization.yaml."""
    name, tag = _NEW_NAME.search(text), _NEW_TAG.search(text)
    return f"{name.group(1)}:{tag.group(1)}" if name and tag else None


def rollback_block(text: str) -> tuple[str, str] | None:
    """The rollback block of an overlay's kustomization: (the image it replaces, the image it runs instead)."""
    begin, end = text.find(ROLLBACK_BEGIN), text.find(ROLLBACK_END)
    if begin < 0 or end < begin:
        return None
    block = text[begin:end]
    name, tag = _NAME.search(block), _NEW_TAG.search(block)
    if not name or not tag or ":" not in name.group(1).rsplit("/", 1)[-1]:
        return None
    replaced = name.group(1)
    return replaced, f"{replaced.rsplit(':', 1)[0]}:{tag.group(1)}"


def _outside_block(text: str) -> str:
    begin, end = text.find(ROLLBACK_BEGIN), text.find(ROLLBACK_END)
    if begin < 0 or end < begin:
        return text
    return text[:begin] + text[end + len(ROLLBACK_END) :]


@dataclass(frozen=True)
class RollbackChange:
    """What the gate reads of a pull request that is not a promotion."""

    head: str
    changed_files: list[str]
    behind_base: int
    """Commits of the target branch the head lacks: a rollback is cut from the branch as it is."""
    overlay_before: str
    overlay_after: str
    base_after: str
    target_in_branch: bool | None
    """Whether the commit that built the image rolled back to is in the target branch's history (so it was promoted
    there through the gate); None when the image is no commit of the repository."""


def rollback_verdict(change: RollbackChange, environment: str, target_url: str | None = None) -> Verdict:
    """A rollback is green when it only points the environment back to an image its branch already holds."""

    def refuse(text: str) -> Verdict:
        return Verdict(FAILURE, f"not a promotion from the branch below nor a rollback: {text}", target_url)

    overlay = overlay_kustomization(environment)
    if change.changed_files != [overlay]:
        return refuse(f"changes {', '.join(change.changed_files[:3]) or 'nothing'}, not only {overlay}")
    if change.behind_base:
        return refuse(f"{change.behind_base} commit(s) of {environment} missing: cut it from {environment} again")
    if _outside_block(change.overlay_before).strip() != _outside_block(change.overlay_after).strip():
        return refuse(f"changes {overlay} outside its rollback block")
    block = rollback_block(change.overlay_after)
    if block is None:
        return refuse(f"{overlay} has no rollback block")
    replaced, runs = block
    if replaced != base_image(change.base_after):
        return refuse(f"the block replaces {replaced}, which {environment} does not run")
    if not change.target_in_branch:
        return refuse(f"{runs.rsplit(':', 1)[-1][:7]} was never promoted to {environment}")
    return Verdict(
        SUCCESS, f"rollback of {environment} to {runs.rsplit(':', 1)[-1][:12]}, promoted there before", target_url
    )


def dashboard_url(template: str | None, tenant: str, since: datetime | None) -> str | None:
    """The service's dashboard, from the soak's start when known (`{tenant}` and `{from}` in the template)."""
    if not template:
        return None
    start = "now-6h" if since is None else str(int(since.timestamp() * 1000))
    return template.replace("{tenant}", urllib.parse.quote(tenant)).replace("{from}", start)


# --- RS256 for the GitHub App's JWT, on the standard library ---------------------------------------------------


def _der(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """One DER element at `offset`: its tag, its content and the offset after it."""
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    return tag, data[offset : offset + length], offset + length


def _integers(sequence: bytes) -> list[int]:
    values, offset = [], 0
    while offset < len(sequence):
        tag, content, offset = _der(sequence, offset)
        if tag == 0x02:
            values.append(int.from_bytes(content, "big"))
    return values


def private_key(pem: str) -> tuple[int, int]:
    """(modulus, private exponent) of an RSA key in PEM: PKCS#1 (`RSA PRIVATE KEY`, as GitHub issues them) or
    PKCS#8 (`PRIVATE KEY`)."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    _, sequence, _ = _der(der, 0)
    if "BEGIN PRIVATE KEY" in pem:
        # PrivateKeyInfo: version, algorithm, then the PKCS#1 key as an OCTET STRING.
        offset = 0
        _, _, offset = _der(sequence, offset)
        _, _, offset = _der(sequence, offset)
        _, inner, _ = _der(sequence, offset)
        _, sequence, _ = _der(inner, 0)
    values = _integers(sequence)
    return values[1], values[3]


_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256(message: bytes, key: tuple[int, int]) -> bytes:
    modulus, exponent = key
    size = (modulus.bit_length() + 7) // 8
    digest = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
    return pow(int.from_bytes(encoded, "big"), exponent, modulus).to_bytes(size, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: int, key: tuple[int, int], now: float) -> str:
    """The App's JWT: issued a minute back (clock drift), valid nine minutes (GitHub allows ten)."""
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"iat": int(now) - 60, "exp": int(now) + 540, "iss": str(app_id)}).encode())
    signature = rs256(f"{header}.{claims}".encode(), key)
    return f"{header}.{claims}.{_b64url(signature)}"


# --- The services it talks to ------------------------------------------------------------------------------------


class GateError(Exception):
    pass


def _call(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            content = response.read()
    except urllib.error.HTTPError as err:
        raise GateError(f"{method} {urllib.parse.urlsplit(url).path}: HTTP {err.code}") from None
    except (urllib.error.URLError, TimeoutError) as err:
        raise GateError(f"{method} {urllib.parse.urlsplit(url).path}: {err}") from None
    return json.loads(content) if content else None


class GitHub:
    API = "https://api.github.com"

    def __init__(self, app_id: int, installation_id: int, key_pem: str) -> None:
        self.app_id, self.installation_id = app_id, installation_id
        self.key = private_key(key_pem)
        self.token, self.expires = "", 0.0

    def _headers(self, token: str, scheme: str = "token") -> dict[str, str]:
        return {
            "Authorization": f"{scheme} {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "imaas-promotion-gate",
        }

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if time.time() > self.expires - 300:
            jwt = app_jwt(self.app_id, self.key, time.time())
            answer = _call(
                f"{self.API}/app/installations/{self.installation_id}/access_tokens",
                "POST",
                {},
                self._headers(jwt, "Bearer"),
            )
            self.token = answer["token"]
            self.expires = parse_time(answer["expires_at"]).timestamp()  # type: ignore[union-attr]
        return _call(f"{self.API}{path}", method, body, self._headers(self.token))

    def file(self, repo: str, path: str, ref: str) -> str:
        answer = self.call("GET", f"/repos/{repo}/contents/{urllib.parse.quote(path)}?ref={ref}")
        return base64.b64decode(answer.get("content") or "").decode()


class Kubernetes:
    SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")

    def __init__(self) -> None:
        host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        self.url = f"https://{host}:{port}"
        self.context = ssl.create_default_context(cafile=str(self.SERVICE_ACCOUNT / "ca.crt"))

    def applications(self, namespace: str) -> list[dict[str, Any]]:
        token = (self.SERVICE_ACCOUNT / "token").read_text().strip()
        selector = urllib.parse.quote(PROMOTES_TO_LABEL)
        answer = _call(
            f"{self.url}/apis/argoproj.io/v1alpha1/namespaces/{namespace}/applications?labelSelector={selector}",
            headers={"Authorization": f"Bearer {token}"},
            context=self.context,
        )
        return list(answer.get("items") or [])


def _matchers(labels: dict[str, str]) -> str:
    return ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()))


def fired(prometheus: list[str], labels: dict[str, str], window: timedelta) -> list[str]:
    """The alerts of `labels` that fired over `window`, up to now (every Prometheus' ALERTS series)."""
    names: list[str] = []
    query = f'max_over_time(ALERTS{{alertstate="firing", {_matchers(labels)}}}[{int(window.total_seconds())}s])'
    for url in prometheus:
        answer = _call(f"{url}/api/v1/query?query={urllib.parse.quote(query)}")
        names += [item["metric"].get("alertname", "?") for item in answer["data"]["result"]]
    return names


# --- The loop ----------------------------------------------------------------------------------------------------


@dataclass
class Gate:
    config: dict[str, Any]
    github: GitHub
    kubernetes: Kubernetes
    posted: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)
    """(repository, commit, context) -> (state, description) last posted, so that nothing is posted twice."""

    def post(self, repo: str, head: str, environment: str, verdict: Verdict, log: list[str]) -> None:
        key, value = (repo, head, context(environment)), (verdict.state, verdict.description)
        if self.posted.get(key) == value:
            return
        self.github.call("POST", f"/repos/{repo}/statuses/{head}", verdict.body(environment))
        self.posted[key] = value
        log.append(f"{repo}@{head[:7]} {context(environment)}: {verdict.state}: {verdict.description}")

    def judge(self, application: dict[str, Any], pull: dict[str, Any], now: datetime) -> Verdict:
        labels = application["metadata"]["labels"]
        tenant, environment = labels[TENANT_LABEL], labels[ENVIRONMENT_LABEL]
        target = labels[PROMOTES_TO_LABEL]
        repo = pull["base"]["repo"]["full_name"]
        head = pull["head"]["sha"]
        deployment = deployment_of(application, head)
        url = dashboard_url(self.config.get("dashboardUrl"), tenant, deployment.deployed_at)
        if (
            pull["head"]["ref"] == application["spec"]["source"]["targetRevision"]
            and pull["head"]["repo"]
            and (pull["head"]["repo"]["full_name"] == repo)
        ):
            soak = timedelta(seconds=int(self.config["soakSeconds"][environment]))
            alert_labels = {
                "imaas_tenant": tenant,
                "imaas_environment": environment,
                "imaas_service": labels[SERVICE_LABEL],
            }
            firing = fired(self.config.get("prometheus", []), alert_labels, alert_window(deployment, soak, now))
            return soak_verdict(deployment, head, environment, soak, now, firing, url)
        base = pull["base"]["sha"]
        compare = self.github.call("GET", f"/repos/{repo}/compare/{base}...{head}")
        overlay = overlay_kustomization(target)
        after = self.github.file(repo, overlay, head)
        base_after = self.github.file(repo, BASE_KUSTOMIZATION, head)
        block = rollback_block(after)
        in_branch: bool | None = None
        if block is not None:
            built = block[1].rsplit(":", 1)[-1]
            try:
                back = self.github.call("GET", f"/repos/{repo}/compare/{built}...{base}")
                in_branch = back.get("status") in ("ahead", "identical")
            except GateError:
                in_branch = None
        change = RollbackChange(
            head=head,
            changed_files=[entry["filename"] for entry in compare.get("files") or []],
            behind_base=int(compare.get("behind_by") or 0),
            overlay_before=self.github.file(repo, overlay, base),
            overlay_after=after,
            base_after=base_after,
            target_in_branch=in_branch,
        )
        return rollback_verdict(change, target, url)

    def open_pulls(self, owner: str, target: str) -> dict[str, list[int]]:
        """The open pull requests into `target` across the organisation, their numbers by repository: one search per
        branch and round, however many services there are (a request per repository and round would pass GitHub's
        rate limit of an installation at a few hundred services)."""
        query = urllib.parse.quote(f"org:{owner} is:pr is:open base:{target}")
        found: dict[str, list[int]] = {}
        for page in range(1, SEARCH_PAGES + 1):
            answer = self.github.call("GET", f"/search/issues?q={query}&per_page=100&page={page}") or {}
            items = answer.get("items") or []
            for item in items:
                repo = str(item["repository_url"]).rsplit("/repos/", 1)[-1]
                found.setdefault(repo, []).append(int(item["number"]))
            if len(items) < 100:
                break
        return found

    def run_once(self, now: datetime) -> list[str]:
        log: list[str] = []
        searched: dict[tuple[str, str], dict[str, list[int]]] = {}
        for application in self.kubernetes.applications(self.config["argocdNamespace"]):
            target = application["metadata"]["labels"].get(PROMOTES_TO_LABEL)
            repo = repository_of(application["spec"]["source"]["repoURL"])
            owner = repo.split("/", 1)[0]
            try:
                if (owner, target) not in searched:
                    searched[(owner, target)] = {}  # a failed search is not retried for each service this round
                    searched[(owner, target)] = self.open_pulls(owner, target)
                numbers = searched[(owner, target)].get(repo, [])
                pulls = [self.github.call("GET", f"/repos/{repo}/pulls/{number}") for number in numbers]
                for pull in pulls:
                    try:
                        verdict = self.judge(application, pull, now)
                    except GateError as err:
                        verdict = Verdict(ERROR, f"the gate could not read what it needs: {err}")
                    self.post(repo, pull["head"]["sha"], target, verdict, log)
            except GateError as err:
                log.append(f"{repo}: {err}")
        return log


def main(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    config = json.loads(Path(env["GATE_CONFIG"]).read_text(encoding="utf-8"))
    app = config["githubApp"]
    key = Path(env["GATE_KEY_FILE"]).read_text(encoding="utf-8")
    gate = Gate(config, GitHub(int(app["appId"]), int(app["installationId"]), key), Kubernetes())
    while True:
        try:
            for line in gate.run_once(datetime.now(UTC)):
                print(line, flush=True)
        except GateError as err:
            print(f"promotion-gate: {err}", file=sys.stderr, flush=True)
        time.sleep(int(config.get("intervalSeconds", 60)))


if __name__ == "__main__":
    sys.exit(main())
