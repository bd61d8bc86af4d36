"""The stack's two Prometheus and what keeps them apart.

The chart's Prometheus scrapes the platform and the cluster (kubelet, cAdvisor, API server, CoreDNS,
kube-state-metrics), whose monitors live in the stack's namespace and point at others: it must follow their
namespace selectors and keep their series' own `namespace` labels, so it takes no tenant guard, and in exchange it
never looks at a tenant namespace. The tenants' Prometheus, declared by the platform, looks at tenant namespaces
only, with every guard a scraper shared by tenants needs: a monitor scrapes its own namespace and nothing else, its
series carry that namespace whatever its relabelling says, it cannot read the scraper's files, and its size is
capped. Tenant namespaces are told apart by `imaas.io/tenant`, which only the platform sets on a Namespace.
"""

from __future__ import annotations

from typing import Any

from imaas.declarations import alerts, images, isolation, naming, storage, store_auth
from imaas.declarations.telemetry import PROMETHEUS_PORT
from imaas.model.settings import TenantPrometheusSettings

API_VERSION = "monitoring.coreos.com/v1"
TENANT_PROMETHEUS = "tenants"
"""The Prometheus object's name; the operator labels its pods `operator.prometheus.io/name: tenants`."""
TENANT_PROMETHEUS_ACCOUNT = "prometheus-tenants"
# What the operator labels every Prometheus pod with, and the port name it gives the web port (CRD `portName`).
POD_NAME_LABEL = ("app.kubernetes.io/name", "prometheus")
INSTANCE_LABEL = "operator.prometheus.io/name"
WEB_PORT_NAME = "web"


# What Prometheus's Kubernetes service discovery reads for pod and service monitors, in each namespace it scrapes.
DISCOVERY_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "services", "endpoints"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
]
ALERTMANAGER_DISCOVERY_ROLE = "prometheus-tenants-alertmanager"
"""The Role and RoleBinding, in the stack's namespace, that let the tenants' Prometheus find its Alertmanager."""
DISCOVERY_VERBS = ("get", "list", "watch")


def alertmanager_discovery_resources(service_discovery_role: str | None) -> dict[str, tuple[str, ...]]:
    """What a Prometheus reads, by API group, to find the Alertmanagers of `alerting.alertmanagers`.

    Prometheus Operator v0.91.0 (pkg/prometheus/promcfg.go, generateAlertmanagerConfig) writes one Kubernetes
    service discovery per Alertmanager, in the Alertmanager's namespace, with the Prometheus's own endpoint role
    (defaultEndpointRoleFlavor): `endpoints` unless `serviceDiscoveryRole` is `EndpointSlice`. Prometheus's
    endpoints role also watches the services and pods behind them; the endpointslice role reads EndpointSlices
    instead of Endpoints."""
    if service_discovery_role == "EndpointSlice":
        return {"": ("services", "pods"), "discovery.k8s.io": ("endpointslices",)}
    return {"": ("endpoints", "services", "pods")}


def alertmanager_discovery_rules(service_discovery_role: str | None = None) -> list[dict[str, Any]]:
    """The Role rules granting exactly what `alertmanager_discovery_resources` names."""
    return [
        {"apiGroups": [group], "resources": list(resources), "verbs": list(DISCOVERY_VERBS)}
        for group, resources in alertmanager_discovery_resources(service_discovery_role).items()
    ]


def platform_prometheus_spec() -> dict[str, Any]:
    """kube-prometheus-stack's `prometheus.prometheusSpec`: every kind of monitor and rule from any namespace but a
    tenant's. Without it a tenant could label its own monitor with the chart's release label and be scraped by the
    unguarded instance."""
    return {
        f"{kind}NamespaceSelector": isolation.NOT_TENANT_NAMESPACES
        for kind in ("serviceMonitor", "podMonitor", "probe", "scrapeConfig", "rule")
    }


# What the tenants' Prometheus takes from any one tenant monitor at most, whatever the monitor asks: a tenant's
# exporter cannot exhaust the memory that every tenant's metrics share.
TENANT_SCRAPE_LIMITS = {
    "enforcedSampleLimit": 50_000,  # samples per scrape
    "enforcedTargetLimit": 200,  # targets per monitor
    "enforcedLabelLimit": 64,  # labels per sample
    "enforcedLabelNameLengthLimit": 256,
    "enforcedLabelValueLengthLimit": 2048,
    "enforcedBodySizeLimit": "16MB",  # uncompressed size of one scrape
    "enforcedKeepDroppedTargets": 100,  # dropped targets kept for display per monitor
}


def tenant_prometheus_spec(
    settings: TenantPrometheusSettings, stack_namespace: str, storage_class: str | None = None
) -> dict[str, Any]:
    """The `spec` of the tenants' Prometheus, in the stack's namespace (where its Alertmanager is too); its volume of
    `storage_class` (imaas:storageClass), or the cluster's default class."""
    rule_key, rule_value = alerts.TENANT_PROMETHEUS_RULE_LABEL
    return {
        "replicas": 1,
        "serviceAccountName": TENANT_PROMETHEUS_ACCOUNT,
        # The platform's rules for this Prometheus (tenants may create none: their roles leave PrometheusRule out),
        # from the namespaces the platform manages: the rules of every tenant service, in the stack's namespace,
        # and a tenant namespace's own thresholds, where it has any. Every rule but the shared one is under the
        # same namespace enforcement as the monitors: its selectors and its series get the rule's namespace. The
        # shared one reads every tenant namespace and keeps each series' own, which the scrape enforced.
        "ruleSelector": {"matchLabels": {**naming.platform_labels(), rule_key: rule_value}},
        "ruleNamespaceSelector": {"matchLabels": naming.platform_labels()},
        "excludedFromEnforcement": [
            {
                "group": "monitoring.coreos.com",
                "resource": "prometheusrules",
                "namespace": stack_namespace,
                "name": alerts.SERVICE_RULES_NAME,
            }
        ],
        "alerting": {
            "alertmanagers": [
                {
                    "namespace": stack_namespace,
                    "name": alerts.ALERTMANAGER_SERVICE,
                    "port": alerts.ALERTMANAGER_PORT_NAME,
                    "apiVersion": "v2",
                    "basicAuth": store_auth.basic_auth_selector(store_auth.TENANT_PROMETHEUS_HOLDER),
                }
            ]
        },
        # Every pod and service monitor in a tenant namespace, the platform's PodMonitor and the tenants' own. No
        # probe or scrape config selector: unset selects none, and tenants may create neither.
        "podMonitorSelector": {},
        "podMonitorNamespaceSelector": isolation.TENANT_NAMESPACES,
        "serviceMonitorSelector": {},
        "serviceMonitorNamespaceSelector": isolation.TENANT_NAMESPACES,
        "ignoreNamespaceSelectors": True,
        "enforcedNamespaceLabel": "namespace",
        # No monitor's honorLabels: a label a pod exposes that the scrape also sets is kept as `exported_<name>`.
        "overrideHonorLabels": True,
        "arbitraryFSAccessThroughSMs": {"deny": True},
        **TENANT_SCRAPE_LIMITS,
        "retention": settings.retention,
        "storage": {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": settings.storage}},
                    **storage.claim_spec(storage_class),
                }
            }
        },
    }


def tenant_prometheus_image(image_mirror: dict[str, str]) -> dict[str, Any]:
    """With an image mirror, the operator's default Prometheus image through it (and its version, which the operator
    needs once `image` is set); without one, nothing: the operator's default."""
    if not image_mirror:
        return {}
    return {
        "image": images.mirrored(images.TENANT_PROMETHEUS_IMAGE, image_mirror),
        "version": images.TENANT_PROMETHEUS_VERSION,
    }


def tenant_prometheus_service_spec() -> dict[str, Any]:
    """Its own Service: the operator's `prometheus-operated` selects every Prometheus of the namespace."""
    key, value = POD_NAME_LABEL
    return {
        "selector": {key: value, INSTANCE_LABEL: TENANT_PROMETHEUS},
        "ports": [{"name": WEB_PORT_NAME, "port": PROMETHEUS_PORT, "targetPort": WEB_PORT_NAME}],
    }
