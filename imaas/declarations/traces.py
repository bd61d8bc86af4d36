"""Traces per tenant: the collector that decides whose a span is, and the Tempo store that keeps each tenant apart.

A tenant pod sends OTLP to the collector only (its network policy opens no other trace port). The collector forgets
every Kubernetes attribute the pod sent, looks the sender up by its connection's address (k8s_attributes, which
reads pods and namespaces from the API server) and routes the batch by the namespace found there to a pipeline per
tenant, whose exporter writes to Tempo with that tenant's X-Scope-OrgID. A batch whose sender is no tenant pod is
dropped. Nothing a pod writes into its spans can choose the tenant: k8s_attributes never overwrites an attribute
that is already set (opentelemetry-collector-contrib#36373), so the platform deletes them first, and associates by
connection only, never by a `k8s.pod.ip` the pod claims.

The per-tenant part (exporters, pipelines, routing table) is not in the Helm values: the pinned collector cannot set
X-Scope-OrgID from a resource attribute (opentelemetry-collector-contrib#34257, opentelemetry-collector#5733), so it
needs a route per tenant, which the in-cluster job writes into a file the collector reads as a second `--config`
(imaas/incluster/tenant_config.py), and a sidecar makes the collector reload it (imaas/incluster/collector_reload.py).
"""

from __future__ import annotations

from typing import Any

from imaas.declarations import charts, isolation, naming, store_clients, tenant_config
from imaas.declarations.store_limits import ObservabilityLimits
from imaas.declarations.telemetry import OTLP_GRPC_PORT
from imaas.incluster import tenant_config as incluster
from imaas.model.settings import TempoSettings

# The collector's Kubernetes distribution (k8s_attributes, resource, the routing connector, otlp), at the chart's
# appVersion.
COLLECTOR_IMAGE = "otel/opentelemetry-collector-k8s"
COLLECTOR_IMAGE_TAG = "0.158.0"
COLLECTOR_COMMAND = "otelcol-k8s"
# The image's user (otel/opentelemetry-collector-k8s runs as 10001): the reload sidecar runs as the same user, the
# one it may signal.
COLLECTOR_USER = 10001
INGEST_PIPELINE = incluster.INGEST_PIPELINE
ROUTER = incluster.ROUTER
ROUTES_FILE = f"{tenant_config.COLLECTOR_ROUTES_DIR}/{incluster.COLLECTOR_KEY}"
RELOAD_PERIOD_SECONDS = 10
# The collector gateway's replicas (a stack may give it more: imaas:chartValues.opentelemetryCollector.replicaCount).
COLLECTOR_REPLICAS = 2
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
DAY_HOURS = tenant_config.DAY_HOURS
tenant_pipeline = incluster.tenant_pipeline
tenant_exporter = incluster.tenant_exporter


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
# The collector's credential at Tempo's proxy, which every tenant exporter of the routes file sends.
tempo_writer_headers = store_clients.tempo_writer_headers


def collector_config() -> dict[str, Any]:
    """The collector's configuration but for the tenants, given as the chart's `alternateConfig`, which the chart
    uses instead of its default `config` rather than merged over it (templates/_config.tpl, `baseConfig`): the
    chart's Jaeger, Zipkin and Prometheus receivers, debug exporter and logs and metrics pipelines are simply not in
    it. Removing them from `config` would need null values, which pulumi-kubernetes does not support from Python.
    Nothing here names a tenant: the routes file, the collector's second `--config`, adds each tenant's exporter
    (with the collector's credential at Tempo, tempo_writer_headers), pipeline and routing entry."""
    pipelines: dict[str, Any] = {
        INGEST_PIPELINE: {
            "receivers": ["otlp"],
            # k8s_attributes reads the sender's address from the request, which batching drops: it runs first.
            "processors": ["memory_limiter", "resource/untrusted", "k8s_attributes", "batch"],
            "exporters": [ROUTER],
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
        # No default pipeline: a batch from no tenant namespace (or whose sender was not found) is dropped. The
        # table, and the exporters it routes to, are the routes file's.
        "connectors": {ROUTER: {"error_mode": "ignore"}},
        "service": {"extensions": [HEALTH_CHECK], "telemetry": COLLECTOR_TELEMETRY, "pipelines": pipelines},
    }


def reload_sidecar(image: str) -> dict[str, Any]:
    """The container that makes the collector reload its routes file when the job changes it (SIGHUP), in the
    collector's pod, as the collector's user."""
    env = {
        "ROUTES_FILE": ROUTES_FILE,
        "COLLECTOR_COMMAND": COLLECTOR_COMMAND,
        "PERIOD_SECONDS": str(RELOAD_PERIOD_SECONDS),
        "PYTHONPATH": tenant_config.CODE_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return {
        "name": "reload-routes",
        "image": image,
        "command": ["python", "-m", tenant_config.RELOADER_ENTRY],
        "env": [{"name": name, "value": value} for name, value in env.items()],
        "volumeMounts": [
            {"name": "routes", "mountPath": tenant_config.COLLECTOR_ROUTES_DIR, "readOnly": True},
            {"name": "code", "mountPath": tenant_config.CODE_DIR, "readOnly": True},
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        "securityContext": {**isolation.RESTRICTED_CONTAINER, "runAsUser": COLLECTOR_USER},
    }


def collector_values(python_image: str) -> dict[str, Any]:
    return {
        "mode": "deployment",
        "replicaCount": COLLECTOR_REPLICAS,
        "image": {"repository": COLLECTOR_IMAGE, "tag": COLLECTOR_IMAGE_TAG},
        # The routes file, merged over the configuration the chart writes (maps key by key), and reloaded on SIGHUP.
        "command": {"name": COLLECTOR_COMMAND, "extraArgs": [f"--config={ROUTES_FILE}"]},
        "securityContext": {"runAsUser": COLLECTOR_USER, "runAsNonRoot": True},
        "shareProcessNamespace": True,
        "extraVolumes": [
            tenant_config.config_map_volume("routes", incluster.COLLECTOR_CONFIG_MAP),
            tenant_config.code_volume(),
        ],
        "extraVolumeMounts": [{"name": "routes", "mountPath": tenant_config.COLLECTOR_ROUTES_DIR, "readOnly": True}],
        "extraContainers": [reload_sidecar(python_image)],
        "clusterRole": {"create": True, "rules": COLLECTOR_RULES},
        # OTLP only: the other receivers' ports would be open with nothing behind them.
        "ports": {name: {"enabled": False} for name in ("jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")},
        # memory_limiter works in percent of this limit.
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "alternateConfig": collector_config(),
    }


trace_limits = tenant_config.trace_limits


def tempo_values(
    tempo: TempoSettings, default: ObservabilityLimits, sizes: list[ObservabilityLimits]
) -> dict[str, Any]:
    """Tempo's values, the same for any tenant set: each tenant's overrides are in the file the job writes."""
    bucket = tempo.bucket
    retention_days = max(limits.trace_retention_days for limits in [default, *sizes])
    # The chart's default store is the local volume; a bucket replaces it, reached as the role the stack names.
    durable: dict[str, Any] = {}
    service_account: dict[str, Any] = {}
    if bucket is not None:
        durable = {
            "storage": {
                "trace": {
                    "backend": "s3",
                    "s3": {
                        "bucket": bucket.name,
                        "region": bucket.region,
                        "endpoint": f"s3.{bucket.region}.amazonaws.com",
                    },
                }
            }
        }
        service_account = {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": bucket.role_arn}}}
    # The chart's receivers stay as they are: its Service template reads every one of them (a null one fails the
    # render), and only the collector reaches them, since tenant pods may send OTLP to the collector's pods alone.
    return {
        "tempo": {
            # Every push and query must name its tenant, as with Loki; the collector names it for each batch.
            "multitenancyEnabled": True,
            "reportingEnabled": False,
            # The longest any size keeps its traces; each tenant's own is its override's block_retention.
            "retention": f"{retention_days * DAY_HOURS}h",
            # Each tenant's overrides come from the job's file, outside the chart's ConfigMap, whose checksum
            # restarts Tempo when it changes (tempo 2.2.4 templates/statefulset.yaml `checksum/config`); Tempo
            # reloads the file every per_tenant_override_period (10s).
            "overrides": {
                "defaults": trace_limits(default),
                "per_tenant_override_config": f"{tenant_config.TEMPO_OVERRIDES_DIR}/{incluster.TEMPO_KEY}",
            },
            "extraVolumeMounts": [
                {"name": "tenant-overrides", "mountPath": tenant_config.TEMPO_OVERRIDES_DIR, "readOnly": True}
            ],
            **durable,
        },
        "extraVolumes": [tenant_config.config_map_volume("tenant-overrides", incluster.TEMPO_CONFIG_MAP)],
        # The write-ahead log (and, without a bucket, the blocks) outlive the pod and the release.
        "persistence": {"enabled": True, "size": tempo.storage},
        **service_account,
    }


def tempo_values_behind_proxy(values: dict[str, Any], proxy: dict[str, Any]) -> dict[str, Any]:
    """Tempo's values with its credential-checking proxy (store_clients.tempo_proxy_values) merged in, as Helm
    merges values: maps key by key, and the lists both give (the pod's volumes: the tenants' overrides file and the
    proxy's configuration) joined rather than one replacing the other."""
    result = charts.merged(values, proxy)
    for key in ("extraVolumes", "extraContainers"):
        if key in values and key in proxy:
            result[key] = [*values[key], *proxy[key]]
    return result
