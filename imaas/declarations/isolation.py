"""Who may reach whom, and how much a tenant may use: the isolation rules of DESIGN section 6 as plain data.

Kept free of Pulumi so that the components, the policy pack and the tests share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaas.declarations import naming
from imaas.model.settings import Quota, StackSettings
from imaas.model.tenant import Tenant

POD_SECURITY_LEVEL = "restricted"
# The security context of every container the platform runs itself (its jobs, proxies and gate): nothing more than
# the restricted Pod Security level allows.
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
DEPLOYER_ACCOUNT = "argocd-deployer"
"""The ServiceAccount of each tenant namespace that Argo CD syncs the tenant's Applications as."""
# Link-local addresses answer for the node, not the world: the instance metadata service and EKS Pod Identity would
# hand tenant pods the node's credentials, which can pull every tenant's images.
NODE_LOCAL = {"0.0.0.0/0": ["169.254.0.0/16"], "::/0": ["fe80::/10", "fd00:ec2::/32"]}
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Tenant namespaces, told apart by the label only the platform sets on a Namespace: for the selectors of the
# admission bindings and of the two Prometheus.
TENANT_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": naming.TENANT_LABEL, "operator": "Exists"}]}
NOT_TENANT_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": naming.TENANT_LABEL, "operator": "DoesNotExist"}]}

# Kinds a tenant must never change itself: they are its fence.
FENCE_KINDS: tuple[tuple[str, str], ...] = (
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
)


POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def pod_security_labels(level: str = POD_SECURITY_LEVEL, version: str | None = "latest") -> dict[str, str]:
    """The namespace labels that have Pod Security enforce, audit and warn at `level` (pinned to `version`)."""
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        label = POD_SECURITY_ENFORCE_LABEL.replace("enforce", mode)
        labels[label] = level
        if version is not None:
            labels[f"{label}-version"] = version
    return labels


# What a tenant namespace's quota must bound, whatever its size: compute, disk and the objects that cost the API
# server or the shared scraper without running a pod.
BOUNDED_RESOURCES = frozenset({
    "requests.cpu", "limits.cpu", "requests.memory", "limits.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.ephemeral-storage", "pods", "persistentvolumeclaims", "services",
    "configmaps", "secrets", "count/deployments.apps", "count/statefulsets.apps", "count/jobs.batch",
    "count/cronjobs.batch", "count/ingresses.networking.k8s.io", "count/servicemonitors.monitoring.coreos.com",
    "count/podmonitors.monitoring.coreos.com", "count/serviceaccounts", "count/poddisruptionbudgets.policy",
    "count/horizontalpodautoscalers.autoscaling", "count/replicasets.apps",
    "count/httproutes.gateway.networking.k8s.io",
})  # fmt: skip
# ReplicaSets a Deployment keeps: its current one and up to ten old ones (`revisionHistoryLimit`'s default).
REPLICA_SETS_PER_DEPLOYMENT = 11


def quota_hard(quota: Quota) -> dict[str, str]:
    """The ResourceQuota `hard` map of a tenant namespace.

    Object counts follow the pod count, so that a bigger size brings room for the configuration its pods need, and
    no tenant can fill the API server's store or the shared scraper's target list with objects that use no pod;
    NodePorts and LoadBalancers are always 0: tenants are reached through the shared ingress only.
    """
    few = str(max(5, quota.pods // 4))
    return {
        "requests.cpu": quota.cpu,
        "limits.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "limits.memory": quota.memory,
        "requests.storage": quota.storage,
        "requests.ephemeral-storage": quota.ephemeral_storage,
        "limits.ephemeral-storage": quota.ephemeral_storage,
        "pods": str(quota.pods),
        "persistentvolumeclaims": few,
        "services": str(max(10, quota.pods // 2)),
        "configmaps": str(quota.pods * 2),
        "secrets": str(quota.pods * 2),
        "count/deployments.apps": str(quota.pods),
        "count/statefulsets.apps": few,
        "count/jobs.batch": str(quota.pods),
        "count/cronjobs.batch": few,
        "count/ingresses.networking.k8s.io": few,
        "count/httproutes.gateway.networking.k8s.io": few,
        "count/servicemonitors.monitoring.coreos.com": few,
        "count/podmonitors.monitoring.coreos.com": few,
        # A service's own account, autoscaler and disruption budget each: as many as the workloads that can run.
        "count/serviceaccounts": str(max(10, quota.pods // 2)),
        "count/horizontalpodautoscalers.autoscaling": str(quota.pods),
        "count/poddisruptionbudgets.policy": str(quota.pods),
        "count/replicasets.apps": str(quota.pods * REPLICA_SETS_PER_DEPLOYMENT),
        "services.nodeports": "0",
        "services.loadbalancers": "0",
    }


@dataclass(frozen=True)
class NetworkPeers:
    """The namespaces, other than its own, that a tenant namespace exchanges traffic with."""

    ingress_from: list[str]
    """The platform's namespaces and the same environment's namespaces of the tenants its `allowFrom` names."""
    egress_environment: str
    """Out, it may reach every tenant namespace of this environment (TENANT_NAMESPACES_OF); each callee's own
    ingress is the fence, so that no tenant's policies depend on who names whom in another tenant's file."""


def tenant_namespaces_of(environment: str) -> dict[str, Any]:
    """The namespace selector of every tenant namespace of `environment`: labels only the platform sets on a
    Namespace (a tenant edits no Namespace object)."""
    return {
        "matchLabels": {naming.ENVIRONMENT_LABEL: environment},
        "matchExpressions": [{"key": naming.TENANT_LABEL, "operator": "Exists"}],
    }


def network_peers(tenant: Tenant, environment: str, settings: StackSettings) -> NetworkPeers:
    """In: the platform's namespaces, and the same environment's of the tenants it names in `allowFrom` (whether
    or not they have that environment yet). Out: any tenant namespace of the same environment, whose own policy
    decides whether to admit it. Read from the tenant's own file alone: a tenant stack's inputs are its file and
    its cluster's settings (DESIGN section 3)."""
    callers = sorted({naming.namespace(name, environment) for name in tenant.spec.network.allow_from})
    return NetworkPeers(ingress_from=[*sorted(settings.platform_namespaces), *callers], egress_environment=environment)


@dataclass(frozen=True)
class PriorityClass:
    """A PriorityClass the platform declares for tenants' pods: the only ones a tenant's pod may name."""

    name: str
    value: int
    description: str
    preemption_policy: str = "Never"

    def manifest_fields(self) -> dict[str, object]:
        """The PriorityClass's fields beside `metadata` (it has no `spec`)."""
        return {
            "value": self.value,
            "globalDefault": False,
            "preemptionPolicy": self.preemption_policy,
            "description": self.description,
        }


# The classes a tenant's pods may name (the admission rule `imaas-priority-classes` refuses every other). None is
# above 0, so nothing a tenant runs outranks the platform's and the cluster's own pods (system-node-critical,
# system-cluster-critical, or the platform's classes), and neither preempts: a pod of these classes waits for room
# rather than evicting anyone's. Neither is the cluster's global default, which would apply cluster-wide, to the
# platform's and kube-system's pods that name no class as well: a tenant pod that names no class gets priority 0
# (the scheduler's default), as `imaas-tenant` gives, with the default preemption policy, under which it can
# preempt only lower pods, that is `imaas-tenant-low` ones, which is what that class is for.
TENANT_PRIORITY_CLASSES = (
    PriorityClass(
        "imaas-tenant",
        0,
        "A tenant's services: the same priority as a pod that names no class; waits for room, never preempts.",
    ),
    PriorityClass(
        "imaas-tenant-low",
        -100,
        "A tenant's work that can wait (batch jobs, previews): scheduled after its services; never preempts.",
    ),
)
