"""A tenant's Argo CD AppProject, as plain data: the fence around its delivery. Its applications may come only from
its own repositories, go only to its own namespaces, sync as its own deployer accounts, and create no cluster-scoped
object nor any object of the namespace fence."""

from __future__ import annotations

from imaas.declarations import alerts, argocd, exposure, isolation, naming, secrets, telemetry
from imaas.declarations.isolation import DEPLOYER_ACCOUNT
from imaas.model.tenant import Tenant

PLATFORM_OBJECTS = [
    {"group": "", "kind": "ServiceAccount", "name": DEPLOYER_ACCOUNT},
    {"group": "monitoring.coreos.com", "kind": "PodMonitor", "name": telemetry.POD_MONITOR_NAME},
    {"group": "monitoring.coreos.com", "kind": "PrometheusRule", "name": alerts.THRESHOLD_RULES_NAME},
    {"group": "monitoring.coreos.com", "kind": "AlertmanagerConfig", "name": alerts.ALERTMANAGER_CONFIG_NAME},
    # What a service's secrets and exposure put there: the store's account, the routes, and the Secrets that
    # External Secrets Operator and cert-manager write (Argo CD matches names as globs).
    {"group": "", "kind": "ServiceAccount", "name": secrets.STORE_ACCOUNT},
    {"group": exposure.GROUP, "kind": "HTTPRoute", "name": f"{exposure.ROUTE_PREFIX}*"},
    {"group": "", "kind": "Secret", "name": f"{secrets.OBJECT_PREFIX}*"},
    {"group": "", "kind": "Secret", "name": f"{exposure.CERTIFICATE_PREFIX}*"},
]
"""What the platform itself puts in each tenant namespace besides the fence (Argo CD matches `group` exactly)."""
# Kinds a tenant's delivery never writes, beside the fence: External Secrets Operator's and cert-manager's (their
# objects read secrets and claim hosts for whoever writes them) and the Gateway API's but HTTPRoute. Denied to the
# project, so never reported as orphans either; the admission rules refuse them too.
PLATFORM_ONLY_KINDS = [
    *({"group": group, "kind": "*"} for group in (*secrets.API_GROUPS, *exposure.CERT_MANAGER_GROUPS)),
    *({"group": exposure.GROUP, "kind": kind} for kind in exposure.PLATFORM_ONLY_KIND_NAMES),
]


def project_roles(tenant: Tenant) -> list[dict[str, object]]:
    """Read and sync for the tenant's developers, read for its viewers, on the tenant's own applications only."""
    project = naming.app_project(tenant.name)

    def role(name: str, actions: list[str], groups: list[str]) -> dict[str, object]:
        subject = f"proj:{project}:{name}"
        policies = [f"p, {subject}, applications, {action}, {project}/*, allow" for action in actions]
        return {"name": name, "description": f"{tenant.name} {name}", "policies": policies, "groups": groups}

    roles = []
    access = tenant.spec.access
    if access.developers:
        roles.append(role("developers", ["get", "sync"], access.developers))
    if access.viewers:
        roles.append(role("viewers", ["get"], access.viewers))
    return roles


def app_project_spec(tenant: Tenant, environments: list[str], github_owner: str) -> dict[str, object]:
    """The AppProject's spec for the tenant's `environments` that the stack hosts."""
    server = argocd.IN_CLUSTER_SERVER
    namespaces = [naming.namespace(tenant.name, environment) for environment in environments]
    return {
        "description": f"{tenant.metadata.display_name or tenant.name} ({tenant.metadata.contact})",
        "sourceRepos": [
            naming.repository_url(github_owner, tenant.name, service.name) for service in tenant.active_services()
        ],
        "destinations": [{"server": server, "namespace": namespace} for namespace in namespaces],
        # Empty means none: tenants deploy namespaced objects only.
        "clusterResourceWhitelist": [],
        "namespaceResourceBlacklist": [
            *({"group": group, "kind": kind} for group, kind in isolation.FENCE_KINDS),
            *PLATFORM_ONLY_KINDS,
        ],
        # Argo CD warns about objects in a destination namespace that no application owns. The fence kinds are
        # denied to the project and so never reported; the platform's other objects there are ignored by name, so
        # that a warning means something a tenant left behind.
        "orphanedResources": {"warn": True, "ignore": PLATFORM_OBJECTS},
        "destinationServiceAccounts": [
            {"server": server, "namespace": namespace, "defaultServiceAccount": DEPLOYER_ACCOUNT}
            for namespace in namespaces
        ],
        "roles": project_roles(tenant),
    }
