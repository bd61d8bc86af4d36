"""The shared observability stack as plain data: which charts, the values the platform gives them, where its
services answer, and what each tenant sees of it (its log route, its Loki data source, its dashboard).

Kept free of Pulumi so that the components, the tests and anyone reading a plan share one definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from imaas import naming
from imaas.settings import StackSettings
from imaas.tenant import Tenant


@dataclass(frozen=True)
class Chart:
    name: str
    repository: str
    release: str
    """The Helm release name, fixed so that the in-cluster service names below do not depend on Pulumi's naming."""


KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack"
)
# Since March 2026 the Loki chart in grafana/helm-charts is maintained for Grafana Enterprise Logs only; the open
# source chart lives on in the grafana-community fork.
LOKI = Chart("loki", "https://grafana-community.github.io/helm-charts", "loki")
FLUENT_BIT = Chart("fluent-bit", "https://fluent.github.io/helm-charts", "fluent-bit")
JAEGER = Chart("jaeger", "https://jaegertracing.github.io/helm-charts", "jaeger")
ARGO_CD = Chart("argo-cd", "https://argoproj.github.io/argo-helm", "argocd")

CLUSTER_DOMAIN = "cluster.local"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
JAEGER_QUERY_PORT = 16686
LOKI_GATEWAY_PORT = 80

# What the service template's pods expose (templates/service/deploy/base/deployment.yaml).
METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metric-service/metrics"
METRICS_POD_LABEL = ("imaas.io/metrics", "true")
POD_MONITOR_NAME = "imaas-wso2mi"
# kube-prometheus-stack's Prometheus selects the monitors that carry its release label (podMonitorSelector default).
MONITOR_SELECTOR_LABEL = ("release", KUBE_PROMETHEUS_STACK.release)

# The Grafana sidecar's labels, as kube-prometheus-stack sets them by default, and the annotation naming the folder.
DASHBOARD_LABEL = ("grafana_dashboard", "1")
DATASOURCE_LABEL = ("grafana_datasource", "1")
FOLDER_ANNOTATION = "grafana_folder"
PROMETHEUS_DATASOURCE_UID = "prometheus"
JAEGER_DATASOURCE_UID = "jaeger"

LOKI_TENANT_HEADER = "X-Scope-OrgID"
# Logs of namespaces no tenant owns (the platform's own, kube-system, ...); `platform` is a reserved tenant name,
# so no tenant can ever be given this id.
PLATFORM_LOG_TENANT = "platform"

# Tenant names are validated against this before they reach a Fluent Bit rule or a PromQL matcher, where a regex
# metacharacter would widen the match; `-` is literal outside a character class.
_SAFE_NAME = re.compile(r"^[a-z0-9-]+$")


@dataclass(frozen=True)
class Endpoints:
    """In-cluster addresses of the stack's services in namespace `namespace`."""

    namespace: str

    def _host(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.{CLUSTER_DOMAIN}"

    @property
    def loki_host(self) -> str:
        return self._host(f"{LOKI.release}-gateway")

    @property
    def loki_url(self) -> str:
        return f"http://{self.loki_host}"

    @property
    def jaeger_host(self) -> str:
        return self._host(JAEGER.release)

    @property
    def jaeger_query_url(self) -> str:
        return f"http://{self.jaeger_host}:{JAEGER_QUERY_PORT}"

    @property
    def otlp_grpc(self) -> str:
        return f"http://{self.jaeger_host}:{OTLP_GRPC_PORT}"

    @property
    def otlp_http(self) -> str:
        return f"http://{self.jaeger_host}:{OTLP_HTTP_PORT}"


@dataclass(frozen=True)
class TelemetryAccess:
    """What a tenant namespace's network policy opens for the observability stack: the scrape in, OTLP out."""

    namespace: str
    scrape_port: str = METRICS_PORT_NAME
    otlp_ports: tuple[int, ...] = (OTLP_GRPC_PORT, OTLP_HTTP_PORT)


@dataclass(frozen=True)
class TenantTelemetry:
    """One tenant's share of the stack on one cluster: its namespaces there, and the ids its data is kept under."""

    tenant: str
    environments: tuple[str, ...]

    def __post_init__(self) -> None:
        if not _SAFE_NAME.match(self.tenant) or not all(map(_SAFE_NAME.match, self.environments)):
            raise ValueError(f"not a safe name for a matcher: {self.tenant!r} {self.environments!r}")

    @property
    def namespaces(self) -> list[str]:
        return [naming.namespace(self.tenant, environment) for environment in self.environments]

    @property
    def namespace_regex(self) -> str:
        """Matches this tenant's namespaces on the cluster and nothing else, anchored at both ends."""
        return f"^{self.tenant}-({'|'.join(self.environments)})$"

    @property
    def log_tenant(self) -> str:
        """The Loki tenant id (X-Scope-OrgID) this tenant's logs are stored and queried under."""
        return self.tenant

    @property
    def log_tag(self) -> str:
        return f"tenant.{self.tenant}"

    @property
    def loki_datasource_uid(self) -> str:
        return f"loki-{self.tenant}"

    @property
    def dashboard_uid(self) -> str:
        return f"imaas-{self.tenant}-wso2mi"


def tenant_telemetry(tenant: Tenant, settings: StackSettings) -> TenantTelemetry | None:
    """The tenant's share on this stack's cluster, or None when it has no namespace here."""
    hosted = tuple(settings.hosted(tenant.environments))
    return TenantTelemetry(tenant.name, hosted) if hosted else None


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top: mappings are merged key by key, anything else is replaced, as Helm does."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


# --- chart values: only what differs from each chart's defaults ----------------------------------------------------


def loki_datasource(name: str, uid: str, log_tenant: str, endpoints: Endpoints) -> dict[str, Any]:
    """A Grafana Loki data source that reads one Loki tenant, and only that one."""
    return {
        "name": name,
        "uid": uid,
        "type": "loki",
        "access": "proxy",
        "url": endpoints.loki_url,
        "editable": False,
        "jsonData": {"httpHeaderName1": LOKI_TENANT_HEADER},
        "secureJsonData": {"httpHeaderValue1": log_tenant},
    }


def kube_prometheus_stack_values(endpoints: Endpoints) -> dict[str, Any]:
    return {
        # Helm installs a chart's CRDs once and never upgrades them, with a client-side create that large CRDs
        # outgrow; the chart's hook Job applies them server-side (`kubectl apply --server-side`) before the
        # operator on every install and upgrade, so the release skips Helm's own CRD step.
        "crds": {"upgradeJob": {"enabled": True, "forceConflicts": True}},
        "prometheus": {
            "prometheusSpec": {
                # Tenants may deploy their own PodMonitors and ServiceMonitors: each scrapes its own namespace only,
                # and its series carry that namespace whatever its relabelling says, so no tenant reads another's.
                "ignoreNamespaceSelectors": True,
                "enforcedNamespaceLabel": "namespace",
            }
        },
        "grafana": {
            "sidecar": {
                "dashboards": {
                    # The chart default (ALL) would provision dashboards from any namespace, tenants' included.
                    "searchNamespace": endpoints.namespace,
                    "folderAnnotation": FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                },
            },
            "additionalDataSources": [
                loki_datasource("Loki (platform)", f"loki-{PLATFORM_LOG_TENANT}", PLATFORM_LOG_TENANT, endpoints),
                {
                    "name": "Jaeger",
                    "uid": JAEGER_DATASOURCE_UID,
                    "type": "jaeger",
                    "access": "proxy",
                    "url": endpoints.jaeger_query_url,
                    "editable": False,
                },
            ],
        },
    }


def loki_values() -> dict[str, Any]:
    return {
        "deploymentMode": "SingleBinary",
        "loki": {
            # The chart's default too, stated because tenant isolation rests on it: every push and query must
            # name its tenant (X-Scope-OrgID), and one tenant's streams are never returned to another.
            "auth_enabled": True,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2024-04-01",
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "loki_index_", "period": "24h"},
                    }
                ]
            },
        },
        "singleBinary": {
            "replicas": 1,
            # Logs outlive the release, like every other data-holding resource of the platform.
            "persistence": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "backend": {"replicas": 0},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        # The canary writes as a tenant of its own, and the chart's test needs the canary.
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
    }


def _section(kind: str, entries: Iterable[tuple[str, str]]) -> str:
    return "\n".join([f"[{kind}]", *(f"    {key} {value}" for key, value in entries)]) + "\n"


def fluent_bit_config(routes: list[TenantTelemetry], endpoints: Endpoints) -> dict[str, str]:
    """Fluent Bit's pipeline: container logs, tagged per tenant by namespace, each tenant to its own Loki tenant.

    A record is re-tagged `tenant.<name>` only when its namespace is one of that tenant's, listed by name; the
    record then reaches exactly one output, the one that sends with that tenant's id. What no rule matches keeps
    its `kube.*` tag and goes to the platform's tenant.
    """
    inputs = _section(
        "INPUT",
        [
            ("Name", "tail"),
            ("Path", "/var/log/containers/*.log"),
            ("multiline.parser", "docker, cri"),
            ("Tag", "kube.*"),
            ("Mem_Buf_Limit", "5MB"),
            ("Skip_Long_Lines", "On"),
        ],
    )
    filters = [
        _section(
            "FILTER",
            [
                ("Name", "kubernetes"),
                ("Match", "kube.*"),
                ("Merge_Log", "On"),
                # Under a key of its own: merged at the top, a tenant's JSON log line could set the `kubernetes`
                # fields that route it, and so land in another tenant's logs.
                ("Merge_Log_Key", "log_processed"),
                ("Keep_Log", "Off"),
                ("K8S-Logging.Parser", "On"),
                ("K8S-Logging.Exclude", "On"),
            ],
        )
    ]
    if routes:
        rules = [
            ("Rule", f"$kubernetes['namespace_name'] {route.namespace_regex} {route.log_tag} false") for route in routes
        ]
        filters.append(
            _section(
                "FILTER",
                [
                    ("Name", "rewrite_tag"),
                    ("Match", "kube.*"),
                    *rules,
                    ("Emitter_Name", "tenant_router"),
                    ("Emitter_Mem_Buf_Limit", "10M"),
                ],
            )
        )

    def loki_output(match: str, log_tenant: str) -> str:
        return _section(
            "OUTPUT",
            [
                ("Name", "loki"),
                ("Match", match),
                ("Host", endpoints.loki_host),
                ("Port", str(LOKI_GATEWAY_PORT)),
                ("tenant_id", log_tenant),
                (
                    "labels",
                    "job=fluent-bit, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], "
                    "container=$kubernetes['container_name']",
                ),
                ("line_format", "json"),
            ],
        )

    outputs = [loki_output(route.log_tag, route.log_tenant) for route in routes]
    outputs.append(loki_output("kube.*", PLATFORM_LOG_TENANT))
    return {"inputs": inputs, "filters": "\n".join(filters), "outputs": "\n".join(outputs)}


def fluent_bit_values(routes: list[TenantTelemetry], endpoints: Endpoints) -> dict[str, Any]:
    # Replacing the default inputs also drops the chart's kubelet journal input, whose records no output here takes.
    return {"config": fluent_bit_config(routes, endpoints)}


def jaeger_values() -> dict[str, Any]:
    # The chart's defaults are the platform's: Jaeger v2 all-in-one, OTLP on 4317 (gRPC) and 4318 (HTTP), traces
    # in memory. Durable trace storage is a `values` override (`config.extensions.jaeger_storage`).
    return {}


def argocd_values() -> dict[str, Any]:
    # Every tenant AppProject syncs as its namespaces' own deployer account (destinationServiceAccounts).
    return {"configs": {"cm": {"application.sync.impersonation.enabled": "true"}}}


# --- each tenant's view ------------------------------------------------------------------------------------------


def tenant_loki_datasources(telemetry: TenantTelemetry, endpoints: Endpoints) -> dict[str, Any]:
    """The Grafana provisioning file of the tenant's Loki data source, as the sidecar reads it."""
    name = f"Loki ({telemetry.tenant})"
    return {
        "apiVersion": 1,
        "datasources": [loki_datasource(name, telemetry.loki_datasource_uid, telemetry.log_tenant, endpoints)],
    }


def _panel(
    panel_id: int, title: str, expr: str, legend: str, position: tuple[int, int, int, int], unit: str
) -> dict[str, Any]:
    x, y, width, height = position
    datasource = {"type": "prometheus", "uid": PROMETHEUS_DATASOURCE_UID}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": datasource,
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "datasource": datasource, "expr": expr, "legendFormat": legend}],
    }


def tenant_dashboard(telemetry: TenantTelemetry) -> dict[str, Any]:
    """The tenant's WSO2 Micro Integrator dashboard. Every query is fixed to the tenant's namespaces: no variable
    a viewer could point at someone else's."""
    selector = f'namespace=~"{telemetry.namespace_regex}"'
    by_service = "namespace, service_name"
    rate = "[$__rate_interval]"
    per_service = "{{namespace}} {{service_name}}"

    def requests(kind: str) -> str:
        return f"sum by ({by_service}) (rate(wso2_integration_{kind}_request_count_total{{{selector}}}{rate}))"

    def errors(kind: str) -> str:
        return f"sum by ({by_service}) (rate(wso2_integration_{kind}_request_count_error_total{{{selector}}}{rate}))"

    def latency(kind: str) -> str:
        buckets = f"rate(wso2_integration_{kind}_latency_seconds_bucket{{{selector}}}{rate})"
        return f"histogram_quantile(0.95, sum by (le, {by_service}) ({buckets}))"

    panels = [
        _panel(1, "Servers up", f"sum by (namespace) (wso2_integration_server_up{{{selector}}})", "{{namespace}}",
               (0, 0, 12, 6), "short"),
        _panel(2, "Services up", f"sum by ({by_service}) (wso2_integration_service_up{{{selector}}})", per_service,
               (12, 0, 12, 6), "short"),
        _panel(3, "API requests", requests("api"), per_service, (0, 6, 8, 8), "reqps"),
        _panel(4, "API errors", errors("api"), per_service, (8, 6, 8, 8), "reqps"),
        _panel(5, "API latency p95", latency("api"), per_service, (16, 6, 8, 8), "s"),
        _panel(6, "Proxy service requests", requests("proxy"), per_service, (0, 14, 8, 8), "reqps"),
        _panel(7, "Proxy service errors", errors("proxy"), per_service, (8, 14, 8, 8), "reqps"),
        _panel(8, "Proxy service latency p95", latency("proxy"), per_service, (16, 14, 8, 8), "s"),
        _panel(9, "Inbound endpoint requests", requests("inbound_endpoint"), per_service, (0, 22, 12, 8), "reqps"),
        _panel(10, "Inbound endpoint errors", errors("inbound_endpoint"), per_service, (12, 22, 12, 8), "reqps"),
    ]  # fmt: skip
    logs_source = {"type": "loki", "uid": telemetry.loki_datasource_uid}
    panels.append(
        {
            "id": 11,
            "type": "logs",
            "title": "Logs",
            "datasource": logs_source,
            "gridPos": {"x": 0, "y": 30, "w": 24, "h": 10},
            "targets": [{"refId": "A", "datasource": logs_source, "expr": f"{{{selector}}}"}],
        }
    )
    return {
        "uid": telemetry.dashboard_uid,
        "title": f"{telemetry.tenant} · WSO2 Micro Integrator",
        "tags": ["imaas", "wso2mi", telemetry.tenant],
        "editable": False,
        "timezone": "utc",
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": 39,
        "templating": {"list": []},
        "panels": panels,
    }


def dashboard_json(telemetry: TenantTelemetry) -> str:
    return json.dumps(tenant_dashboard(telemetry), indent=2, sort_keys=True)


def datasources_yaml(telemetry: TenantTelemetry, endpoints: Endpoints) -> str:
    return yaml.safe_dump(tenant_loki_datasources(telemetry, endpoints), sort_keys=False)
