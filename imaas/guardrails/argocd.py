"""Guardrails on Argo CD: each tenant's AppProject fences it into its own repositories and namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from imaas.guardrails.framework import GLOB_CHARACTERS, Context, Index, Resource
from imaas.spec import isolation, naming, types, workload


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
        if spec.get("sourceNamespaces"):
            yield project, f"takes Applications from namespaces {spec['sourceNamespaces']}, not Argo CD's own"
        for account in spec.get("destinationServiceAccounts") or []:
            if (
                account.get("namespace") not in namespaces
                or account.get("server") != context.settings.cluster_server
                or account.get("defaultServiceAccount") != isolation.DEPLOYER_ACCOUNT
            ):
                yield project, f"syncs as {account}, not as the deployer account of one of its namespaces"
        for role in spec.get("roles") or []:
            for policy in role.get("policies") or []:
                if not _own_applications(str(policy), project.inputs["metadata"]["name"]):
                    yield project, f"role {role.get('name')!r} grants {policy!r}, beyond its own applications"
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


def applications_apply_the_tenant_file(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Each service's Application patches on the pod size, scaling bounds, rollout and variables that its tenant file
    and the stack give: what `validate --stack` counted against the quota is what the cluster runs, whatever the
    service's repository says."""
    for application in index(types.APPLICATION):
        labels = application.inputs["metadata"].get("labels") or {}
        tenant = context.tenants.get(labels.get(naming.TENANT_LABEL, ""))
        services = {service.name: service for service in tenant.spec.services} if tenant else {}
        service = services.get(labels.get(naming.SERVICE_LABEL, ""))
        environment = labels.get(naming.ENVIRONMENT_LABEL)
        if tenant is None or service is None or environment is None:
            yield application, "Application is labelled with no service of a tenant and environment"
            continue
        patches = ((application.spec.get("source") or {}).get("kustomize") or {}).get("patches") or []
        expected = workload.workload_patches(tenant, service, environment, context.settings)
        missing = sorted(patch["target"]["kind"] for patch in expected if patch not in patches)
        if missing:
            yield (
                application,
                (
                    f"does not patch {', '.join(missing)} of service {service.name} with what its tenant file and the "
                    "stack give (size, scaling bounds, rollout, variables)"
                ),
            )


# Argo CD's project policy lines: `p, <subject>, <resource>, <action>, <object>, <effect>`.
PROJECT_ACTIONS = frozenset({"get", "sync"})


def _own_applications(policy: str, project: str) -> bool:
    """Whether a project role's policy line is limited to reading or syncing the project's own applications."""
    parts = [part.strip() for part in policy.split(",")]
    if len(parts) != 6:
        return False
    kind, subject, resource, action, target, effect = parts
    application = target.removeprefix(f"{project}/")
    return (
        (kind, resource, effect) == ("p", "applications", "allow")
        and subject.startswith(f"proj:{project}:")
        and action in PROJECT_ACTIONS
        and target.startswith(f"{project}/")
        and (application == "*" or not GLOB_CHARACTERS & set(application))
    )
