"""Traces per tenant: the collector that decides whose a span is, and the Tempo store that keeps each tenant apart.

A tenant pod sends OTLP to the collector only (its network policy opens no other trace port). The collector forgets
every Kubernetes attribute the pod sent, looks the sender up by its connection's address (k8s_attributes, which
reads pods and namespaces from the API server) and routes the batch by the namespace found there to a pipeline per
tenant, whose exporter writes to Tempo with that tenant's X-Scope-OrgID. A batch whose sender is no tenant pod is
dropped. Nothing a pod writes into its spans can choose the tenant: k8s_attributes never overwrites an attribute
that is already set (opentelemetry-collector-contrib#36373), so the platform deletes them first, and associates by
connection only, never by a `k8s.pod.ip` the pod claims.
"""

from __future__ import annotations

from typing import Any

from imaas.model.settings import ObservabilityLimits, OpenTelemetryCollectorChart, TempoChart
from imaas.spec import naming
from imaas.spec.store_auth import COLLECTOR_AUTHORIZATION_ENV
from imaas.spec.telemetry import OTLP_GRPC_PORT, TEMPO_TENANT_HEADER, Endpoints, TenantTelemetry

# The collector's Kubernetes distribution (k8s_attributes, resource, the routing connector, otlp), at the chart's
# appVersion.
COLLECTOR_IMAGE = "otel/opentelemetry-collector-k8s"
COLLECTOR_IMAGE_TAG = "0.158.0"
COLLECTOR_COMMAND = "otelcol-k8s"
INGEST_PIPELINE = "traces"
ROUTER = "routing"
# What the sender may claim and the platform decides instead: every Kubernetes attribute, and the platform's own.
UNTRUSTED_ATTRIBUTES = (r"^k8s\..*", r"^imaas\..*")
TENANT_ATTRIBUTE = "imaas.tenant"
ENVIRONMENT_ATTRIBUTE = "imaas.environment"
SERVICE_ATTRIBUTE = "imaas.service"
# What k8s_attributes needs to find a sender's pod and namespace (and a Deployment through its ReplicaSet).
COLLECTOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
]
MB = 1_000_000
# Tempo's per-tenant overrides replace a tenant's whole block: an unset field is 0, which for most limits means no
# limit (grafana/tempo#4996), so every field the platform relies on is written for every tenant.
MAX_TRACE_BYTES = 5 * MB
DAY_HOURS = 24


def tenant_pipeline(tenant: str) -> str:
    return f"{INGEST_PIPELINE}/{tenant}"


def tenant_exporter(tenant: str) -> str:
    return f"otlp/{tenant}"


def routing_condition(route: TenantTelemetry) -> str:
    """The OTTL condition (resource context) that holds for spans from the tenant's namespaces and no others."""
    names = [f'attributes["k8s.namespace.name"] == "{namespace}"' for namespace in route.namespaces]
    return " or ".join(names)


# What the chart's default configuration (opentelemetry-collector 0.170.0, values.yaml `config`) holds that the
# platform keeps: the health check its probes call (port 13133, "mandatory for this chart"), the collector's own
# telemetry on port 8888, and the two processors of its pipelines.
HEALTH_CHECK = "health_check"
HEALTH_CHECK_PORT = 13133
COLLECTOR_TELEMETRY: dict[str, Any] = {
    "resource": {
        "k8s.namespace.name": "${env:OTEL_K8S_NAMESPACE}",
        "k8s.node.name": "${env:OTEL_K8S_NODE_NAME}",
        "k8s.node.ip": "${env:OTEL_K8S_NODE_IP}",
        "k8s.pod.name": "${env:OTEL_K8S_POD_NAME}",
        "k8s.pod.ip": "${env:OTEL_K8S_POD_IP}",
        "host.name": "${env:OTEL_K8S_NODE_NAME}",
    },
    "metrics": {"readers": [{"pull": {"exporter": {"prometheus": {"host": "${env:MY_POD_IP}", "port": 8888}}}}]},
}
CHART_PROCESSORS: dict[str, Any] = {
    "batch": {},
    "memory_limiter": {"check_interval": "5s", "limit_percentage": 80, "spike_limit_percentage": 25},
}


def tempo_writer_headers() -> dict[str, str]:
    """The collector's credential at Tempo's proxy (imaas/spec/store_auth.py), from the environment, which the chart
    fills from the platform's Secret (`${env:...}` is expanded by the collector's configuration resolver)."""
    return {"Authorization": f"${{env:{COLLECTOR_AUTHORIZATION_ENV}}}"}


def collector_config(routes: list[TenantTelemetry], endpoints: Endpoints) -> dict[str, Any]:
    """The collector's whole configuration, given as the chart's `alternateConfig`, which the chart uses instead of
    its default `config` rather than merged over it (templates/_config.tpl, `baseConfig`): the chart's Jaeger,
    Zipkin and Prometheus receivers, debug exporter and logs and metrics pipelines are simply not in it. Removing
    them from `config` would need null values, which pulumi-kubernetes does not support from Python."""
    exporters: dict[str, Any] = {
        tenant_exporter(route.trace_tenant): {
            "endpoint": endpoints.tempo_otlp_grpc,
            "tls": {"insecure": True},
            "headers": {TEMPO_TENANT_HEADER: route.trace_tenant, **tempo_writer_headers()},
        }
        for route in routes
    }
    pipelines: dict[str, Any] = {
        INGEST_PIPELINE: {
            "receivers": ["otlp"],
            # k8s_attributes reads the sender's address from the request, which batching drops: it runs first.
            "processors": ["memory_limiter", "resource/untrusted", "k8s_attributes", "batch"],
            "exporters": [ROUTER],
        },
        **{
            tenant_pipeline(route.trace_tenant): {
                "receivers": [ROUTER],
                "exporters": [tenant_exporter(route.trace_tenant)],
            }
            for route in routes
        },
    }
    return {
        "extensions": {HEALTH_CHECK: {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_CHECK_PORT}"}},
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_GRPC_PORT}"},
                    "http": {"endpoint": "${env:MY_POD_IP}:4318"},
                }
            },
        },
        "processors": {
            **CHART_PROCESSORS,
            "resource/untrusted": {
                "attributes": [{"pattern": pattern, "action": "delete"} for pattern in UNTRUSTED_ATTRIBUTES]
            },
            "k8s_attributes": {
                "passthrough": False,
                "pod_association": [{"sources": [{"from": "connection"}]}],
                "extract": {
                    "metadata": ["k8s.namespace.name", "k8s.pod.name", "k8s.deployment.name"],
                    # Labels only the platform writes: the tenant's and environment's on the Namespace, the
                    # service's by the Argo CD Application's commonLabels.
                    "labels": [
                        {"tag_name": TENANT_ATTRIBUTE, "key": naming.TENANT_LABEL, "from": "namespace"},
                        {"tag_name": ENVIRONMENT_ATTRIBUTE, "key": naming.ENVIRONMENT_LABEL, "from": "namespace"},
                        {"tag_name": SERVICE_ATTRIBUTE, "key": naming.SERVICE_LABEL, "from": "pod"},
                    ],
                },
            },
        },
        # No default pipeline: a batch from no tenant namespace (or whose sender was not found) is dropped.
        "connectors": {
            ROUTER: {
                "error_mode": "ignore",
                "table": [
                    {
                        "context": "resource",
                        "condition": routing_condition(route),
                        "pipelines": [tenant_pipeline(route.trace_tenant)],
                    }
                    for route in routes
                ],
            }
        },
        "exporters": exporters,
        "service": {"extensions": [HEALTH_CHECK], "telemetry": COLLECTOR_TELEMETRY, "pipelines": pipelines},
    }


def collector_values(
    chart: OpenTelemetryCollectorChart, routes: list[TenantTelemetry], endpoints: Endpoints
) -> dict[str, Any]:
    return {
        "mode": "deployment",
        "replicaCount": chart.replicas,
        "image": {"repository": COLLECTOR_IMAGE, "tag": COLLECTOR_IMAGE_TAG},
        "command": {"name": COLLECTOR_COMMAND},
        "clusterRole": {"create": True, "rules": COLLECTOR_RULES},
        # OTLP only: the other receivers' ports would be open with nothing behind them.
        "ports": {name: {"enabled": False} for name in ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")},
        # memory_limiter works in percent of this limit.
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "alternateConfig": collector_config(routes, endpoints),
    }


def trace_limits(limits: ObservabilityLimits) -> dict[str, Any]:
    """One tenant's Tempo overrides (the new format), every field given."""
    return {
        "ingestion": {
            "rate_strategy": "local",
            "rate_limit_bytes": int(limits.trace_rate_mb * MB),
            "burst_size_bytes": int(limits.trace_burst_mb * MB),
            "max_traces_per_user": limits.max_live_traces,
        },
        "global": {"max_bytes_per_trace": MAX_TRACE_BYTES},
        "compaction": {"block_retention": f"{limits.trace_retention_days * DAY_HOURS}h"},
    }


def tempo_values(chart: TempoChart, routes: list[TenantTelemetry], default: ObservabilityLimits) -> dict[str, Any]:
    storage = chart.storage
    retention_days = max([default.trace_retention_days, *(route.limits.trace_retention_days for route in routes)])
    # The chart's default store is the local volume; a bucket replaces it, reached as the role the stack names.
    durable: dict[str, Any] = {}
    if storage.s3_bucket is not None:
        durable = {
            "storage": {
                "trace": {
                    "backend": "s3",
                    "s3": {
                        "bucket": storage.s3_bucket,
                        "region": storage.s3_region,
                        "endpoint": f"s3.{storage.s3_region}.amazonaws.com",
                    },
                }
            }
        }
    service_account = (
        {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": storage.role_arn}}}
        if storage.role_arn
        else {}
    )
    # The chart's receivers stay as they are: its Service template reads every one of them (a null one fails the
    # render), and only the collector reaches them, since tenant pods may send OTLP to the collector's pods alone.
    return {
        "tempo": {
            # Every push and query must name its tenant, as with Loki; the collector names it for each batch.
            "multitenancyEnabled": True,
            "reportingEnabled": False,
            # The longest any tenant keeps its traces; each tenant's own is its override's block_retention.
            "retention": f"{retention_days * DAY_HOURS}h",
            "overrides": {"defaults": trace_limits(default)},
            "per_tenant_overrides": {route.trace_tenant: trace_limits(route.limits) for route in routes},
            **durable,
        },
        # The write-ahead log (and, without a bucket, the blocks) outlive the pod and the release.
        "persistence": {"enabled": True, "size": storage.size},
        **service_account,
    }
