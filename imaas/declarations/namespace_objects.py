"""The names of the objects the platform itself declares in every tenant namespace: one definition, which the
components declare them by and the rules read.

A tenant's Argo CD Applications give every object of a service the prefix `<service>-` (kustomize `namePrefix`),
and the rest of the name is the service repository's, which the tenant writes: a service whose name is a dash-prefix
of one of these (service `argocd` and `argocd-deployer`) could name one of its own objects as the platform's.
"""

from __future__ import annotations

from imaas.declarations import alerts, connections, exposure, isolation, prometheus, secrets, telemetry

QUOTA = "tenant-quota"
LIMITS = "tenant-limits"
NETWORK_POLICY = "tenant-isolation"
DEVELOPER_ROLE = "tenant-developer"
VIEWER_ROLE = "tenant-viewer"
DEPLOYER_ROLE = "tenant-deployer"

PLATFORM_OBJECT_NAMES: frozenset[str] = frozenset(
    {
        QUOTA,
        LIMITS,
        NETWORK_POLICY,
        DEVELOPER_ROLE,
        VIEWER_ROLE,
        DEPLOYER_ROLE,
        isolation.DEPLOYER_ACCOUNT,
        prometheus.TENANT_PROMETHEUS_ACCOUNT,
        telemetry.POD_MONITOR_NAME,
        alerts.THRESHOLD_RULES_NAME,
        alerts.ALERTMANAGER_CONFIG_NAME,
        secrets.STORE,
        secrets.STORE_ACCOUNT,
        exposure.LISTENER_SET,
    }
)
"""Every name the platform gives an object in a tenant namespace (kinds aside: a tenant chooses its kinds too),
but those of PLATFORM_NAME_PREFIXES."""
PLATFORM_NAME_PREFIXES: tuple[str, ...] = (
    connections.SERVICE_POLICY_PREFIX,
    exposure.ROUTE_PREFIX,
    exposure.CERTIFICATE_PREFIX,
    secrets.OBJECT_PREFIX,
)
"""The prefixes of the names the platform gives one service's objects in a tenant namespace (its egress policy,
route, certificate and secrets): `<prefix><service>...`."""


def reserved_service_names() -> dict[str, str]:
    """The service names that would prefix a name to one of the platform's: each with that platform object's name.
    `a-b-c` reserves `a` and `a-b`."""
    reserved: dict[str, str] = {}
    for name in sorted({*PLATFORM_OBJECT_NAMES, *(prefix + "<service>" for prefix in PLATFORM_NAME_PREFIXES)}):
        parts = name.split("-")
        for end in range(1, len(parts)):
            reserved.setdefault("-".join(parts[:end]), name)
    return reserved
