"""How much a tenant namespace may use (imaas/declarations/isolation.py): its ResourceQuota and the LimitRange that
makes unsized pods fit it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import isolation, namespace_objects
from imaas.model.settings import PodSize, Quota


def declare_limits(
    namespace: str, quota: Quota, container_default: PodSize, labels: dict[str, str], opts: pulumi.ResourceOptions
) -> list[pulumi.CustomResource]:
    """`container_default`: what a container whose manifest says nothing gets (isolation.limit_range_spec)."""
    resource_quota = k8s.core.v1.ResourceQuota(
        f"{namespace}-quota",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_objects.QUOTA, namespace=namespace, labels=labels),
        spec=isolation.quota_spec(quota),
        opts=opts,
    )
    limit_range = k8s.core.v1.LimitRange(
        f"{namespace}-limits",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_objects.LIMITS, namespace=namespace, labels=labels),
        spec=isolation.limit_range_spec(quota, container_default),
        opts=opts,
    )
    return [resource_quota, limit_range]
