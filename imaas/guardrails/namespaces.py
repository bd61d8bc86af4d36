"""Guardrails on each tenant namespace: Pod Security, its fence (quota, limit range, network policy) and its size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from imaas.declarations import isolation, naming, types
from imaas.guardrails.framework import Context, Index, Resource, tenant_namespaces
from imaas.model.quantity import exceeds


def pod_security(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for namespace in tenant_namespaces(index, context):
        if namespace.labels.get(isolation.POD_SECURITY_ENFORCE_LABEL) != isolation.POD_SECURITY_LEVEL:
            yield namespace, "tenant namespace does not enforce Pod Security 'restricted'"


def namespace_fence(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    by_namespace: dict[tuple[str, str | None], list[Resource]] = defaultdict(list)
    for type_ in (types.QUOTA, types.LIMIT_RANGE, types.NETWORK_POLICY):
        for resource in index(type_):
            by_namespace[(type_, resource.namespace)].append(resource)
    for namespace in tenant_namespaces(index, context):
        name = namespace.inputs["metadata"]["name"]
        quotas = by_namespace[(types.QUOTA, name)]
        if not any(_closes_node_ports(quota) for quota in quotas):
            yield namespace, "no ResourceQuota with services.nodeports and services.loadbalancers at 0"
        if not any(set(quota.spec.get("hard") or {}) >= isolation.BOUNDED_RESOURCES for quota in quotas):
            yield namespace, f"no ResourceQuota bounding all of {', '.join(sorted(isolation.BOUNDED_RESOURCES))}"
        if not by_namespace[(types.LIMIT_RANGE, name)]:
            yield namespace, "no LimitRange"
        if not any(_fences_all_pods(policy) for policy in by_namespace[(types.NETWORK_POLICY, name)]):
            yield namespace, "no NetworkPolicy selecting every pod for both Ingress and Egress"


def _closes_node_ports(quota: Resource) -> bool:
    hard = quota.spec.get("hard") or {}
    return str(hard.get("services.nodeports")) == "0" and str(hard.get("services.loadbalancers")) == "0"


def _fences_all_pods(policy: Resource) -> bool:
    spec = policy.spec
    return (
        spec.get("podSelector") in ({}, None)
        and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
        and not any(_admits_anyone(rule) for rule in spec.get("ingress") or [])
    )


def _admits_anyone(rule: dict[str, Any]) -> bool:
    """An ingress rule without peers, or with a peer that matches every namespace or any address, admits all."""
    peers = rule.get("from") or []
    return not peers or any(
        peer in ({}, None) or "ipBlock" in peer or peer.get("namespaceSelector") == {} for peer in peers
    )


def quota_within_size(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for quota in index(types.QUOTA):
        tenant = context.tenants.get(quota.labels.get(naming.TENANT_LABEL, ""))
        if tenant is None:
            continue
        preset = context.settings.sizes[tenant.spec.size]
        hard = quota.spec.get("hard") or {}
        keys = (
            ("cpu", "requests.cpu"),
            ("memory", "requests.memory"),
            ("storage", "requests.storage"),
            ("ephemeral_storage", "requests.ephemeral-storage"),
            ("pods", "pods"),
        )
        above = [name for name, key in keys if key in hard and exceeds(hard[key], getattr(preset, name))]
        if above:
            yield quota, f"tenant {tenant.name} asks for more than its size {tenant.spec.size} in {', '.join(above)}"
