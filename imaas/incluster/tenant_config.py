"""The tenant-configuration reconciler: merges every tenant's own configuration object into what the shared stores
and Grafana read at run time, so that the shared Helm releases never name a tenant.

Each tenant's component declares one ConfigMap in the observability namespace (`imaas-tenant-<tenant>`, labelled
`imaas.io/tenant-config: "true"`) holding its Loki limits, its Tempo overrides, the environments its traces come
from and its Grafana organisation (the groups of each role, its data sources and dashboards). This program, run by a
CronJob with its own ServiceAccount (it may list ConfigMaps of that namespace and write three of them, nothing
else), reads them through the Kubernetes API and writes:

- Loki's runtime configuration (`runtime_config.file`, reloaded every `runtime_config.period`, 10s by default);
- Tempo's per-tenant overrides file (`overrides.per_tenant_override_config`, reloaded every
  `per_tenant_override_period`), outside Tempo's checksummed ConfigMap, so a change restarts nothing;
- the collector's per-tenant routes (an exporter with the tenant's X-Scope-OrgID, a pipeline and a routing-table
  entry each), a second `--config` file the collector merges over its own; its reload sidecar
  (imaas/incluster/collector_reload.py) signals the collector when the file changes;
- Grafana's organisations (imaas/incluster/grafana_sync.py) and its sign-in settings through the SSO settings API
  (`orgMapping` and `allowedGroups` with the platform's own provider settings), instead of Helm values.

Nothing a configuration object says reaches beyond its own tenant: its tenant is the one of its label, which must be
a tenant name, agree with the object's name and with the tenant its data names; only objects the platform created
(`app.kubernetes.io/managed-by: pulumi`) count (tenants cannot write the observability namespace anyway); its
environments must be the cluster's, and its traces' namespaces are derived from them as `<tenant>-<environment>`,
never read from it; every limit is checked key by key. An object that fails any check is reported and changes
nothing of its tenant: what the stores and Grafana had for that tenant is kept. Every other tenant is applied.

Standard library only: the pod runs this file and grafana_sync.py as the plan's ConfigMap holds them."""

from __future__ import annotations

import contextlib
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imaas.incluster import grafana_sync

# The contract with the declarations (their tenant_config module writes these objects).
TENANT_CONFIG_LABEL = ("imaas.io/tenant-config", "true")
TENANT_LABEL = "imaas.io/tenant"
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "pulumi")
CONFIG_MAP_PREFIX = "imaas-tenant-"
CONFIG_KEY = "tenant.json"
ORG_KEY = "org.json"
# What it writes: ConfigMaps the platform declares once (empty) and each store mounts as a directory, never with a
# subPath, so that the kubelet refreshes the file in the running pods.
LOKI_CONFIG_MAP, LOKI_KEY = "imaas-loki-tenant-limits", "runtime-config.yaml"
TEMPO_CONFIG_MAP, TEMPO_KEY = "imaas-tempo-tenant-limits", "overrides.yaml"
COLLECTOR_CONFIG_MAP, COLLECTOR_KEY = "imaas-collector-routes", "routes.yaml"
OUTPUTS = (LOKI_CONFIG_MAP, TEMPO_CONFIG_MAP, COLLECTOR_CONFIG_MAP)

# The collector's names (the declarations' traces module builds the constant rest of its configuration with them).
INGEST_PIPELINE = "traces"
ROUTER = "routing"
TEMPO_TENANT_HEADER = "X-Scope-OrgID"
# The routing connector refuses an empty table (routingconnector config.go, errNoTableItems): with no tenant, one
# route that never matches, to a pipeline whose exporter never receives anything.
NO_TENANT = "none"

# A tenant name as the tenant file's schema has it (imaas/model/names.py): what a label must hold to be one.
TENANT_NAME = re.compile(r"^[a-z](-?[a-z0-9])+$")
TENANT_NAME_MAX = 20
DURATION = re.compile(r"^[0-9]+h$")
MAIN_ORG_ID = grafana_sync.MAIN_ORG_ID
EDITOR, VIEWER, ADMIN = "Editor", "Viewer", "Admin"
# A group name as the tenant model admits one (imaas/model/names.py GROUP_PATTERN, at most 128 characters; no `*`,
# which org_mapping reads as every organisation, no `\\`, its escape), and no control character.
GROUP = re.compile(r"^[^\s*\\\x00-\x1f](?:[^*\\\x00-\x1f]{0,126}[^\s*\\\x00-\x1f])?$")


class MalformedError(Exception):
    """A configuration object that fails a check: it is reported and skipped."""


def tenant_pipeline(tenant: str) -> str:
    return f"{INGEST_PIPELINE}/{tenant}"


def tenant_exporter(tenant: str) -> str:
    return f"otlp/{tenant}"


def config_map_name(tenant: str) -> str:
    return f"{CONFIG_MAP_PREFIX}{tenant}"


# Each limit block is checked against its template: exactly these keys, values of these kinds.
NUMBER = "number"
INTEGER = "integer"
LOG_LIMITS: dict[str, Any] = {
    "ingestion_rate_mb": NUMBER,
    "ingestion_burst_size_mb": NUMBER,
    "retention_period": DURATION,
}
TRACE_LIMITS: dict[str, Any] = {
    "ingestion": {
        "rate_strategy": re.compile(r"^local$"),
        "rate_limit_bytes": INTEGER,
        "burst_size_bytes": INTEGER,
        "max_traces_per_user": INTEGER,
    },
    "global": {"max_bytes_per_trace": INTEGER},
    "compaction": {"block_retention": DURATION},
}


def _checked(value: Any, template: Any, where: str) -> Any:
    if isinstance(template, dict):
        if not isinstance(value, dict) or set(value) != set(template):
            raise MalformedError(f"{where} must have exactly the keys {sorted(template)}")
        return {key: _checked(value[key], template[key], f"{where}.{key}") for key in sorted(template)}
    if template in (NUMBER, INTEGER):
        number = isinstance(value, int) if template == INTEGER else isinstance(value, (int, float))
        if isinstance(value, bool) or not number or float(value) < 0:
            raise MalformedError(f"{where} must be a non-negative {template}")
        return value
    if not isinstance(value, str) or not template.match(value):
        raise MalformedError(f"{where} must match {template.pattern}")
    return value


def _groups(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(g, str) and GROUP.match(g) for g in value):
        raise MalformedError(f"{where} must be a list of group names")
    return sorted(set(value))


@dataclass(frozen=True)
class TenantConfig:
    """One tenant's configuration, checked."""

    tenant: str
    environments: tuple[str, ...]
    logs: dict[str, Any]
    traces: dict[str, Any]
    editors: tuple[str, ...]
    viewers: tuple[str, ...]
    org: dict[str, Any] | None

    @property
    def namespaces(self) -> list[str]:
        return [f"{self.tenant}-{environment}" for environment in self.environments]


def tenant_of(config_map: dict[str, Any], namespace: str) -> str:
    """The tenant an object speaks for, from its label, once its identity holds together; MalformedError otherwise."""
    metadata = config_map.get("metadata") or {}
    labels = metadata.get("labels") or {}
    name = metadata.get("name")
    key, value = MANAGED_BY_LABEL
    if labels.get(key) != value:
        raise MalformedError("not created by the platform (no app.kubernetes.io/managed-by: pulumi)")
    if metadata.get("namespace") != namespace:
        raise MalformedError(f"outside the namespace {namespace}")
    tenant = labels.get(TENANT_LABEL)
    if not isinstance(tenant, str) or not TENANT_NAME.match(tenant) or len(tenant) > TENANT_NAME_MAX:
        raise MalformedError(f"its {TENANT_LABEL} label {tenant!r} is no tenant name")
    if name != config_map_name(tenant):
        raise MalformedError(f"its name is not {config_map_name(tenant)} for tenant {tenant}")
    return tenant


def parse(config_map: dict[str, Any], settings: dict[str, Any]) -> TenantConfig:
    """The checked configuration of one object, or MalformedError."""
    tenant = tenant_of(config_map, settings["namespace"])
    data = config_map.get("data") or {}
    try:
        body = json.loads(data.get(CONFIG_KEY, ""))
    except ValueError:
        raise MalformedError(f"{CONFIG_KEY} is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedError(f"{CONFIG_KEY} is not an object")
    if body.get("tenant") != tenant:
        raise MalformedError(f"{CONFIG_KEY} speaks for {body.get('tenant')!r}, not for its own tenant {tenant}")
    environments = body.get("environments")
    allowed = settings["environments"]
    if not isinstance(environments, list) or not environments or not set(environments) <= set(allowed):
        raise MalformedError(f"environments {environments!r} are not among the cluster's {allowed}")
    grafana = body.get("grafana")
    if not isinstance(grafana, dict) or set(grafana) != {"editors", "viewers"}:
        raise MalformedError("grafana must have exactly the keys ['editors', 'viewers']")
    org = None
    if ORG_KEY in data:
        try:
            org = json.loads(data[ORG_KEY])
        except ValueError:
            raise MalformedError(f"{ORG_KEY} is not JSON") from None
        if not isinstance(org, dict) or org.get("name") != tenant:
            raise MalformedError(f"{ORG_KEY} is not the organisation of tenant {tenant}")
        if not isinstance(org.get("datasources"), list) or not isinstance(org.get("dashboards"), list):
            raise MalformedError(f"{ORG_KEY} must list datasources and dashboards")
    return TenantConfig(
        tenant=tenant,
        environments=tuple(sorted(set(environments), key=allowed.index)),
        logs=_checked(body.get("logs"), LOG_LIMITS, "logs"),
        traces=_checked(body.get("traces"), TRACE_LIMITS, "traces"),
        editors=tuple(_groups(grafana["editors"], "grafana.editors")),
        viewers=tuple(_groups(grafana["viewers"], "grafana.viewers")),
        org=org,
    )


def loki_runtime_config(configs: list[TenantConfig]) -> dict[str, Any]:
    """Loki's runtime configuration: each tenant's limits (`limits_config` keys) under its tenant id."""
    return {"overrides": {config.tenant: config.logs for config in configs}}


def tempo_overrides(configs: list[TenantConfig]) -> dict[str, Any]:
    """Tempo's per-tenant overrides file (the new format), each tenant's every field."""
    return {"overrides": {config.tenant: config.traces for config in configs}}


def routing_condition(config: TenantConfig) -> str:
    """The OTTL condition (resource context) that holds for spans from the tenant's namespaces and no others."""
    return " or ".join(f'attributes["k8s.namespace.name"] == "{namespace}"' for namespace in config.namespaces)


def collector_routes(
    configs: list[TenantConfig],
    tempo_endpoint: str,
    held: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The part of the collector's configuration that depends on the tenants, merged over the rest by its second
    `--config`: per tenant an exporter writing with the tenant's id, a pipeline fed by the routing connector, and
    the routing table's entry. A batch from no tenant namespace matches no entry and is dropped. `held` are the
    routes of tenants whose object could not be read, as the file had them (held_routes). `headers` are what every
    exporter sends besides the tenant's id: the collector's credential at Tempo's proxy, as the settings name it
    (`${env:...}`, which the collector expands from its own environment), never a value."""
    tenants = [config.tenant for config in configs]
    exporters: dict[str, Any] = {
        tenant_exporter(tenant): {
            "endpoint": tempo_endpoint,
            "tls": {"insecure": True},
            "headers": {**(headers or {}), TEMPO_TENANT_HEADER: tenant},
        }
        for tenant in tenants
    }
    table = [
        {"context": "resource", "condition": routing_condition(config), "pipelines": [tenant_pipeline(config.tenant)]}
        for config in configs
    ]
    pipelines = {
        tenant_pipeline(tenant): {"receivers": [ROUTER], "exporters": [tenant_exporter(tenant)]} for tenant in tenants
    }
    if held:
        exporters |= held["exporters"]
        pipelines |= held["pipelines"]
        table = [*table, *held["table"]]
    table.sort(key=lambda route: str(route["pipelines"]))
    if not table:
        exporters = {f"debug/{NO_TENANT}": {"verbosity": "basic"}}
        table = [{"context": "resource", "condition": "false", "pipelines": [tenant_pipeline(NO_TENANT)]}]
        pipelines = {tenant_pipeline(NO_TENANT): {"receivers": [ROUTER], "exporters": [f"debug/{NO_TENANT}"]}}
    return {
        "exporters": exporters,
        "connectors": {ROUTER: {"table": table}},
        "service": {"pipelines": pipelines},
    }


def _escaped(group: str) -> str:
    # org_mapping splits each entry on unescaped colons (social/connectors/org_role_mapper.go, splitOrgMapping).
    return group.replace(":", "\\:")


def org_mapping(configs: list[TenantConfig], admin_groups: list[str]) -> list[str]:
    """Grafana's `orgMapping` entries, `<group>:<organisation>:<role>`: each tenant's groups into its own
    organisation only, the platform admins into the main one (by id). No wildcard, which would map into every one."""
    entries = [f"{_escaped(group)}:{MAIN_ORG_ID}:{ADMIN}" for group in admin_groups]
    for config in configs:
        entries += [f"{_escaped(group)}:{config.tenant}:{EDITOR}" for group in config.editors]
        entries += [f"{_escaped(group)}:{config.tenant}:{VIEWER}" for group in config.viewers]
    return entries


def sso_settings(configs: list[TenantConfig], settings: dict[str, Any]) -> dict[str, Any]:
    """The generic OAuth provider's settings as Grafana's SSO settings API takes them: the platform's own (constant)
    with the organisation mapping and the groups allowed to sign in."""
    admins = list(settings["adminGroups"])
    groups = [*admins, *(g for config in configs for g in (*config.editors, *config.viewers))]
    return {
        **settings["sso"],
        "orgMapping": org_mapping(configs, admins),
        "allowedGroups": sorted(set(groups)),
    }


# A ConfigMap holds at most 1 MiB of data: a file that grows with the tenants is refused by name, with room for the
# object's other fields, before the API server refuses it. The collector's routes, the largest, take about 480 bytes
# a tenant: some 2,000 tenants fit.
MAX_FILE_BYTES = 1_000_000


def render(value: Any) -> str:
    """A file for the stores: compact JSON, which is YAML too (Loki, Tempo and the collector read it as YAML); these
    files grow with the tenants, inside one ConfigMap each."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True) + "\n"


class KubernetesError(Exception):
    pass


class Kubernetes:
    """The few calls of the Kubernetes API this program makes, in one namespace, as its ServiceAccount."""

    def __init__(
        self, url: str, namespace: str, token: str | None = None, ca_file: str | None = None, timeout: float = 30
    ) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.timeout = timeout

    @classmethod
    def in_cluster(cls, namespace: str, environ: dict[str, str] | os._Environ[str]) -> Kubernetes:
        account = Path("/var/run/secrets/kubernetes.io/serviceaccount")
        host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "443")
        url = environ.get("KUBERNETES_URL") or f"https://{host}:{port}"
        token_file = Path(environ.get("KUBERNETES_TOKEN_FILE") or account / "token")
        token = token_file.read_text(encoding="utf-8").strip() if token_file.exists() else None
        ca_file = str(account / "ca.crt") if (account / "ca.crt").exists() else None
        return cls(url, namespace, token, ca_file)

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raise KubernetesError(f"{method} {path}: HTTP {err.code}") from None
        except urllib.error.URLError as err:
            raise KubernetesError(f"{method} {path}: {err.reason}") from None

    def _config_maps(self) -> str:
        return f"/api/v1/namespaces/{urllib.parse.quote(self.namespace)}/configmaps"

    def list_config_maps(self, selector: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"labelSelector": selector})
        return list((self._call("GET", f"{self._config_maps()}?{query}") or {}).get("items") or [])

    def get_config_map(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"{self._config_maps()}/{urllib.parse.quote(name)}") or {})

    def patch_config_map_data(self, name: str, data: dict[str, str]) -> None:
        path = f"{self._config_maps()}/{urllib.parse.quote(name)}"
        self._call("PATCH", path, {"data": data}, "application/merge-patch+json")


@dataclass
class Run:
    log: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _current(kube: Kubernetes, name: str, key: str) -> tuple[str, dict[str, Any]]:
    """A runtime file as it is now: its text, and its content (empty when it is not what this program writes)."""
    text = str((kube.get_config_map(name).get("data") or {}).get(key) or "")
    try:
        content = json.loads(text) if text else {}
    except ValueError:
        content = {}
    return text, content if isinstance(content, dict) else {}


def _section(content: Any, *keys: str) -> Any:
    for key in keys:
        content = content.get(key) if isinstance(content, dict) else None
    return content


def held_overrides(current: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    """The overrides a file has for tenants whose object could not be read this time."""
    overrides = _section(current, "overrides")
    return {tenant: limits for tenant, limits in (overrides or {}).items() if tenant in kept}


def held_routes(current: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    """The collector routes (exporter, pipeline, table entry) the file has for those tenants."""
    exporters = _section(current, "exporters") or {}
    pipelines = _section(current, "service", "pipelines") or {}
    table = _section(current, "connectors", ROUTER, "table") or []
    return {
        "exporters": {
            tenant_exporter(t): exporters[tenant_exporter(t)] for t in kept if tenant_exporter(t) in exporters
        },
        "pipelines": {
            tenant_pipeline(t): pipelines[tenant_pipeline(t)] for t in kept if tenant_pipeline(t) in pipelines
        },
        "table": [
            r for r in table if isinstance(r, dict) and r.get("pipelines") in [[tenant_pipeline(t)] for t in kept]
        ],
    }


def _write(kube: Kubernetes, name: str, key: str, current: str, wanted: dict[str, Any], run: Run) -> None:
    text = render(wanted)
    if len(text.encode()) > MAX_FILE_BYTES:
        run.failures.append(
            f"{name}/{key}: {len(text.encode())} bytes, more than a ConfigMap holds ({MAX_FILE_BYTES}): the cluster "
            "has more tenants than one file of this kind can route; it was left as it was"
        )
        return
    if current != text:
        kube.patch_config_map_data(name, {key: text})
        run.log.append(f"wrote {name}/{key}")


def reconcile_stores(
    kube: Kubernetes, configs: list[TenantConfig], kept: set[str], settings: dict[str, Any], run: Run
) -> None:
    """Writes the three runtime files. Each is written on its own: one the API refuses does not stop the others."""
    for name, key in (
        (LOKI_CONFIG_MAP, LOKI_KEY),
        (TEMPO_CONFIG_MAP, TEMPO_KEY),
        (COLLECTOR_CONFIG_MAP, COLLECTOR_KEY),
    ):
        try:
            text, current = _current(kube, name, key)
            if name == LOKI_CONFIG_MAP:
                wanted = loki_runtime_config(configs)
                wanted["overrides"] = {**held_overrides(current, kept), **wanted["overrides"]}
            elif name == TEMPO_CONFIG_MAP:
                wanted = tempo_overrides(configs)
                wanted["overrides"] = {**held_overrides(current, kept), **wanted["overrides"]}
            else:
                wanted = collector_routes(
                    configs,
                    settings["tempoOtlpEndpoint"],
                    held_routes(current, kept),
                    settings.get("tempoWriterHeaders"),
                )
            _write(kube, name, key, text, wanted, run)
        except KubernetesError as err:
            run.failures.append(f"{name}: {err}")


def reconcile_grafana(
    grafana: grafana_sync.Grafana,
    configs: list[TenantConfig],
    kept: set[str],
    settings: dict[str, Any],
    run: Run,
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> None:
    try:
        report = grafana_sync.reconcile(
            grafana, [config.org for config in configs if config.org is not None], frozenset(kept), environ
        )
    except grafana_sync.GrafanaError as err:
        run.failures.append(f"grafana: {err}")
        return
    run.log += report.log
    run.failures += report.failures
    if settings.get("sso") is None:
        return
    try:
        desired = sso_settings(configs, settings)
        if kept:
            # A tenant whose object could not be read keeps its sign-in mapping as Grafana has it.
            current = grafana.call("GET", f"/api/v1/sso-settings/{grafana_sync.SSO_PROVIDER}") or {}
            held = [
                entry.rsplit(":", 2)
                for entry in grafana_sync.as_list((current.get("settings") or {}).get("orgMapping"))
                if entry.count(":") >= 2 and entry.rsplit(":", 2)[1] in kept
            ]
            desired["orgMapping"] += [":".join(parts) for parts in held]
            groups = {group.replace("\\:", ":") for group, _, _ in held}
            desired["allowedGroups"] = sorted({*desired["allowedGroups"], *groups})
        grafana_sync.sync_sso(grafana, desired, run.log)
    except grafana_sync.GrafanaError as err:
        run.failures.append(f"sign-in settings: {err}")


def reconcile(
    kube: Kubernetes,
    grafana: grafana_sync.Grafana | None,
    settings: dict[str, Any],
    environ: dict[str, str] | os._Environ[str] | None = None,
) -> Run:
    """One pass: read every tenant's object, write the stores' files, then Grafana. A malformed object is reported
    and its tenant keeps what it had; a failure to list the objects stops the pass before anything is written.
    `environ` holds the stores' reader passwords the organisations' data sources name (the process's environment
    when None)."""
    run = Run()
    key, value = TENANT_CONFIG_LABEL
    try:
        objects = kube.list_config_maps(f"{key}={value}")
    except KubernetesError as err:
        run.failures.append(f"listing tenant configurations: {err}")
        return run
    configs: list[TenantConfig] = []
    kept: set[str] = set()
    for config_map in sorted(objects, key=lambda item: str((item.get("metadata") or {}).get("name"))):
        name = (config_map.get("metadata") or {}).get("name")
        try:
            configs.append(parse(config_map, settings))
        except MalformedError as err:
            run.failures.append(f"ConfigMap {name}: {err}; skipped")
            with contextlib.suppress(MalformedError):
                kept.add(tenant_of(config_map, settings["namespace"]))
    reconcile_stores(kube, configs, kept, settings, run)
    if grafana is not None:
        reconcile_grafana(grafana, configs, kept, settings, run, environ)
    return run


def main(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    settings = json.loads(Path(env["SETTINGS_FILE"]).read_text(encoding="utf-8"))
    kube = Kubernetes.in_cluster(settings["namespace"], env)
    grafana = None
    if env.get("GRAFANA_URL"):
        grafana = grafana_sync.Grafana(env["GRAFANA_URL"], env["GRAFANA_USER"], env["GRAFANA_PASSWORD"])
    run = reconcile(kube, grafana, settings, env)
    print("\n".join(run.log) or "tenant-config: nothing to change")
    for failure in run.failures:
        print(f"tenant-config: {failure}", file=sys.stderr)
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
