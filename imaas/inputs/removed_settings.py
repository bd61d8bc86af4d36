"""Settings of earlier versions, refused by name with what replaced them (docs/upgrading.md) rather than as unknown
keys with a "did you mean"."""

from __future__ import annotations

from typing import Any

from imaas.inputs.problems import Problem
from imaas.inputs.yaml_source import YamlDocument

_READ_WITH_DEPLOY_KEYS = (
    "no longer read: Argo CD reads each service repository with a read-only deploy key that every stack generates "
    "for its own cluster, and no organisation-wide credential remains (docs/operators.md, Repository access); "
    "delete this setting"
)


def _pinned(where: str) -> str:
    return f"was removed: the platform pins it ({where}); delete this setting"


def _moved(to: str) -> str:
    return f"moved to imaas:{to}"


def _preinstalled(addon: str) -> str:
    return (
        f"moved to imaas:preinstalled: list {addon} there where the cluster runs its own (install: false); unlisted, "
        "the stack installs it"
    )


# Where each chart's `version` and `values` were, by the chart's key in chartVersions and chartValues now.
_CHARTS_WERE_AT = {
    "observability.prometheusOperatorCrds": "prometheusOperatorCrds",
    "observability.kubePrometheusStack": "kubePrometheusStack",
    "observability.loki": "loki",
    "observability.fluentBit": "fluentBit",
    "observability.tempo": "tempo",
    "observability.opentelemetryCollector": "opentelemetryCollector",
    "observability.argocd": "argocd",
    "metricsServer": "metricsServer",
    "tenantSecrets.externalSecrets": "externalSecrets",
    "exposure.certManager": "certManager",
}
REMOVED_SETTINGS: dict[str, str] = {
    **{f"{at}.version": _moved(f"chartVersions.{chart}") for at, chart in _CHARTS_WERE_AT.items()},
    **{f"{at}.values": _moved(f"chartValues.{chart}") for at, chart in _CHARTS_WERE_AT.items()},
    "argocdPreinstalled": _preinstalled("argocd"),
    "observability.argocd.install": _preinstalled("argocd"),
    "metricsServer.install": _preinstalled("metricsServer"),
    "tenantSecrets.externalSecrets.install": _preinstalled("externalSecrets"),
    "exposure.certManager.install": _preinstalled("certManager"),
    "observability.tempo.storage.size": _moved("observability.tempo.storage"),
    "observability.tempo.storage.s3Bucket": _moved("observability.tempo.bucket.name"),
    "observability.tempo.storage.s3Region": _moved("observability.tempo.bucket.region"),
    "observability.tempo.storage.roleArn": _moved("observability.tempo.bucket.roleArn"),
    "observability.opentelemetryCollector.replicas": _moved("chartValues.opentelemetryCollector.replicaCount"),
    "argocdGithubApp": _READ_WITH_DEPLOY_KEYS,
    "argocdGithubAppPrivateKey": _READ_WITH_DEPLOY_KEYS,
    "observability.proxyImage": _pinned("imaas/declarations/images.py, STORE_PROXY_IMAGE"),
    "observability.grafana.reconcilerImage": _pinned("imaas/declarations/images.py, PYTHON_IMAGE"),
    "observability.grafana.metricsProxyImage": _pinned("imaas/declarations/images.py, METRICS_PROXY_IMAGE"),
    "promotion.image": _pinned("imaas/declarations/images.py, PYTHON_IMAGE"),
    "observability.grafana.reconcileSchedule": _pinned("imaas/declarations/tenant_config.py, RECONCILE_SCHEDULE"),
    "promotion.intervalSeconds": _pinned("imaas/declarations/promotion.py, GATE_INTERVAL_SECONDS"),
    "observability.tenantPrometheus.limits": _pinned("imaas/declarations/prometheus.py, TENANT_SCRAPE_LIMITS"),
    "observabilityLimits": _pinned("imaas/declarations/store_limits.py, OBSERVABILITY_LIMITS, per tenant size"),
    "imageRetention": _pinned("imaas/declarations/delivery.py, KEEP_IMAGES, KEEP_PROMOTED_IMAGES, UNTAGGED_IMAGE_DAYS"),
    "clusterServer": _pinned("imaas/declarations/argocd.py, IN_CLUSTER_SERVER: the stack's own cluster"),
    "exposure.namespace": _pinned("imaas/model/settings.py, GATEWAY_NAMESPACE"),
    "exposure.gatewayName": _pinned("imaas/model/settings.py, GATEWAY_NAME"),
    "exposure.gatewayApiVersion": _pinned("imaas/model/settings.py, GATEWAY_API_VERSION"),
}
"""By dotted path under `imaas:`: what each removed or moved setting became."""


def removed_settings(document: YamlDocument) -> list[Problem]:
    """A problem for each setting of REMOVED_SETTINGS that `document` (the `imaas:` values) still sets, at its key."""
    problems = []
    for path, message in REMOVED_SETTINGS.items():
        location = tuple(path.split("."))
        node: Any = document.data
        for part in location:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            problems.append(document.problem(location, message, key=True))
    return problems
