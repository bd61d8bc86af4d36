"""The third-party charts the platform installs, each at the version its stack settings pin, and how the
platform's values and a stack's overrides combine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Chart:
    name: str
    repository: str
    release: str
    """The Helm release name, fixed so that the in-cluster service names below do not depend on Pulumi's naming."""
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
PROMETHEUS_OPERATOR_CRDS = Chart(
    "prometheus-operator-crds",
    _PROMETHEUS_COMMUNITY,
    "prometheus-operator-crds",
    crd_groups=("monitoring.coreos.com",),
)
KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack",
    _PROMETHEUS_COMMUNITY,
    "kube-prometheus-stack",
    needs_crd_groups=("monitoring.coreos.com",),
)
# Since March 2026 the Loki chart in grafana/helm-charts is maintained for Grafana Enterprise Logs only; the open
# source chart lives on in the grafana-community fork.
LOKI = Chart("loki", "https://grafana-community.github.io/helm-charts", "loki")
FLUENT_BIT = Chart("fluent-bit", "https://fluent.github.io/helm-charts", "fluent-bit", node_agent=True)
# Traces: a multi-tenant store with Loki's model (X-Scope-OrgID), fed by a collector that decides each batch's tenant
# from the namespace of the pod that sent it (imaas/declarations/traces.py).
TEMPO = Chart("tempo", "https://grafana-community.github.io/helm-charts", "tempo")
OPENTELEMETRY_COLLECTOR = Chart(
    "opentelemetry-collector", "https://open-telemetry.github.io/opentelemetry-helm-charts", "opentelemetry-collector"
)
ARGO_CD = Chart("argo-cd", "https://argoproj.github.io/argo-helm", "argocd", crd_groups=("argoproj.io",))
# The resource metrics API (metrics.k8s.io) that service autoscalers read; cluster-wide, so in kube-system with the
# cluster's other add-ons.
METRICS_SERVER = Chart("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "metrics-server")
METRICS_SERVER_NAMESPACE = "kube-system"
# Tenant secrets: synced from AWS Secrets Manager by each tenant namespace's own SecretStore
# (imaas/declarations/secrets.py).
EXTERNAL_SECRETS = Chart(
    "external-secrets",
    "https://charts.external-secrets.io",
    "external-secrets",
    crd_groups=("external-secrets.io", "generators.external-secrets.io"),
)
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
# Certificates of exposed services (imaas/declarations/exposure.py).
CERT_MANAGER = Chart(
    "cert-manager", "https://charts.jetstack.io", "cert-manager", crd_groups=("cert-manager.io", "acme.cert-manager.io")
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


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` on top: mappings are merged key by key, anything else is replaced, as Helm does."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
