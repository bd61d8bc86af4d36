"""Guardrails on what a tenant's identity reaches through Grafana (DESIGN section 6, observability per tenant at
read time): every tenant organisation's data sources read that tenant's own logs, metrics and traces only and its
dashboards read those data sources only; sign-in maps each group into its own tenant's organisation, never as
Admin, and nothing lets anyone else in; the platform's data sources are in the main organisation only; metric
queries of tenant organisations go through the proxy that scopes them, which only Grafana reaches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from imaas.declarations import grafana, naming, tenant_config, types
from imaas.declarations.charts import KUBE_PROMETHEUS_STACK
from imaas.declarations.grafana import MAIN_ORG_ID
from imaas.declarations.store_clients import reader_basic_auth
from imaas.declarations.telemetry import LOKI_TENANT_HEADER, Endpoints
from imaas.guardrails.framework import Context, Index, Resource
from imaas.model.tenant import Tenant

# The secure header settings (httpHeaderName<N>) a data source may carry: one, the scoping header.
_SCOPING = {"loki": LOKI_TENANT_HEADER, "tempo": LOKI_TENANT_HEADER, "prometheus": grafana.METRICS_PROXY_HEADER}
_FORBIDDEN_DATASOURCE_KEYS = ("basicAuth", "withCredentials", "user", "database")
_FORBIDDEN_PROXY_FLAGS = ("-query-param", "-label-value", "-unsafe-passthrough-paths", "-regex-match")


def _stack_release(index: Index, context: Context) -> Resource | None:
    namespace = context.settings.observability.namespace
    return next(
        (
            r
            for r in index(types.HELM_RELEASE)
            if r.inputs.get("name") == KUBE_PROMETHEUS_STACK.release and r.inputs.get("namespace") == namespace
        ),
        None,
    )


def _urls(endpoints: Endpoints) -> dict[str, str]:
    return {
        "loki": endpoints.loki_url,
        "tempo": endpoints.tempo_query,
        "prometheus": grafana.metrics_proxy_url(endpoints.namespace),
    }


def _datasource_problems(source: dict[str, Any], tenant: Tenant, context: Context) -> Iterator[str]:
    uid, kind = source.get("uid"), source.get("type")
    endpoints = Endpoints(context.settings.observability.namespace)
    if kind not in _SCOPING:
        yield f"data source {uid} is a {kind!r}, which the platform does not scope to a tenant"
        return
    if source.get("url") != _urls(endpoints)[kind]:
        yield f"data source {uid} reads {source.get('url')!r}, not the scoped {_urls(endpoints)[kind]}"
    json_data, secure = source.get("jsonData") or {}, source.get("secureJsonData") or {}
    headers = {key: value for key, value in json_data.items() if key.startswith("httpHeaderName")}
    if headers != {"httpHeaderName1": _SCOPING[kind]}:
        yield f"data source {uid} sends headers {headers}, not exactly {_SCOPING[kind]}"
    # Loki and Tempo need the platform's reader credential (imaas/declarations/store_auth.py), exactly as the platform
    # writes it: Grafana's reader name, and its password named by the variable the job fills in, never a value.
    reader = reader_basic_auth(kind) if kind in ("loki", "tempo") else None
    expected = {"httpHeaderValue1", *(reader["secureJsonData"] if reader else ())}
    if set(secure) != expected:
        yield f"data source {uid} has secure settings {sorted(secure)}, not exactly {sorted(expected)}"
    if reader is not None:
        given = {key: source.get(key) for key in ("basicAuth", "basicAuthUser")}
        given["basicAuthPassword"] = secure.get("basicAuthPassword")
        wanted = {key: reader[key] for key in ("basicAuth", "basicAuthUser")}
        wanted["basicAuthPassword"] = reader["secureJsonData"]["basicAuthPassword"]
        if given != wanted:
            yield f"data source {uid} carries a credential other than the platform's reader's"
    forbidden = [key for key in _FORBIDDEN_DATASOURCE_KEYS if source.get(key) and not (reader and key == "basicAuth")]
    if forbidden or json_data.get("customQueryParameters"):
        yield f"data source {uid} carries credentials or query parameters of its own"
    value = str(secure.get("httpHeaderValue1", ""))
    if kind == "prometheus":
        own = context.tenant_namespaces(tenant)
        values = [part.strip() for part in value.split(",")]
        foreign = sorted(set(values) - own)
        if foreign or not value:
            yield f"data source {uid} reads namespaces {foreign or values} that are not tenant {tenant.name}'s"
    elif value != tenant.name:
        yield f"data source {uid} reads the {value!r} tenant, not {tenant.name!r}"


def _referenced_uids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        source = value.get("datasource")
        if isinstance(source, dict) and "uid" in source:
            yield str(source["uid"])
        elif isinstance(source, str):
            yield source
        for item in value.values():
            yield from _referenced_uids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _referenced_uids(item)


def _org_state_problems(resource: Resource, context: Context) -> Iterator[str]:
    tenant = context.tenants.get(resource.labels.get(naming.TENANT_LABEL, ""))
    if tenant is None:
        yield "a Grafana organisation of no known tenant"
        return
    if resource.namespace != context.settings.observability.namespace:
        yield f"outside the observability namespace, where tenants may write: {resource.namespace}"
    data = resource.inputs.get("data") or {}
    try:
        state = json.loads(data.get(tenant_config.ORG_KEY, ""))
        own = json.loads(data.get(tenant_config.CONFIG_KEY, ""))
    except json.JSONDecodeError:
        yield f"{tenant_config.ORG_KEY} or {tenant_config.CONFIG_KEY} is not JSON"
        return
    if resource.name != f"{tenant.name}-tenant-config" or resource.inputs.get("metadata", {}).get(
        "name"
    ) != tenant_config.config_map_name(tenant.name):
        yield f"tenant {tenant.name}'s configuration is not named {tenant_config.config_map_name(tenant.name)}"
    if own.get("tenant") != tenant.name:
        yield f"tenant {tenant.name}'s configuration speaks for {own.get('tenant')!r}"
    access = tenant.spec.access
    roles = own.get("grafana") or {}
    if not set(roles.get("editors") or []) <= set(access.developers) or not set(roles.get("viewers") or []) <= {
        *access.developers,
        *access.viewers,
    }:
        yield f"tenant {tenant.name}'s organisation gives a role to a group outside its access"
    if state.get("name") != tenant.name:
        yield f"tenant {tenant.name}'s state names organisation {state.get('name')!r}"
    sources = state.get("datasources") or []
    for source in sources:
        yield from _datasource_problems(source, tenant, context)
    own = {source.get("uid") for source in sources}
    for dashboard in state.get("dashboards") or []:
        foreign = sorted(set(_referenced_uids(dashboard)) - own - {"-- Grafana --"})
        if foreign:
            yield f"dashboard {dashboard.get('uid')} reads data sources {foreign} outside its organisation"


def _mapping_entries(raw: Any) -> list[str]:
    # Grafana's own reading (pkg/util/strings.go SplitString): a JSON list, or words split on spaces and commas.
    text = str(raw or "")
    if text.strip().startswith("["):
        try:
            return [str(entry) for entry in json.loads(text)]
        except json.JSONDecodeError:
            return []
    return text.replace(",", " ").split()


def _split(entry: str) -> list[str]:
    parts: list[str] = []
    current, escaped = "", False
    for character in entry:
        if escaped:
            current, escaped = current + (character if character == ":" else "\\" + character), False
        elif character == "\\":
            escaped = True
        elif character == ":":
            parts, current = [*parts, current], ""
        else:
            current += character
    return [*parts, current + ("\\" if escaped else "")]


def _mapping_problems(entry: str, context: Context) -> Iterator[str]:
    parts = _split(entry)
    if len(parts) not in (2, 3):
        yield f"org_mapping entry {entry!r} is not <group>:<organisation>:<role>"
        return
    group, org = parts[0], parts[1]
    role = parts[2] if len(parts) == 3 else grafana.VIEWER
    admins = context.settings.observability.grafana.admin_groups
    if group == "*" or org == "*":
        yield f"org_mapping entry {entry!r} maps every group or into every organisation"
    elif org in (str(MAIN_ORG_ID), "Main Org."):
        if group not in admins:
            yield f"org_mapping entry {entry!r} lets a group that is no platform admin into the main organisation"
    elif org not in context.tenants:
        yield f"org_mapping entry {entry!r} maps into {org!r}, which is no tenant's organisation"
    else:
        access = context.tenants[org].spec.access
        allowed = {grafana.EDITOR: access.developers, grafana.VIEWER: [*access.developers, *access.viewers]}
        if group not in allowed.get(role, []):
            yield f"org_mapping entry {entry!r} gives {group!r} role {role} in tenant {org}'s organisation"


def _grafana_problems(values: dict[str, Any], context: Context) -> Iterator[str]:
    for source in values.get("additionalDataSources") or []:
        if source.get("orgId", MAIN_ORG_ID) != MAIN_ORG_ID:
            yield f"the platform's data source {source.get('uid')} is provisioned outside the main organisation"
    ini = values.get("grafana.ini") or {}

    def setting(section: str, key: str) -> Any:
        return (ini.get(section) or {}).get(key)

    required = {
        ("auth.anonymous", "enabled"): False,
        ("public_dashboards", "enabled"): False,
        ("users", "allow_sign_up"): False,
        ("users", "allow_org_create"): False,
        ("users", "auto_assign_org_role"): grafana.NO_ROLE,
    }
    for (section, key), wanted in required.items():
        if setting(section, key) != wanted:
            yield f"grafana.ini [{section}] {key} is {setting(section, key)!r}, not {wanted!r}"
    if setting("users", "auto_assign_org_id") not in (None, MAIN_ORG_ID):
        yield "grafana.ini [users] auto_assign_org_id puts unmapped users into another organisation"
    oauth = ini.get("auth.generic_oauth") or {}
    if oauth.get("enabled"):
        if oauth.get("allow_assign_grafana_admin") or oauth.get("skip_org_role_sync") is not False:
            yield "generic_oauth may make server admins or skips syncing organisation roles at sign-in"
        if oauth.get("role_attribute_path"):
            # A role from the token is raised into every organisation the mapping names (org_role_mapper.go).
            yield "generic_oauth role_attribute_path would raise the role in every mapped organisation"
        for entry in _mapping_entries(oauth.get("org_mapping")):
            yield from _mapping_problems(entry, context)


def grafana_orgs_isolated(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    key, value = tenant_config.LABEL
    for config_map in index(types.CONFIG_MAP):
        labels = config_map.labels
        if labels.get(key) == value:
            for message in _org_state_problems(config_map, context):
                yield config_map, message
        elif naming.TENANT_LABEL in labels and {"grafana_datasource", "grafana_dashboard"} & set(labels):
            yield (
                config_map,
                "a tenant's data source or dashboard for the sidecar, which provisions the main organisation",
            )
    release = _stack_release(index, context)
    if release is not None:
        values = (release.inputs.get("values") or {}).get("grafana") or {}
        for message in _grafana_problems(values, context):
            yield release, message


def _in_stack(resource: Resource, context: Context) -> bool:
    return resource.namespace == context.settings.observability.namespace


def _admits_only(policies: list[Resource], pods: dict[str, str], allowed: list[dict[str, Any]]) -> str | None:
    selecting = [p for p in policies if (p.spec.get("podSelector") or {}).get("matchLabels") == pods]
    if not any("Ingress" in (p.spec.get("policyTypes") or []) for p in selecting):
        return "no NetworkPolicy fences their ingress"
    for policy in selecting:
        for rule in policy.spec.get("ingress") or []:
            peers = rule.get("from")
            if not peers or any(peer not in allowed for peer in peers):
                return f"{policy.name} admits {peers or 'everyone'}"
    return None


def tenant_metrics_proxied(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    release = _stack_release(index, context)
    if release is None:
        return
    proxies = [d for d in index(types.DEPLOYMENT) if _in_stack(d, context) and d.name == grafana.METRICS_PROXY]
    if not proxies:
        yield release, f"no {grafana.METRICS_PROXY} Deployment: tenant organisations' metrics would be unscoped"
    endpoints = Endpoints(context.settings.observability.namespace)
    for proxy in proxies:
        containers = (((proxy.spec.get("template") or {}).get("spec") or {}).get("containers")) or [{}]
        args = [str(arg) for container in containers for arg in container.get("args") or []]
        for required in (
            f"-label={grafana.METRICS_PROXY_LABEL}",
            f"-header-name={grafana.METRICS_PROXY_HEADER}",
            f"-upstream={endpoints.tenant_prometheus_url}",
        ):
            if required not in args:
                yield proxy, f"the metrics proxy runs without {required}"
        for flag in _FORBIDDEN_PROXY_FLAGS:
            if any(arg.split("=")[0] == flag for arg in args):
                yield proxy, f"the metrics proxy takes {flag}, which lets a request choose or skip its namespaces"
    policies = [p for p in index(types.NETWORK_POLICY) if _in_stack(p, context)]
    fences = (
        ("the metrics proxy", grafana.METRICS_PROXY_POD_LABELS, grafana.metrics_proxy_peers()),
        ("the tenants' Prometheus", grafana.TENANT_PROMETHEUS_POD_LABELS, grafana.tenant_prometheus_peers()),
    )
    for what, pods, allowed in fences:
        problem = _admits_only(policies, pods, allowed)
        if problem:
            yield release, f"{what}: {problem}"
