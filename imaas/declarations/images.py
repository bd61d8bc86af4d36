"""The images the platform's own workloads run, and how each is pulled through a registry mirror when the stack names
one (`imaas:imageMirror`: an ECR pull-through cache rule per upstream registry), instead of anonymously from Docker
Hub, Quay and the others.

A chart's images are the defaults of its `values.yaml`, read at the pinned version (sources below); where a chart
builds an image from `registry` and `repository`, the mirror replaces the registry, otherwise the whole repository.
Blocks whose default is empty take another block's image (`INHERITING`); a chart bump must re-read both lists, which
`tests/test_images.py` holds against the chart key data.

Sources (each chart's values.yaml at its release tag): kube-prometheus-stack-86.3.2, grafana-12.4.8 (its
dependency), kube-state-metrics-7.5.1 and prometheus-node-exporter-4.55.0 (its dependencies), loki-18.11.0,
fluent-bit-0.58.1, tempo-2.2.4, opentelemetry-collector-0.170.0, argo-cd-10.1.1, metrics-server-helm-chart-3.13.1,
external-secrets helm-chart-2.9.0 and cert-manager v1.21.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from imaas.declarations import charts
from imaas.model.names import registry_of, split_reference

# The Prometheus Operator v0.91.0's default Prometheus image (pkg/operator/defaults.go, DefaultPrometheusImage: the
# last entry of its compatibility matrix), which the tenants' Prometheus runs when its spec names none.
TENANT_PROMETHEUS_VERSION = "v3.11.3"
TENANT_PROMETHEUS_IMAGE = f"quay.io/prometheus/prometheus:{TENANT_PROMETHEUS_VERSION}"
# The platform's own programs (the tenant-configuration job, the collector's reloader, the promotion gate) use the
# standard library only: any Python 3.11+ runs them. A release the machines of this project know of (pyenv's list).
PYTHON_IMAGE = "docker.io/library/python:3.13.13-slim"
# prom-label-proxy, which confines each tenant organisation's metric queries in Grafana to its namespaces.
METRICS_PROXY_IMAGE = "quay.io/prometheuscommunity/prom-label-proxy:v0.14.0"
# The nginx that checks the platform's credentials in front of Loki (the chart's gateway), Tempo and Alertmanager (a
# container beside each): one image, so that one configuration syntax is tested. The Loki chart's own gateway image
# (loki 18.11.0 values.yaml, `gateway.image`).
STORE_PROXY_IMAGE = "docker.io/nginxinc/nginx-unprivileged:1.31-alpine"
PINNED_IMAGES = (PYTHON_IMAGE, METRICS_PROXY_IMAGE, STORE_PROXY_IMAGE)
"""The images the platform pins outside its charts' values (Renovate bumps them here)."""


@dataclass(frozen=True)
class ChartImage:
    path: tuple[str, ...]
    """The image block in the chart's values."""
    reference: str
    """The image the chart's values name by default, without tag."""
    style: Literal["registry", "repository"]
    """`registry`: the chart joins `registry` and `repository`; `repository`: the repository is the whole name."""


def _images(style: Literal["registry", "repository"], *entries: tuple[str, str]) -> tuple[ChartImage, ...]:
    return tuple(ChartImage(tuple(path.split(".")), reference, style) for path, reference in entries)


CHART_IMAGES: dict[str, tuple[ChartImage, ...]] = {
    charts.KUBE_PROMETHEUS_STACK.name: _images(
        "registry",
        ("crds.upgradeJob.image.busybox", "docker.io/busybox"),
        ("crds.upgradeJob.image.kubectl", "registry.k8s.io/kubectl"),
        ("alertmanager.alertmanagerSpec.image", "quay.io/prometheus/alertmanager"),
        ("prometheusOperator.admissionWebhooks.deployment.image", "quay.io/prometheus-operator/admission-webhook"),
        ("prometheusOperator.admissionWebhooks.patch.image", "ghcr.io/jkroepke/kube-webhook-certgen"),
        ("prometheusOperator.image", "quay.io/prometheus-operator/prometheus-operator"),
        ("prometheusOperator.prometheusConfigReloader.image", "quay.io/prometheus-operator/prometheus-config-reloader"),
        ("prometheusOperator.thanosImage", "quay.io/thanos/thanos"),
        ("prometheus.prometheusSpec.image", "quay.io/prometheus/prometheus"),
        ("thanosRuler.thanosRulerSpec.image", "quay.io/thanos/thanos"),
        ("grafana.image", "docker.io/grafana/grafana"),
        ("grafana.testFramework.image", "docker.io/bats/bats"),
        ("grafana.downloadDashboardsImage", "docker.io/curlimages/curl"),
        ("grafana.initChownData.image", "docker.io/library/busybox"),
        ("grafana.sidecar.image", "quay.io/kiwigrid/k8s-sidecar"),
        ("grafana.imageRenderer.image", "docker.io/grafana/grafana-image-renderer"),
        ("kube-state-metrics.image", "registry.k8s.io/kube-state-metrics/kube-state-metrics"),
        ("kube-state-metrics.kubeRBACProxy.image", "quay.io/brancz/kube-rbac-proxy"),
        ("prometheus-node-exporter.image", "quay.io/prometheus/node-exporter"),
        ("prometheus-node-exporter.kubeRBACProxy.image", "quay.io/brancz/kube-rbac-proxy"),
        ("prometheus-node-exporter.permissionInitContainer.image", "quay.io/prometheus/busybox"),
    ),
    charts.PROMETHEUS_OPERATOR_CRDS.name: (),
    charts.LOKI.name: _images(
        "registry",
        ("defaults.statefulSetRecreateJob.image", "registry.k8s.io/kubectl"),
        ("loki.image", "docker.io/grafana/loki"),
        ("test.image", "docker.io/grafana/loki-helm-test"),
        ("lokiCanary.image", "docker.io/grafana/loki-canary"),
        ("gateway.image", "docker.io/nginxinc/nginx-unprivileged"),
        ("gateway.metrics.image", "ghcr.io/jkroepke/access-log-exporter"),
        ("memcached.image", "docker.io/library/memcached"),
        ("memcachedExporter.image", "docker.io/prom/memcached-exporter"),
        ("sidecar.image", "docker.io/kiwigrid/k8s-sidecar"),
    ),
    charts.FLUENT_BIT.name: _images(
        "repository",
        ("image", "cr.fluentbit.io/fluent/fluent-bit"),
        ("testFramework.image", "busybox"),
        ("hotReload.image", "ghcr.io/jimmidyson/configmap-reload"),
    ),
    charts.TEMPO.name: (
        *_images("registry", ("tempo", "docker.io/grafana/tempo")),
        *_images("repository", ("tempoQuery", "grafana/tempo-query")),
    ),
    # The platform names the collector's image itself (imaas/declarations/traces.py); the chart has no default.
    charts.OPENTELEMETRY_COLLECTOR.name: _images("repository", ("image", "otel/opentelemetry-collector-k8s")),
    charts.ARGO_CD.name: _images(
        "repository",
        ("global.image", "quay.io/argoproj/argocd"),
        ("dex.image", "ghcr.io/dexidp/dex"),
        ("redis.image", "ecr-public.aws.com/docker/library/redis"),
        ("redis.exporter.image", "ghcr.io/oliver006/redis_exporter"),
        ("redis-ha.image", "ecr-public.aws.com/docker/library/redis"),
        ("server.extensions.image", "quay.io/argoprojlabs/argocd-extension-installer"),
    ),
    charts.METRICS_SERVER.name: _images(
        "repository",
        ("image", "registry.k8s.io/metrics-server/metrics-server"),
        ("addonResizer.image", "registry.k8s.io/autoscaling/addon-resizer"),
    ),
    # Every component runs the one image (global.repository unset).
    charts.EXTERNAL_SECRETS.name: _images(
        "repository",
        ("image", "ghcr.io/external-secrets/external-secrets"),
        ("webhook.image", "ghcr.io/external-secrets/external-secrets"),
        ("certController.image", "ghcr.io/external-secrets/external-secrets"),
    ),
    # The chart builds each name from imageRegistry (quay.io), imageNamespace (jetstack) and the block's `name`,
    # unless the block's `repository` is set, which is then the whole name (its `registry` left unset).
    charts.CERT_MANAGER.name: _images(
        "repository",
        ("image", "quay.io/jetstack/cert-manager-controller"),
        ("webhook.image", "quay.io/jetstack/cert-manager-webhook"),
        ("cainjector.image", "quay.io/jetstack/cert-manager-cainjector"),
        ("acmesolver.image", "quay.io/jetstack/cert-manager-acmesolver"),
        ("startupapicheck.image", "quay.io/jetstack/cert-manager-startupapicheck"),
    ),
}
# Image blocks whose default is empty: the chart takes another block's image (the one named), which is mirrored.
_LOKI_COMPONENTS = [
    "singleBinary",
    "write",
    "read",
    "backend",
    "ingester",
    "distributor",
    "querier",
    "queryFrontend",
    "queryScheduler",
    "indexGateway",
    "compactor",
    "bloomGateway",
    "bloomPlanner",
    "bloomBuilder",
    "patternIngester",
    "ruler",
    "overridesExporter",
    "tableManager",
]
_ARGO_CD_COMPONENTS = [
    "controller",
    "dex.initImage",
    "redisSecretInit",
    "server",
    "repoServer",
    "applicationSet",
    "notifications",
    "commitServer",
]
INHERITING: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {
    charts.LOKI.name: {(component, "image"): ("loki", "image") for component in _LOKI_COMPONENTS},
    charts.ARGO_CD.name: {
        (*component.split("."), *([] if "." in component else ["image"])): ("global", "image")
        for component in _ARGO_CD_COMPONENTS
    },
}


def platform_registries() -> set[str]:
    """Every upstream registry the platform's images come from."""
    images = [image.reference for entries in CHART_IMAGES.values() for image in entries]
    return {registry_of(reference) for reference in [*images, TENANT_PROMETHEUS_IMAGE, *PINNED_IMAGES]}


def mirrored(reference: str, mirror: Mapping[str, str]) -> str:
    """`reference` pulled through the mirror of its registry (unchanged where no mirror is set)."""
    if not mirror:
        return reference
    registry, repository, suffix = split_reference(reference)
    return f"{mirror[registry]}/{repository}{suffix}"


def chart_image_values(chart: str, mirror: Mapping[str, str]) -> dict[str, Any]:
    """The values that make every image of `chart` come through the mirror; none without one."""
    values: dict[str, Any] = {}
    if not mirror:
        return values
    for image in CHART_IMAGES[chart]:
        registry, repository, _ = split_reference(image.reference)
        block: dict[str, Any] = (
            {"registry": mirror[registry], "repository": repository}
            if image.style == "registry"
            else {"repository": f"{mirror[registry]}/{repository}"}
        )
        node = values
        for segment in image.path[:-1]:
            node = node.setdefault(segment, {})
        node[image.path[-1]] = block
    return values
