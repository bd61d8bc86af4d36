"""Names derived from tenant files. A contract: tests, dashboards and people rely on them."""

from __future__ import annotations

from imaas.tenant import Tenant

TENANT_LABEL = "imaas.io/tenant"
ENVIRONMENT_LABEL = "imaas.io/environment"
COST_CENTER_LABEL = "imaas.io/cost-center"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"

RESERVED_TENANT_NAMES = frozenset({"default", "argocd", "observability", "imaas", "platform"})
RESERVED_TENANT_PREFIX = "kube-"


def namespace(tenant: str, environment: str) -> str:
    return f"{tenant}-{environment}"


def github_team(tenant: str) -> str:
    return tenant


def github_repository(tenant: str, service: str) -> str:
    return f"{tenant}-{service}"


def ecr_repository(tenant: str, service: str) -> str:
    return f"{tenant}/{service}"


def app_project(tenant: str) -> str:
    return tenant


def application(tenant: str, service: str, environment: str) -> str:
    return f"{tenant}-{service}-{environment}"


def labels(tenant: Tenant, environment: str | None = None) -> dict[str, str]:
    """The labels every Kubernetes object of a tenant carries."""
    result = {TENANT_LABEL: tenant.name, MANAGED_BY_LABEL: "pulumi"}
    if environment:
        result[ENVIRONMENT_LABEL] = environment
    if tenant.metadata.cost_center:
        result[COST_CENTER_LABEL] = tenant.metadata.cost_center
    return result


def repository_url(owner: str, tenant: str, service: str) -> str:
    """The clone URL Argo CD reads a service from, exact so that no tenant's project can match another's."""
    return f"https://github.com/{owner}/{github_repository(tenant, service)}.git"
