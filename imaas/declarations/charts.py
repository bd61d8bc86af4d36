"""The third-party charts the platform installs, each at the version it pins here (Renovate bumps them; a stack may
install another, `imaas:chartVersions`), and how the platform's values and a stack's (`imaas:chartValues`) combine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imaas.model.settings import ChartName, StackSettings


@dataclass(frozen=True)
class Chart:
    name: str
    repository: str
    release: str
    """The Helm release name, fixed so that the in-cluster service names below do not depend on Pulumi's naming."""
    setting: ChartName
    """Its key in `imaas:chartVersions` and `imaas:chartValues`."""
    version: str
    """The version the platform was tested with."""
    crd_groups: tuple[str, ...] = ()
    """The API groups whose CRDs the release installs: objects of those groups must wait for it."""
    needs_crd_groups: tuple[str, ...] = ()
    """The API groups of objects the release creates whose CRDs it does not install: it must wait for the release
    that does, because Helm builds every object of a release before any of its hooks runs."""
    node_agent: bool = False
    """Whether the release runs a pod on every node (a DaemonSet), rolled one node at a time: a rollout as long as the
    cluster is large, which `pulumi up` does not wait for (components/helm_release.py)."""


_PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
# The Prometheus Operator's CRDs as ordinary release objects, so that Helm installs and upgrades them before
# anything of their kinds exists; kube-prometheus-stack's own copy is switched off (crds.enabled).
# Prometheus Operator 0.91.0's CRDs: its operator version must be kube-prometheus-stack's.
PROMETHEUS_OPERATOR_CRDS = Chart(
    "prometheus-operator-crds",
    _PROMETHEUS_COMMUNITY,
    "prometheus-operator-crds",
    "prometheusOperatorCrds",
    version="29.0.0",
    crd_groups=("monitoring.coreos.com",),
)
# Prometheus Operator 0.91.0.
KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack",
    _PROMETHEUS_COMMUNITY,
    "kube-prometheus-stack",
    "kubePrometheusStack",
    version="86.3.2",
    needs_crd_groups=("monitoring.coreos.com",),
)
# Since March 2026 the Loki chart in grafana/helm-charts is maintained for Grafana Enterprise Logs only; the open
# source chart lives on in the grafana-community fork.
LOKI = Chart("loki", "https://grafana-community.github.io/helm-charts", "loki", "loki", version="18.11.0")
FLUENT_BIT = Chart(
    "fluent-bit", "https://fluent.github.io/helm-charts", "fluent-bit", "fluentBit", version="0.58.1", node_agent=True
)
# Traces: a multi-tenant store with Loki's model (X-Scope-OrgID), fed by a collector that decides each batch's tenant
# from the namespace of the pod that sent it (imaas/declarations/traces.py).
# Tempo 2.10.8, single binary.
TEMPO = Chart("tempo", "https://grafana-community.github.io/helm-charts", "tempo", "tempo", version="2.2.4")
# The collector 0.158.0, its k8s distribution.
OPENTELEMETRY_COLLECTOR = Chart(
    "opentelemetry-collector",
    "https://open-telemetry.github.io/opentelemetry-helm-charts",
    "opentelemetry-collector",
    "opentelemetryCollector",
    version="0.170.0",
)
ARGO_CD = Chart(
    "argo-cd", "https://argoproj.github.io/argo-helm", "argocd", "argocd", version="10.1.1", crd_groups=("argoproj.io",)
)
# The resource metrics API (metrics.k8s.io) that service autoscalers read; cluster-wide, so in kube-system with the
# cluster's other add-ons.
# metrics-server 0.8.1.
METRICS_SERVER = Chart(
    "metrics-server",
    "https://kubernetes-sigs.github.io/metrics-server/",
    "metrics-server",
    "metricsServer",
    version="3.13.1",
)
METRICS_SERVER_NAMESPACE = "kube-system"
# Tenant secrets: synced from AWS Secrets Manager by each tenant namespace's own SecretStore
# (imaas/declarations/secrets.py).
EXTERNAL_SECRETS = Chart(
    "external-secrets",
    "https://charts.external-secrets.io",
    "external-secrets",
    "externalSecrets",
    version="2.9.0",
    crd_groups=("external-secrets.io", "generators.external-secrets.io"),
)
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
# Certificates of exposed services (imaas/declarations/exposure.py).
# Its repository tags releases with a leading `v`.
CERT_MANAGER = Chart(
    "cert-manager",
    "https://charts.jetstack.io",
    "cert-manager",
    "certManager",
    version="v1.21.1",
    crd_groups=("cert-manager.io", "acme.cert-manager.io"),
)
CERT_MANAGER_NAMESPACE = "cert-manager"
# Revisions Helm keeps per release (one Secret each, every one decoded at each upgrade): enough to roll back a few
# upgrades, bounded whatever the number of upgrades.
MAX_HISTORY = 10
CHARTS = (
    PROMETHEUS_OPERATOR_CRDS,
    KUBE_PROMETHEUS_STACK,
    LOKI,
    FLUENT_BIT,
    TEMPO,
    OPENTELEMETRY_COLLECTOR,
    ARGO_CD,
    METRICS_SERVER,
    EXTERNAL_SECRETS,
    CERT_MANAGER,
)


@dataclass(frozen=True)
class Release:
    """A chart as one stack installs it: the pinned version or the stack's own, and the stack's values."""

    version: str
    values: Mapping[str, Any]


def releases(settings: StackSettings) -> dict[Chart, Release]:
    return {
        chart: Release(
            settings.chart_versions.get(chart.setting, chart.version), settings.chart_values.get(chart.setting, {})
        )
        for chart in CHARTS
    }


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top: mappings are merged key by key, anything else is replaced, as Helm does."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
