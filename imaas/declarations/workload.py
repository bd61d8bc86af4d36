"""What the platform sets on every service's workload at each sync, whatever the service's repository says: the pod
size and scaling bounds its tenant file gives, the rolling update that keeps full capacity, and the variables that
tell the service where it runs.

Applied as kustomize patches of the service's Argo CD Application (`spec.source.kustomize.patches`), which Argo CD
appends to the overlay's `patches` before it builds: they run before the Application's `namePrefix`, so they target
the template's own names. Kept as plain data so that the Application, the capacity check and the tests that render
the patches with the real kustomize share one definition.
"""

from __future__ import annotations

import json
from typing import Any

from imaas.declarations import secrets
from imaas.declarations.telemetry import OTLP_ENDPOINT_VARIABLE, otlp_endpoint
from imaas.model.settings import BUILTIN_SERVICE_SIZES, PodSize, StackSettings
from imaas.model.tenant import DEFAULT_SERVICE_SIZE, Service, Tenant

# The names the service template gives its objects (templates/service/deploy/base).
DEPLOYMENT = "wso2mi-service"
CONTAINER = "wso2mi"
AUTOSCALER = "wso2mi-service"
SURGE = 1
"""Pods a rolling update adds above the current count; none is taken away first (`maxUnavailable: 0`), so a
release never runs below the capacity the autoscaler asked for, and the quota must hold the extra pod."""


def runtime_environment(tenant: Tenant, service: Service, environment: str, settings: StackSettings) -> dict[str, str]:
    """The variables set on the service's container: who and where it is, for its logs, traces and metrics, and where
    it sends its traces (the template's deployment.toml reads IMAAS_OTLP_ENDPOINT); the endpoint belongs to the stack,
    so the template cannot know it. Without an observability stack the template's own default stays."""
    variables = {"IMAAS_TENANT": tenant.name, "IMAAS_ENVIRONMENT": environment, "IMAAS_SERVICE": service.name}
    endpoint = otlp_endpoint(settings, environment)
    if endpoint is not None:
        variables[OTLP_ENDPOINT_VARIABLE] = endpoint
    return variables


def _strategic_merge(group: str, version: str, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    # JSON is YAML to kustomize, and far cheaper to write than YAML for every Application of a large plan.
    api_version = f"{group}/{version}" if group else version
    body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}
    return {"target": {"group": group, "kind": kind, "name": name}, "patch": json.dumps(body, separators=(",", ":"))}


def workload_patches(
    tenant: Tenant, service: Service, environment: str, settings: StackSettings
) -> list[dict[str, Any]]:
    """The kustomize patches of the service's Application in `environment`."""
    bounds = service.replicas.of(environment)
    size = settings.service_sizes[service.size]
    variables = runtime_environment(tenant, service, environment, settings)
    container = {
        "name": CONTAINER,
        "resources": {"requests": size.requests.as_kubernetes(), "limits": size.limits.as_kubernetes()},
        # Merged by name into the container's own list: the template's variables stay.
        "env": [
            *({"name": name, "value": value} for name, value in variables.items()),
            # Each secret from its synced Secret (imaas/declarations/secrets.py), for deployment.toml's
            # $env{IMAAS_SECRET_...}.
            *secrets.container_variables(service),
        ],
    }
    deployment = {
        # The autoscaler owns the replica count: a null removes one a repository may set, so that Argo CD never
        # resets what the autoscaler chose (no ignoreDifferences needed), and a sync never scales the service down.
        "replicas": None,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": SURGE, "maxUnavailable": 0}},
        "template": {"spec": {"containers": [container]}},
    }
    autoscaler = {"minReplicas": bounds.min, "maxReplicas": bounds.max}
    return [
        _strategic_merge("apps", "v1", "Deployment", DEPLOYMENT, deployment),
        _strategic_merge("autoscaling", "v2", "HorizontalPodAutoscaler", AUTOSCALER, autoscaler),
    ]


def quota_usage(size: PodSize) -> dict[str, str]:
    """What one pod of `size` counts against its namespace's ResourceQuota, by the quota's own keys
    (imaas.declarations.isolation.quota_hard)."""
    usage = {"pods": "1"}
    for side, resources in (("requests", size.requests), ("limits", size.limits)):
        usage |= {f"{side}.{name}": value for name, value in resources.as_kubernetes().items()}
    return usage


def quota_usage_keys() -> list[str]:
    """The quota keys a service's pods count against, in the order messages list them."""
    return list(quota_usage(BUILTIN_SERVICE_SIZES[DEFAULT_SERVICE_SIZE]))
