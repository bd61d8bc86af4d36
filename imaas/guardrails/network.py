"""Guardrails on network peers: every NetworkPolicy in a tenant namespace admits and reaches exactly the peers
DESIGN section 7 allows, whatever the policy's shape: in, only its `allowFrom` callers' namespaces of the same
environment and the platform's; out, any tenant namespace of the same environment (whose own ingress admits only
its callers), the platform's endpoints and the world outside the cluster. Policies add up, so each one is checked,
not only the platform's own."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from imaas.declarations import connections, isolation, naming, types
from imaas.guardrails.framework import Context, Index, Resource
from imaas.model.settings import GATEWAY_NAMESPACE
from imaas.model.tenant import Service, Tenant


def _namespace_of(peer: dict[str, Any]) -> str | None:
    """The one namespace a peer names by `kubernetes.io/metadata.name`; None when it selects any other way."""
    selector = peer.get("namespaceSelector")
    if not isinstance(selector, dict) or selector.get("matchExpressions") or set(selector) - {"matchLabels"}:
        return None
    labels = selector.get("matchLabels") or {}
    return labels.get(isolation.NAMESPACE_NAME_LABEL) if set(labels) == {isolation.NAMESPACE_NAME_LABEL} else None


def _same_namespace(peer: dict[str, Any]) -> bool:
    return set(peer) == {"podSelector"}


def _subnet_of(
    inner: ipaddress.IPv4Network | ipaddress.IPv6Network, outer: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    """Whether `inner` lies within `outer`: never across address families, where `subnet_of` raises TypeError."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _outside_only(peer: dict[str, Any], context: Context) -> bool:
    """An address block that opens the world outside the cluster, never the cluster's ranges or the node's."""
    block = peer.get("ipBlock") or {}
    if set(peer) != {"ipBlock"}:
        return False
    try:
        network = ipaddress.ip_network(block.get("cidr", ""))
        excepted = [ipaddress.ip_network(cidr) for cidr in block.get("except") or []]
    except ValueError:
        return False
    family = "::/0" if network.version == 6 else "0.0.0.0/0"
    egress = context.settings.tenant_egress
    if egress.internet == "closed" and block.get("cidr") not in egress.allow_list:
        return False
    protected = [
        ipaddress.ip_network(cidr)
        for cidr in (*context.settings.cluster_cidrs, *egress.private_ranges, *isolation.NODE_LOCAL[family])
        if ipaddress.ip_network(cidr).version == network.version
    ]
    # Each protected range inside the block must be inside one of its exceptions.
    return all(
        not range_.overlaps(network) or any(_subnet_of(range_, exception) for exception in excepted)
        for range_ in protected
    )


def _allowed(tenant: Tenant, environment: str, context: Context) -> tuple[set[str], set[str]]:
    """The namespaces, besides its own, that a tenant namespace may hear from and talk to by name."""
    peers = isolation.network_peers(tenant, environment, context.settings)
    egress = set()
    if context.settings.observability.enabled:
        egress.add(context.settings.observability.namespace)
    return set(peers.ingress_from), egress


def _service_of(policy: Resource, tenant: Tenant) -> Service | None:
    """The active service whose pods alone a policy selects (by the label Argo CD sets on them), if any."""
    selector = policy.spec.get("podSelector") or {}
    if set(selector) != {"matchLabels"} or set(selector["matchLabels"] or {}) != {naming.SERVICE_LABEL}:
        return None
    name = selector["matchLabels"][naming.SERVICE_LABEL]
    return next((service for service in tenant.active_services() if service.name == name), None)


def _declared_backend(rule: dict[str, Any], service: Service | None) -> bool:
    """A rule reaching exactly one of the service's declared backends, on some of its declared TCP ports."""
    if service is None:
        return False
    peers, ports = rule.get("to") or [], rule.get("ports") or []
    if len(peers) != 1 or set(peers[0]) != {"ipBlock"} or set(peers[0]["ipBlock"]) != {"cidr"} or not ports:
        return False
    declared = {connection.cidr: set(connection.ports) for connection in service.egress}
    cidr = peers[0]["ipBlock"]["cidr"]
    return cidr in declared and all(
        set(port) == {"protocol", "port"} and port["protocol"] == "TCP" and port["port"] in declared[cidr]
        for port in ports
    )


def _from_the_gateway(rule: dict[str, Any], service: Service | None, context: Context) -> bool:
    """A rule admitting the shared Gateway's namespace to an exposed service's HTTP port, and nothing else."""
    if service is None or not service.expose or context.settings.exposure is None:
        return False
    peers = rule.get("from") or []
    return (
        len(peers) == 1
        and _namespace_of(peers[0]) == GATEWAY_NAMESPACE
        and set(peers[0]) == {"namespaceSelector"}
        and rule.get("ports") == [{"protocol": "TCP", "port": connections.HTTP_PORT}]
    )


def _tenants_of(peer: dict[str, Any], environment: str) -> bool:
    """The peer is every tenant namespace of `environment`, exactly: what egress may reach, the callee's ingress
    being the fence."""
    return set(peer) == {"namespaceSelector"} and peer["namespaceSelector"] == isolation.tenant_namespaces_of(
        environment
    )


def _is_dns(peer: dict[str, Any]) -> bool:
    return _namespace_of(peer) == isolation.DNS_NAMESPACE and peer.get("podSelector") == {
        "matchLabels": isolation.DNS_POD_LABELS
    }


def network_peers_exact(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    owners = context.namespace_owners()
    for policy in index(types.NETWORK_POLICY):
        owner = owners.get(policy.namespace or "")
        if owner is None:
            continue
        ingress, egress = _allowed(*owner, context)
        service = _service_of(policy, owner[0])
        for rule in policy.spec.get("ingress") or []:
            if _from_the_gateway(rule, service, context):
                continue
            for message in _peer_problems(rule.get("from"), ingress, context, "admits"):
                yield policy, message
        for rule in policy.spec.get("egress") or []:
            if _declared_backend(rule, service):
                continue
            peers = [peer for peer in rule.get("to") or [] if not _tenants_of(peer, owner[1])]
            if rule.get("to") and not peers:
                continue
            for message in _peer_problems(peers or rule.get("to"), egress, context, "reaches"):
                yield policy, message


def _peer_problems(peers: Any, allowed: set[str], context: Context, verb: str) -> Iterator[str]:
    if not peers:
        yield f"a rule with no peers {verb} everyone"
        return
    for peer in peers:
        if not isinstance(peer, dict) or not peer:
            yield f"{verb} everyone: an empty peer"
        elif _same_namespace(peer) or (verb == "reaches" and (_is_dns(peer) or _outside_only(peer, context))):
            continue
        elif "ipBlock" in peer:
            yield (
                f"{verb} {peer['ipBlock']}, which opens the cluster's own, a private or the node's addresses, or "
                "more of the internet than tenantEgress allows, and is no backend its service declares"
            )
        elif _namespace_of(peer) is None or _namespace_of(peer) not in allowed:
            yield f"{verb} {peer}, which is not its own namespace nor one DESIGN section 6 allows here"
