"""The RBAC the platform declares, as plain data: the rules of the roles inside a tenant namespace (developer,
viewer, and the deployer Argo CD syncs as), none cluster-wide and none touching the namespace's fence (quota, limit
range, network policy, RBAC); and the one shape of a binding of a Role to accounts or groups."""

from __future__ import annotations

from typing import Any

READ = ["get", "list", "watch"]
WRITE = [*READ, "create", "update", "patch", "delete"]
RBAC_GROUP = "rbac.authorization.k8s.io"

# Developers change workloads by hand in these environments; prod changes only through delivery.
HANDS_ON_ENVIRONMENTS = frozenset({"dev", "test"})

# What a tenant's delivery manages: the kinds of the service template's deploy manifests, and their kin.
WORKLOADS: dict[str, list[str]] = {
    "": ["configmaps", "secrets", "services", "persistentvolumeclaims", "serviceaccounts"],
    "apps": ["deployments", "statefulsets"],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["ingresses"],
    "monitoring.coreos.com": ["podmonitors", "servicemonitors"],
    # Routes of the tenant's own hosts, to its namespace's ListenerSet only (the admission rule imaas-route-hosts).
    "gateway.networking.k8s.io": ["httproutes"],
}
# What people look at without changing it; secrets are left out of plain viewing.
OBSERVED: dict[str, list[str]] = {
    "": ["pods", "pods/log", "events", "configmaps", "services", "persistentvolumeclaims", "resourcequotas",
         "limitranges", "serviceaccounts"],
    "apps": ["deployments", "statefulsets", "replicasets"],
    "batch": ["jobs", "cronjobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "monitoring.coreos.com": ["podmonitors", "servicemonitors"],
    "gateway.networking.k8s.io": ["httproutes", "listenersets"],
    "external-secrets.io": ["externalsecrets", "secretstores"],
    "cert-manager.io": ["certificates"],
}  # fmt: skip


def _rules(resources: dict[str, list[str]], verbs: list[str]) -> list[dict[str, Any]]:
    return [{"apiGroups": [group], "resources": kinds, "verbs": verbs} for group, kinds in resources.items()]


def viewer_rules() -> list[dict[str, Any]]:
    return _rules(OBSERVED, READ)


def deployer_rules() -> list[dict[str, Any]]:
    """Argo CD's account in the namespace: it reads what people read and writes the workloads."""
    return [*viewer_rules(), *_rules(WORKLOADS, WRITE)]


def developer_rules(environment: str) -> list[dict[str, Any]]:
    """The deployer's rules, a shell and port-forward into pods, and restarts, where developers work by hand; a
    viewer's elsewhere."""
    if environment not in HANDS_ON_ENVIRONMENTS:
        return viewer_rules()
    debugging = {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["create", "get"]}
    restart = {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}
    return [*deployer_rules(), debugging, restart]


def role_ref(role: str) -> dict[str, str]:
    """A binding's reference to the Role `role` of its own namespace."""
    return {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role}


def account_subjects(account: str, namespace: str) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]


def group_subjects(groups: list[str]) -> list[dict[str, str]]:
    """The identity provider's `groups`, as the API server sees them."""
    return [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": group} for group in groups]
