"""The observability namespace's fence (imaas/declarations/fence.py): a default deny for every pod, and one
NetworkPolicy per pod group opening exactly the table's allowances."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import fence, naming


def declare_fence(inputs: fence.FenceInputs, namespace: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    policies: list[pulumi.Resource] = []
    for name, spec in fence.policy_specs(inputs).items():
        policies.append(
            k8s.networking.v1.NetworkPolicy(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=naming.platform_labels()),
                spec=spec,
                opts=opts,
            )
        )
    return policies
