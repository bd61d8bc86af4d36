"""Guardrails on Argo CD: each tenant's AppProject fences it into its own repositories and namespaces, and every
credential Argo CD holds reads one tenant's repository for that tenant's project only."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from imaas.declarations import argocd, charts, isolation, naming, types, workload
from imaas.declarations.applications import SECRET_TYPE_LABEL
from imaas.guardrails.framework import GLOB_CHARACTERS, Context, Index, Resource


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
            if destination.get("namespace") not in namespaces or destination.get("server") != argocd.IN_CLUSTER_SERVER:
                yield project, f"destination {destination} is not one of tenant {tenant.name}'s namespaces here"
        if spec.get("clusterResourceWhitelist"):
            yield project, "allows cluster-scoped kinds"
        if spec.get("sourceNamespaces"):
            yield project, f"takes Applications from namespaces {spec['sourceNamespaces']}, not Argo CD's own"
        for account in spec.get("destinationServiceAccounts") or []:
            if (
                account.get("namespace") not in namespaces
                or account.get("server") != argocd.IN_CLUSTER_SERVER
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


# --- credentials ------------------------------------------------------------------------------------------------

REPOSITORY_SECRET_TYPES = frozenset({"repository", "repository-write"})
"""Secrets Argo CD reads as the credential of the one repository whose URL they hold (the second for writing)."""
TEMPLATE_SECRET_TYPES = frozenset({"repo-creds", "repo-write-creds"})
"""Credential templates: Argo CD applies one to every repository its URL is a prefix of."""
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key with which the SDK marks a secret value in recorded inputs (the Kubernetes SDK marks stringData whole)."""
_SSH_URL = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")


def normalized_git_url(url: str) -> str:
    """A repository URL as Argo CD compares it (util/git NormalizeGitURL, v3.4 and v3.5): lower case, an SCP-style
    `user@host:path` read as `user@host/path`, without `.git` and without `ssh://`."""
    url = url.strip().lower()
    if _SSH_URL.match(url) and not url.startswith("ssh://"):
        url = "ssh://" + url.replace(":", "/", 1)
    return url.removesuffix(".git").removeprefix("ssh://")


def _revealed(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) and SECRET_SIG in value else value


def credential_fields(secret: Resource) -> dict[str, Any]:
    """A Secret's keys as Argo CD reads them: `stringData` over base64-decoded `data`; a value the policy pack does not
    know yet is None."""
    fields: dict[str, Any] = {}
    for key, value in (_revealed(secret.inputs.get("data")) or {}).items():
        try:
            fields[key] = base64.b64decode(str(_revealed(value)), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            fields[key] = None
    fields.update({key: _revealed(value) for key, value in (_revealed(secret.inputs.get("stringData")) or {}).items()})
    return fields


def _repository_problem(url: Any, project: Any, context: Context, missing_project: bool) -> str | None:
    if missing_project or project == "":
        return "has no project: Argo CD uses a repository credential without one for every project"
    if url is None or project is None:
        return None  # not known before the update: judged once it is
    tenant = context.tenants.get(str(project))
    if tenant is None:
        return f"is for project {project!r}, which is no tenant's"
    own = {normalized_git_url(own_url) for own_url in context.repository_urls(tenant)}
    if normalized_git_url(str(url)) not in own:
        return f"reads {url!r}, which is not one of tenant {tenant.name}'s service repositories"
    return None


def credentials_per_repository(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Argo CD hands an Application's repository credential to kustomize (remote bases) and git (submodules) as they
    are: what a credential can read, every Application it serves can render. Each must therefore be a repository
    Secret for one service repository, scoped to the project of that repository's tenant; no credential template
    (a URL prefix); and the deploy keys behind them read-only."""
    for secret in index(types.SECRET):
        kind = secret.labels.get(SECRET_TYPE_LABEL)
        if kind in TEMPLATE_SECRET_TYPES:
            yield secret, f"is an Argo CD {kind} credential: a URL prefix reaches every repository under it"
        elif kind in REPOSITORY_SECRET_TYPES:
            fields = credential_fields(secret)
            problem = _repository_problem(fields.get("url"), fields.get("project"), context, "project" not in fields)
            if problem:
                yield secret, f"Argo CD {kind} credential {problem}"
    for release in index(types.HELM_RELEASE):
        if release.inputs.get("chart") != charts.ARGO_CD.name:
            continue
        configs = (release.inputs.get("values") or {}).get("configs") or {}
        for name in configs.get("credentialTemplates") or {}:
            yield release, f"configs.credentialTemplates.{name} is a repo-creds credential, a URL prefix"
        for name, repository in (configs.get("repositories") or {}).items():
            repository = repository if isinstance(repository, dict) else {}
            url, project = repository.get("url"), repository.get("project")
            problem = _repository_problem(url, project, context, "project" not in repository)
            if problem:
                yield release, f"configs.repositories.{name}: repository credential {problem}"
    for key in index(types.GITHUB_DEPLOY_KEY):
        if key.inputs.get("readOnly") is not True:
            yield key, "deploy key can push: Argo CD only reads"
