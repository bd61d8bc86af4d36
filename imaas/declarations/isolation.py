"""Who may reach whom, and how much a tenant may use: the isolation rules of DESIGN section 6 as plain data.

Kept free of Pulumi so that the components, the policy pack and the tests share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaas.declarations import naming
from imaas.declarations.telemetry import TelemetryAccess
from imaas.model.quantity import at_most
from imaas.model.settings import PodSize, Quota, StackSettings
from imaas.model.tenant import Tenant

POD_SECURITY_LEVEL = "restricted"
# Node exporter (host network and PID, host paths) and Fluent Bit (host log directories) cannot run under a
# stricter Pod Security level in the observability stack's namespace; nothing of a tenant runs there.
OBSERVABILITY_POD_SECURITY_LEVEL = "privileged"
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


def quota_spec(quota: Quota) -> dict[str, Any]:
    """The ResourceQuota of a tenant namespace."""
    return {"hard": quota_hard(quota)}


def _within(values: dict[str, str], limits: dict[str, str]) -> dict[str, str]:
    # The API server refuses a LimitRange whose defaults exceed its max; a tiny quota lowers the defaults.
    return {key: at_most(value, limits[key]) for key, value in values.items()}


def limit_range_spec(quota: Quota, container_default: PodSize) -> dict[str, Any]:
    """The LimitRange that makes unsized pods fit the quota. `container_default` is what a container gets when its
    manifest says nothing: the stack's `small` service size, the one the capacity check counts for each pod of a
    service that asks for no other."""
    container_max = {"cpu": quota.cpu, "memory": quota.memory, "ephemeral-storage": quota.ephemeral_storage}
    return {
        "limits": [
            {
                "type": "Container",
                "defaultRequest": _within(container_default.requests.as_kubernetes(), container_max),
                "default": _within(container_default.limits.as_kubernetes(), container_max),
                "max": container_max,
            },
            {"type": "PersistentVolumeClaim", "max": {"storage": quota.storage}},
        ]
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


def _namespace_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}


def network_policy_spec(
    peers: NetworkPeers, internet: list[dict[str, Any]], telemetry: TelemetryAccess | None
) -> dict[str, Any]:
    """The NetworkPolicy that fences a tenant namespace: in from itself, the platform and its callers only; out to
    itself, cluster DNS, the tenant namespaces of its environment (whose own policies admit only their callers) and
    the world outside the cluster (`internet`: the peers of imaas.declarations.connections.internet_peers). With the
    observability stack, its namespace reaches tenant pods on their metrics port only, and tenant pods reach its
    trace collector on the OTLP ports only."""
    same_namespace: dict[str, Any] = {"podSelector": {}}
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: DNS_NAMESPACE}},
        "podSelector": {"matchLabels": DNS_POD_LABELS},
    }
    # The stack's namespace is a platform namespace, but all it needs of tenant pods is the scrape.
    admitted = [ns for ns in peers.ingress_from if telemetry is None or ns != telemetry.namespace]
    ingress = [{"from": [same_namespace, *map(_namespace_peer, admitted)]}]
    egress: list[dict[str, Any]] = [
        # Any tenant namespace of the same environment: the callee's ingress decides (it names its callers).
        {"to": [same_namespace, {"namespaceSelector": tenant_namespaces_of(peers.egress_environment)}]},
        {"ports": [{"protocol": protocol, "port": 53} for protocol in ("UDP", "TCP")], "to": [dns]},
    ]
    # With the internet closed and nothing allowed, no rule: a rule with no peers would allow every destination.
    if internet:
        egress.append({"to": internet})
    if telemetry is not None:
        stack = _namespace_peer(telemetry.namespace)
        ingress.append({"from": [stack], "ports": [{"protocol": "TCP", "port": telemetry.scrape_port}]})
        # The collector's pods and no other: Tempo, also listening on OTLP there, would take any tenant id a pod names.
        collector = {**stack, "podSelector": {"matchLabels": dict(telemetry.otlp_pod_labels)}}
        egress.append(
            {"ports": [{"protocol": "TCP", "port": port} for port in telemetry.otlp_ports], "to": [collector]}
        )
    return {"egress": egress, "ingress": ingress, "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


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
