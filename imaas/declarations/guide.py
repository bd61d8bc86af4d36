"""The day-two guide of a service repository: what its team needs to know about its own tenant, service and
environments, as the `guide` of the repository variable `IMAAS_SERVICE` that the platform sets (beside where its CI
pushes) and the template renders.

Why a variable, not a file: GitHub copies a template's files as they are when it generates a repository, so a page
written per service would be a commit by the platform into the tenant's repository, which the prod branch's ruleset
refuses without review and which template sync would then see as the tenant's own change. A variable is the
platform's alone (the team reads it, and the template's guide job renders it into the run's summary), is changed in
place at every `up` when a setting changes, and is kept like the CI variable when the service is retired.
"""

from __future__ import annotations

from typing import Any

from imaas.declarations import naming
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant

DOCS = "docs/tenants.md"


def service_guide(tenant: Tenant, service: Service, settings: StackSettings, github_owner: str) -> dict[str, Any]:
    guide = settings.service_guide
    platform = f"https://github.com/{github_owner}/{guide.platform_repository}"
    docs = f"{platform}/blob/main/{DOCS}"
    environments = {}
    argocd_urls: dict[str, str] = {str(key): value for key, value in guide.argocd_urls.items()}
    grafana_urls: dict[str, str] = {str(key): value for key, value in guide.grafana_urls.items()}
    for environment in tenant.service_environments(service):
        argocd = argocd_urls.get(environment)
        application = naming.application(tenant.name, service.name, environment)
        environments[environment] = {
            "namespace": naming.namespace(tenant.name, environment),
            "branch": naming.branch(environment),
            "argocd": f"{argocd}/applications/{settings.argocd_namespace}/{application}" if argocd else None,
            "grafana": grafana_urls.get(environment),
            "host": f"{service.name}.{tenant.name}.{environment}.{settings.ingress_host_suffix}",
        }
    return {
        "tenant": tenant.name,
        "service": service.name,
        "environments": environments,
        "clusterAccess": guide.cluster_access_url or f"{platform}/blob/main/docs/tenants.md#cluster-access",
        "alerts": [tenant.metadata.contact, *tenant.spec.alerting.emails],
        "tenantFile": f"{platform}/blob/main/tenants/{tenant.name}.yaml",
        "howTo": {
            "sizeAndScale": f"{docs}#scaling-and-pod-size",
            "secrets": f"{docs}#secrets",
            "exposure": f"{docs}#exposing-a-service",
            "release": f"{docs}#releasing-a-service-to-production",
        },
    }
