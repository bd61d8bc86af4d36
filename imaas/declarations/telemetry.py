"""Where the shared observability stack's services answer, and what each tenant has of it: the ports its network
policy opens, its namespaces there and the ids its data is kept under."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imaas.declarations import naming
from imaas.declarations.charts import LOKI, OPENTELEMETRY_COLLECTOR, TEMPO
from imaas.declarations.store_limits import OBSERVABILITY_LIMITS, ObservabilityLimits
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

CLUSTER_DOMAIN = "cluster.local"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
TEMPO_QUERY_PORT = 3200
LOKI_GATEWAY_PORT = 80
PROMETHEUS_PORT = 9090
TEMPO_OTLP_SERVICE_PORT = 14317
"""imaas/declarations/store_auth.py's TEMPO_OTLP_LOOPBACK_PORT, which the chart's Service takes as its OTLP gRPC
port."""
# The Service of the tenants' Prometheus (imaas/declarations/prometheus.py), declared by the platform.
TENANT_PROMETHEUS_SERVICE = "prometheus-tenants"

# What the service template's pods expose (templates/service/deploy/base/deployment.yaml).
METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metric-service/metrics"
METRICS_POD_LABEL = ("imaas.io/metrics", "true")
POD_MONITOR_NAME = "imaas-wso2mi"

LOKI_TENANT_HEADER = "X-Scope-OrgID"
# Tempo takes the tenant from the same header as Loki, and the collector sets it per tenant
# (imaas/declarations/traces.py).
TEMPO_TENANT_HEADER = LOKI_TENANT_HEADER
# The labels the opentelemetry-collector chart gives its pods (its selectorLabels): tenant pods may send OTLP to
# these pods only, not to Tempo, which would take any tenant id a pod names.
COLLECTOR_POD_LABELS = {
    "app.kubernetes.io/name": OPENTELEMETRY_COLLECTOR.name,
    "app.kubernetes.io/instance": OPENTELEMETRY_COLLECTOR.release,
}
# Logs of namespaces no tenant owns (the platform's own, kube-system, ...), under a reserved tenant name, so no
# tenant can ever be given this id.
PLATFORM_LOG_TENANT = naming.PLATFORM

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
    def tenant_prometheus_url(self) -> str:
        return f"http://{self._host(TENANT_PROMETHEUS_SERVICE)}:{PROMETHEUS_PORT}"

    @property
    def tempo_host(self) -> str:
        return self._host(TEMPO.release)

    @property
    def tempo_query(self) -> str:
        """Tempo's query API; every request names its tenant in TEMPO_TENANT_HEADER."""
        return f"http://{self.tempo_host}:{TEMPO_QUERY_PORT}"

    @property
    def tempo_otlp_grpc(self) -> str:
        """Where the collector writes, each tenant's batches with its own TEMPO_TENANT_HEADER: no tenant pod may. The
        chart's Service names this port after Tempo's receiver, on its pod's loopback interface, and sends it to the
        pod's port 4317, where the proxy checks the collector's credential (imaas/declarations/store_auth.py)."""
        return f"{self.tempo_host}:{TEMPO_OTLP_SERVICE_PORT}"

    @property
    def collector_host(self) -> str:
        # The chart names its objects after the release alone when the release name holds the chart's name.
        return self._host(OPENTELEMETRY_COLLECTOR.release)

    @property
    def otlp_grpc(self) -> str:
        """The OTLP endpoint of every tenant workload: the collector, which takes the tenant from the sender's
        namespace."""
        return f"http://{self.collector_host}:{OTLP_GRPC_PORT}"

    @property
    def otlp_http(self) -> str:
        return f"http://{self.collector_host}:{OTLP_HTTP_PORT}"


def pod_monitor_spec(sample_limit: int) -> dict[str, Any]:
    """The PodMonitor of a tenant namespace: its pods that opt in by label, on their `metrics` port, at most
    `sample_limit` samples a scrape."""
    label, value = METRICS_POD_LABEL
    return {
        "selector": {"matchLabels": {label: value}},
        "sampleLimit": sample_limit,
        # Which service a series is of, for its alerts (imaas/declarations/alerts.py).
        "podTargetLabels": [naming.SERVICE_LABEL],
        "podMetricsEndpoints": [
            {"port": METRICS_PORT_NAME, "path": METRICS_PATH},
        ],
    }


@dataclass(frozen=True)
class TelemetryAccess:
    """What a tenant namespace's network policy opens for the observability stack: the scrape in, OTLP out."""

    namespace: str
    scrape_port: str = METRICS_PORT_NAME
    otlp_ports: tuple[int, ...] = (OTLP_GRPC_PORT, OTLP_HTTP_PORT)
    otlp_pod_labels: tuple[tuple[str, str], ...] = tuple(COLLECTOR_POD_LABELS.items())


@dataclass(frozen=True)
class TenantTelemetry:
    """One tenant's share of the stack on one cluster: its namespaces there, and the ids its data is kept under."""

    tenant: str
    environments: tuple[str, ...]
    limits: ObservabilityLimits
    """What the tenant may put into the shared stores: its size preset's."""

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
    def trace_tenant(self) -> str:
        """The Tempo tenant id its traces are stored and queried under: the one of its logs."""
        return self.tenant

    @property
    def dashboard_uid(self) -> str:
        return f"imaas-{self.tenant}-wso2mi"


def tenant_telemetry(tenant: Tenant, settings: StackSettings) -> TenantTelemetry | None:
    """The tenant's share on this stack's cluster, or None when it has no namespace here."""
    hosted = tuple(settings.hosted(tenant.environments))
    if not hosted or tenant.decommissioned:
        return None
    return TenantTelemetry(tenant.name, hosted, OBSERVABILITY_LIMITS[tenant.spec.size])


OTLP_ENDPOINT_VARIABLE = "IMAAS_OTLP_ENDPOINT"
"""What the service template's deployment.toml reads (`url = "$env{IMAAS_OTLP_ENDPOINT}"` under [opentelemetry])."""


def otlp_endpoint(settings: StackSettings, environment: str) -> str | None:
    """The value of IMAAS_OTLP_ENDPOINT in `environment`'s namespaces on this stack's cluster: the collector's OTLP
    gRPC address, the protocol WSO2 MI's OTLPTelemetryManager exports with by default. None where the stack hosts
    no such environment or runs no observability stack."""
    if environment not in settings.environments or not settings.observability.enabled:
        return None
    return Endpoints(settings.observability.namespace).otlp_grpc
