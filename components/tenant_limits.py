"""How much a tenant namespace may use: its ResourceQuota and the LimitRange that makes unsized pods fit it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.model.quantity import at_most
from imaas.model.settings import Quota
from imaas.spec import isolation

QUOTA_NAME = "tenant-quota"
LIMITS_NAME = "tenant-limits"
# What a container gets when its manifest says nothing: enough for a small WSO2 MI instance.
CONTAINER_DEFAULT_REQUEST = {"cpu": "100m", "memory": "512Mi", "ephemeral-storage": "256Mi"}
CONTAINER_DEFAULT_LIMIT = {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"}


def _within(values: dict[str, str], limits: dict[str, str]) -> dict[str, str]:
    # The API server refuses a LimitRange whose defaults exceed its max; a tiny quota lowers the defaults.
    return {key: at_most(value, limits[key]) for key, value in values.items()}


def declare_limits(
    namespace: str, quota: Quota, labels: dict[str, str], opts: pulumi.ResourceOptions
) -> list[pulumi.CustomResource]:
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
                    default_request=_within(CONTAINER_DEFAULT_REQUEST, container_max),
                    default=_within(CONTAINER_DEFAULT_LIMIT, container_max),
                    max=container_max,
                ),
                k8s.core.v1.LimitRangeItemArgs(type="PersistentVolumeClaim", max={"storage": quota.storage}),
            ]
        ),
        opts=opts,
    )
    return [resource_quota, limit_range]
