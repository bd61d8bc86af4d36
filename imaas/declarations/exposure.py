"""Services published over HTTPS, as plain data: the Gateway API (v1.5, standard channel) with one shared Gateway
per cluster and one ListenerSet per tenant namespace.

TLS terminates on listeners. A listener per host on one shared Gateway would make every tenant's change an edit of
an object all tenants share, and a Gateway holds at most 64 listeners; a Gateway per tenant costs a load balancer
(and its address) per tenant namespace. A ListenerSet in the tenant's own namespace attaches that tenant's
listeners, hosts and certificates to the shared Gateway, which admits ListenerSets from tenant namespaces only.
Ingress would have no per-tenant certificate object of its own either, and ingress-nginx, the controller the docs
named, is retired upstream.

Each exposed service gets a listener for `<service>.<tenant>.<environment>.<suffix>` with its own certificate from
cert-manager (one per host: an HTTP-01 issuer can issue it, which a wildcard `*.<tenant>.<env>.<suffix>` could not),
and an HTTPRoute from that listener to the service's Service.
"""

from __future__ import annotations

from typing import Any

from imaas.declarations import isolation
from imaas.declarations.connections import HTTP_PORT
from imaas.model.settings import GATEWAY_NAME, GATEWAY_NAMESPACE, ExposureSettings, StackSettings
from imaas.model.tenant import Service, Tenant

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
LISTENER_SET = "imaas-routes"
"""The ListenerSet of each tenant namespace that exposes a service."""
HTTPS_PORT = 443
SERVICE_OBJECT = "wso2mi-service"
"""The template's Service, which Argo CD renames `<service>-wso2mi-service` (the Application's namePrefix)."""
CERT_MANAGER_API_VERSION = "cert-manager.io/v1"
CERT_MANAGER_GROUPS = ("cert-manager.io", "acme.cert-manager.io")
# Gateway API kinds only the platform writes in tenant namespaces: a tenant's own Gateway or ListenerSet would claim
# hosts and certificates on the shared data plane, a ReferenceGrant would open its objects to other namespaces, and
# the other route kinds are not fenced by host here. HTTPRoute is the tenant's, fenced by `imaas-route-hosts`.
PLATFORM_ONLY_KIND_NAMES = ("Gateway", "ListenerSet", "ReferenceGrant", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute",
                            "BackendTLSPolicy")  # fmt: skip
PLATFORM_ONLY_KINDS = ("gateways", "listenersets", "referencegrants", "grpcroutes", "tlsroutes", "tcproutes",
                       "udproutes", "backendtlspolicies")  # fmt: skip
"""The same kinds, by resource (plural) name, as admission and RBAC name them."""


def host(service: str, tenant: str, environment: str, suffix: str) -> str:
    return f"{service}.{tenant}.{environment}.{suffix}"


ROUTE_PREFIX = "imaas-route-"
CERTIFICATE_PREFIX = "imaas-tls-"


def route(service: str) -> str:
    """The HTTPRoute of one exposed service."""
    return f"{ROUTE_PREFIX}{service}"


def certificate(service: str) -> str:
    """The Certificate, and its Secret, of one exposed service."""
    return f"{CERTIFICATE_PREFIX}{service}"


def exposed(tenant: Tenant, environment: str) -> list[Service]:
    return [service for service in tenant.active_services_in(environment) if service.expose]


def gateway_spec(config: ExposureSettings) -> dict[str, Any]:
    """The shared Gateway: ListenerSets from tenant namespaces only; its own listener (the Gateway API requires one)
    takes routes from its own namespace only, so no tenant route attaches to it."""
    return {
        "gatewayClassName": config.gateway_class_name,
        "allowedListeners": {"namespaces": {"from": "Selector", "selector": isolation.TENANT_NAMESPACES}},
        "listeners": [
            {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "Same"}}}
        ],
    }


def listener_set_spec(tenant: Tenant, environment: str, settings: StackSettings) -> dict[str, Any]:
    return {
        "parentRef": {
            "group": GROUP,
            "kind": "Gateway",
            "name": GATEWAY_NAME,
            "namespace": GATEWAY_NAMESPACE,
        },
        "listeners": [
            {
                "name": service.name,
                "hostname": host(service.name, tenant.name, environment, settings.ingress_host_suffix),
                "port": HTTPS_PORT,
                "protocol": "HTTPS",
                "tls": {
                    "mode": "Terminate",
                    "certificateRefs": [{"group": "", "kind": "Secret", "name": certificate(service.name)}],
                },
                "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"group": GROUP, "kind": "HTTPRoute"}]},
            }
            for service in exposed(tenant, environment)
        ],
    }


def route_spec(service: Service, tenant: Tenant, environment: str, settings: StackSettings) -> dict[str, Any]:
    return {
        "parentRefs": [{"group": GROUP, "kind": "ListenerSet", "name": LISTENER_SET, "sectionName": service.name}],
        "hostnames": [host(service.name, tenant.name, environment, settings.ingress_host_suffix)],
        "rules": [{"backendRefs": [{"name": f"{service.name}-{SERVICE_OBJECT}", "port": HTTP_PORT}]}],
    }


def certificate_spec(
    service: Service, tenant: Tenant, environment: str, settings: StackSettings, issuer: str
) -> dict[str, Any]:
    return {
        "secretName": certificate(service.name),
        "dnsNames": [host(service.name, tenant.name, environment, settings.ingress_host_suffix)],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer},
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
    }


def own_listener_set(parent: dict[str, Any], namespace: str) -> bool:
    """Whether a route's parent reference is the ListenerSet of the route's own namespace (the one the platform
    declares there), as the admission rule `imaas-route-hosts` also requires."""
    return (
        parent.get("group") == GROUP
        and parent.get("kind") == "ListenerSet"
        and parent.get("name") == LISTENER_SET
        and parent.get("namespace", namespace) == namespace
    )
