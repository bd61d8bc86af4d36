"""What a tenant's pods may reach beyond the cluster, as plain data: the internet by the cluster's setting
(`tenantEgress`), and each service's declared private backends (`services[].egress`) for that service's pods only.

The private ranges (`tenantEgress.privateRanges`) and the cluster's own (`clusterCidrs`) are never "the internet":
a private backend opens for the one service that declares it, by a NetworkPolicy selecting the label Argo CD puts
on that service's pods (the Application's `commonLabels`). A tenant sets its own pods' labels, so between one
tenant's services this is advisory; between tenants it fences each tenant's backends from the others' pods.

Kept free of Pulumi so that the components, the guardrails and the tests share one definition.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from imaas.declarations import isolation, naming
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant

SERVICE_POLICY_PREFIX = "imaas-service-"
HTTP_PORT = 8290
"""The port the service template's pods serve HTTP on (deploy/base/deployment.yaml, port `http`)."""


def service_policy(service: str) -> str:
    """The NetworkPolicy of one service's pods in a tenant namespace."""
    return f"{SERVICE_POLICY_PREFIX}{service}"


def pod_selector(service: str) -> dict[str, Any]:
    return {"matchLabels": {naming.SERVICE_LABEL: service}}


def _family(cidr: str) -> str:
    return "::/0" if ipaddress.ip_network(cidr).version == 6 else "0.0.0.0/0"


def internet_peers(settings: StackSettings) -> list[dict[str, Any]]:
    """The ipBlocks of the namespace policy's rule to the world: with `internet: open`, every address outside the
    cluster's, the private and the node-local ranges, in each address family whose cluster ranges are known (so
    that they can be excepted); with `closed`, the allow-list alone."""
    egress = settings.tenant_egress
    if egress.internet == "closed":
        return [{"ipBlock": {"cidr": cidr}} for cidr in egress.allow_list]
    peers = []
    for everything in ("0.0.0.0/0", "::/0"):
        cluster = [cidr for cidr in settings.cluster_cidrs if _family(cidr) == everything]
        if not cluster:
            continue
        private = [cidr for cidr in egress.private_ranges if _family(cidr) == everything]
        excepted = _without_nested([*cluster, *private, *isolation.NODE_LOCAL[everything]])
        peers.append({"ipBlock": {"cidr": everything, "except": excepted}})
    return peers


def _without_nested(cidrs: list[str]) -> list[str]:
    """The ranges, each once, without those inside another (NetworkPolicy takes overlapping exceptions, but a reader
    should not have to)."""
    networks = [ipaddress.ip_network(cidr) for cidr in dict.fromkeys(cidrs)]
    kept = [
        network
        for network in networks
        if not any(other != network and other.version == network.version and network.subnet_of(other)  # type: ignore[arg-type]
                   for other in networks)
    ]  # fmt: skip
    return [str(network) for network in kept]


def egress_rules(service: Service) -> list[dict[str, Any]]:
    """One rule per declared connection: a reviewer sees a new backend as a new rule."""
    return [
        {
            "to": [{"ipBlock": {"cidr": connection.cidr}}],
            "ports": [{"protocol": "TCP", "port": port} for port in connection.ports],
        }
        for connection in service.egress
    ]


def service_policy_spec(service: Service, gateway_namespace: str | None) -> dict[str, Any] | None:
    """The NetworkPolicy of one service's pods: out to its declared backends, and (for an exposed service) in from
    the Gateway's namespace on its HTTP port; None when it has neither."""
    spec: dict[str, Any] = {"podSelector": pod_selector(service.name), "policyTypes": []}
    if service.expose and gateway_namespace is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = [
            {
                "from": [{"namespaceSelector": {"matchLabels": {isolation.NAMESPACE_NAME_LABEL: gateway_namespace}}}],
                "ports": [{"protocol": "TCP", "port": HTTP_PORT}],
            }
        ]
    if service.egress:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress_rules(service)
    return spec if spec["policyTypes"] else None


def services_with_policies(tenant: Tenant, environment: str) -> list[Service]:
    return [service for service in tenant.active_services_in(environment) if service.egress or service.expose]


def inside_the_cluster(cidr: str, settings: StackSettings) -> list[str]:
    """The cluster's own ranges (and the node-local ones) that `cidr` overlaps: a service's egress there would
    reach other tenants' pods past `allowFrom`, or the node's credentials."""
    network = ipaddress.ip_network(cidr)
    protected = [*settings.cluster_cidrs, *isolation.NODE_LOCAL[_family(cidr)]]
    return [own for own in protected if ipaddress.ip_network(own).overlaps(network)]
