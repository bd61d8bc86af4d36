"""Names derived from tenant files. A contract: tests, dashboards and people rely on them."""

from __future__ import annotations

from imaas.model.tenant import Tenant

TENANT_LABEL = "imaas.io/tenant"
ENVIRONMENT_LABEL = "imaas.io/environment"
COST_CENTER_LABEL = "imaas.io/cost-center"
SERVICE_LABEL = "imaas.io/service"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "pulumi"

PLATFORM = "platform"
"""What belongs to no tenant: the group of shared resources in reports, and the Loki tenant of platform logs."""
RESERVED_TENANT_NAMES = frozenset({"default", "argocd", "observability", "imaas", PLATFORM})
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


def ci_role(tenant: str, service: str) -> str:
    """The CI role of one service: a role per service keeps each trust policy a few subjects long (IAM's limit is
    2,048 characters by default), however many services the tenant has. At most 9 + 20 + 1 + 30 = 60 of IAM's 64."""
    return f"imaas-ci-{tenant}-{service}"


def branch(environment: str) -> str:
    """The service repository branch that environment `environment` is delivered from."""
    return environment


def service_branches(environments: list[str]) -> list[str]:
    """A service repository's branches: dev, where every change starts and CI builds, then its environments'."""
    return list(dict.fromkeys(["dev", *map(branch, environments)]))


def deploy_path(environment: str) -> str:
    """Where, in a service repository, Argo CD reads environment `environment`'s manifests."""
    return f"deploy/overlays/{environment}"


def platform_labels() -> dict[str, str]:
    """The label every object the platform declares carries; a tenant's objects carry `labels`, which include it."""
    return {MANAGED_BY_LABEL: MANAGED_BY}


def labels(tenant: Tenant, environment: str | None = None, service: str | None = None) -> dict[str, str]:
    """The labels every Kubernetes object of a tenant carries, and the tags of its AWS resources."""
    optional = {
        ENVIRONMENT_LABEL: environment,
        SERVICE_LABEL: service,
        COST_CENTER_LABEL: tenant.metadata.cost_center,
    }
    return {
        TENANT_LABEL: tenant.name,
        **platform_labels(),
        **{key: value for key, value in optional.items() if value},
    }


GITHUB_SSH_HOST = "git@github.com"
"""Argo CD reads service repositories over SSH: a deploy key, the one GitHub credential that reads a single
repository, is SSH-only."""


def repository_url(owner: str, tenant: str, service: str) -> str:
    """The clone URL Argo CD reads a service from, and the only URL its credential is for: exact, so that no
    tenant's project or credential matches another's. Argo CD compares URLs lower-cased, without `.git` and with
    the SCP-style colon read as a slash (util/git NormalizeGitURL): the AppProject's `sourceRepos` say it so too."""
    return f"{GITHUB_SSH_HOST}:{owner}/{github_repository(tenant, service)}.git"


def repository_credential(tenant: str, service: str) -> str:
    """The Argo CD repository Secret of a service repository on a stack: at most 14 + 20 + 1 + 30 = 65 characters."""
    return f"imaas-repo-key-{github_repository(tenant, service)}"
