"""How much a tenant namespace may use: its ResourceQuota and the LimitRange that makes unsized pods fit it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import isolation, namespace_objects
from imaas.model.quantity import at_most
from imaas.model.settings import PodSize, Quota

QUOTA_NAME = namespace_objects.QUOTA
LIMITS_NAME = namespace_objects.LIMITS


def _within(values: dict[str, str], limits: dict[str, str]) -> dict[str, str]:
    # The API server refuses a LimitRange whose defaults exceed its max; a tiny quota lowers the defaults.
    return {key: at_most(value, limits[key]) for key, value in values.items()}


def declare_limits(
    namespace: str, quota: Quota, container_default: PodSize, labels: dict[str, str], opts: pulumi.ResourceOptions
) -> list[pulumi.CustomResource]:
    """`container_default` is what a container gets when its manifest says nothing: the stack's `small` service
    size, the one the capacity check counts for each pod of a service that asks for no other."""
    container_max = {"cpu": quota.cpu, "memory": quota.memory, "ephemeral-storage": quota.ephemeral_storage}
    resource_quota = k8s.core.v1.ResourceQuota(
        f"{namespace}-quota",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=QUOTA_NAME, namespace=namespace, labels=labels),
        spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=isolation.quota_hard(quota)),
        opts=opts,
    )
    limit_range = k8s.core.v1.LimitRange(
        f"{namespace}-limits",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=LIMITS_NAME, namespace=namespace, labels=labels),
        spec=k8s.core.v1.LimitRangeSpecArgs(
            limits=[
                k8s.core.v1.LimitRangeItemArgs(
                    type="Container",
                    default_request=_within(container_default.requests.as_kubernetes(), container_max),
                    default=_within(container_default.limits.as_kubernetes(), container_max),
                    max=container_max,
                ),
                k8s.core.v1.LimitRangeItemArgs(type="PersistentVolumeClaim", max={"storage": quota.storage}),
            ]
        ),
        opts=opts,
    )
    return [resource_quota, limit_range]
