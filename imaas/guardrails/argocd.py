"""Guardrails on Argo CD: each tenant's AppProject fences it into its own repositories and namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from imaas.guardrails.framework import GLOB_CHARACTERS, Context, Index, Resource
from imaas.spec import isolation, types


def app_project_confined(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    fence = {(group, kind) for group, kind in isolation.FENCE_KINDS}
    for project in index(types.APP_PROJECT):
        tenant = context.tenants.get(project.inputs["metadata"]["name"])
        if tenant is None:
            yield project, "AppProject is not named after a tenant"
            continue
        spec = project.spec
        sources = spec.get("sourceRepos") or []
        allowed = context.repository_urls(tenant)
        for source in sources:
            if GLOB_CHARACTERS & set(source) or source not in allowed:
                yield project, f"source {source!r} is not one of tenant {tenant.name}'s service repositories"
        namespaces = context.tenant_namespaces(tenant)
        for destination in spec.get("destinations") or []:
            if (
                destination.get("namespace") not in namespaces
                or destination.get("server") != context.settings.cluster_server
            ):
                yield project, f"destination {destination} is not one of tenant {tenant.name}'s namespaces here"
        if spec.get("clusterResourceWhitelist"):
            yield project, "allows cluster-scoped kinds"
        blacklisted = {
            (item.get("group", ""), item.get("kind")) for item in spec.get("namespaceResourceBlacklist") or []
        }
        if not fence <= blacklisted:
            yield project, f"does not refuse {sorted(kind for _, kind in fence - blacklisted)}"
    for application in index(types.APPLICATION):
        tenant = context.tenants.get(application.spec.get("project", ""))
        destination = (application.spec.get("destination") or {}).get("namespace")
        if tenant is None or destination not in context.tenant_namespaces(tenant):
            yield application, f"Application deploys to {destination!r} outside its project's tenant"
