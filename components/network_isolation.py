"""The NetworkPolicy that fences a tenant namespace: in from itself, the platform and its callers only; out to
itself, cluster DNS, the tenant namespaces of its environment (whose own policies admit only their callers) and
the world outside the cluster. With the observability stack, its namespace reaches tenant pods on their metrics
port only, and tenant pods reach its trace collector on the OTLP ports only."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.networking import v1 as net

from imaas.declarations import isolation, namespace_objects
from imaas.declarations.telemetry import TelemetryAccess

POLICY_NAME = namespace_objects.NETWORK_POLICY


def _namespace_peer(namespace: str) -> net.NetworkPolicyPeerArgs:
    return net.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={isolation.NAMESPACE_NAME_LABEL: namespace})
    )


def _tenant_namespaces(environment: str) -> net.NetworkPolicyPeerArgs:
    selector = isolation.tenant_namespaces_of(environment)
    return net.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels=selector["matchLabels"],
            match_expressions=[
                k8s.meta.v1.LabelSelectorRequirementArgs(key=e["key"], operator=e["operator"])
                for e in selector["matchExpressions"]
            ],
        )
    )


def declare_network_policy(
    namespace: str,
    ingress_from: list[str],
    egress_environment: str,
    cluster_cidrs: list[str],
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    telemetry: TelemetryAccess | None = None,
    internet: list[dict[str, Any]] | None = None,
) -> net.NetworkPolicy:
    """`internet`: the peers of the rule to the world (imaas.declarations.connections.internet_peers); by default every
    address outside the cluster's ranges."""
    same_namespace = net.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs())
    dns = net.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(
            match_labels={isolation.NAMESPACE_NAME_LABEL: isolation.DNS_NAMESPACE}
        ),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=isolation.DNS_POD_LABELS),
    )
    ipv4 = [cidr for cidr in cluster_cidrs if ":" not in cidr]
    ipv6 = [cidr for cidr in cluster_cidrs if ":" in cidr]
    # An address family is opened only where the cluster's ranges in it are known, so that they can be excepted.
    outside = [
        net.NetworkPolicyPeerArgs(
            ip_block=net.IPBlockArgs(cidr=everything, except_=[*ranges, *isolation.NODE_LOCAL[everything]])
        )
        for everything, ranges in (("0.0.0.0/0", ipv4), ("::/0", ipv6))
        if ranges
    ]
    if internet is not None:
        outside = [
            net.NetworkPolicyPeerArgs(
                ip_block=net.IPBlockArgs(cidr=peer["ipBlock"]["cidr"], except_=peer["ipBlock"].get("except"))
            )
            for peer in internet
        ]
    # The stack's namespace is a platform namespace, but all it needs of tenant pods is the scrape.
    admitted = [ns for ns in ingress_from if telemetry is None or ns != telemetry.namespace]
    ingress = [net.NetworkPolicyIngressRuleArgs(from_=[same_namespace, *map(_namespace_peer, admitted)])]
    egress = [
        # Any tenant namespace of the same environment: the callee's ingress decides (it names its callers).
        net.NetworkPolicyEgressRuleArgs(to=[same_namespace, _tenant_namespaces(egress_environment)]),
        net.NetworkPolicyEgressRuleArgs(
            to=[dns],
            ports=[net.NetworkPolicyPortArgs(protocol=protocol, port=53) for protocol in ("UDP", "TCP")],
        ),
    ]
    # With the internet closed and nothing allowed, no rule: a rule with no peers would allow every destination.
    if outside:
        egress.append(net.NetworkPolicyEgressRuleArgs(to=outside))
    if telemetry is not None:
        stack = [_namespace_peer(telemetry.namespace)]
        ingress.append(
            net.NetworkPolicyIngressRuleArgs(
                from_=stack, ports=[net.NetworkPolicyPortArgs(protocol="TCP", port=telemetry.scrape_port)]
            )
        )
        # The collector's pods and no other: Tempo, also listening on OTLP there, would take any tenant id a pod names.
        collector = net.NetworkPolicyPeerArgs(
            namespace_selector=stack[0].namespace_selector,
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(telemetry.otlp_pod_labels)),
        )
        egress.append(
            net.NetworkPolicyEgressRuleArgs(
                to=[collector],
                ports=[net.NetworkPolicyPortArgs(protocol="TCP", port=port) for port in telemetry.otlp_ports],
            )
        )
    return net.NetworkPolicy(
        f"{namespace}-isolation",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME, namespace=namespace, labels=labels),
        spec=net.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
        opts=opts,
    )
