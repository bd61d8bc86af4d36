"""The NetworkPolicy that fences a tenant namespace (imaas/declarations/isolation.py, network_policy_spec)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import isolation, namespace_objects
from imaas.declarations.isolation import NetworkPeers
from imaas.declarations.telemetry import TelemetryAccess


def declare_network_policy(
    namespace: str,
    peers: NetworkPeers,
    internet: list[dict[str, Any]],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    telemetry: TelemetryAccess | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        f"{namespace}-isolation",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=namespace_objects.NETWORK_POLICY, namespace=namespace, labels=labels),
        spec=isolation.network_policy_spec(peers, internet, telemetry),
        opts=opts,
    )
