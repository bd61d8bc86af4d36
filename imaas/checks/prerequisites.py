"""What a stack's objects need of its cluster, as settings rather than tribal knowledge: the program refuses a stack
that would declare objects depending on something it neither installs nor says the cluster has, before any resource
is declared. Each prerequisite is a small function of the settings and of what the stack declares, listed in
`PREREQUISITES`; `imaas preflight` then checks on the live cluster that what the settings say holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from imaas.declarations import naming, promotion
from imaas.inputs.problems import Problem
from imaas.model.settings import CONFIG_NAMESPACE, StackSettings
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class ArgoCdObjects:
    """The Argo CD objects a stack declares: AppProjects per tenant, Applications per active service."""

    projects: list[str]
    """Tenants with an AppProject on this stack."""
    repositories: list[str]
    """The service repositories (all private or internal) that the stack's Applications read."""


def argocd_objects(settings: StackSettings, tenants: list[Tenant]) -> ArgoCdObjects:
    """What components/platform.py, tenant.py and service.py declare of Argo CD for `tenants` on this stack."""
    projects: list[str] = []
    repositories: list[str] = []
    for tenant in tenants:
        if tenant.decommissioned or not settings.manages(tenant.name) or not settings.hosted(tenant.environments):
            continue
        projects.append(tenant.name)
        repositories += [
            naming.github_repository(tenant.name, service.name)
            for service in tenant.active_services()
            if settings.hosted(tenant.service_environments(service))
        ]
    return ArgoCdObjects(projects, repositories)


def _setting(key: str) -> str:
    return f"{CONFIG_NAMESPACE}:{key}"


RepositoryCredential = Callable[[StackSettings, str], bool]


def deploy_key(settings: StackSettings, repository: str) -> bool:
    """Every stack generates, for each service repository its Applications read, a read-only deploy key of its own
    with a repository Secret for that repository alone (components/argocd_repository.py, declared by
    components/service.py on the same condition as `argocd_objects` lists the repository): every listed one is
    covered. The stack's GitHub token must be allowed to add deploy keys (docs/operators.md, Repository access)."""
    return True


REPOSITORY_CREDENTIALS: tuple[RepositoryCredential, ...] = (deploy_key,)
"""The ways a repository can be readable by Argo CD; a repository any of them covers is readable. None of them may
reach more than its one repository (the `argocd-credentials-per-repository` guardrail)."""


def repository_credentials(settings: StackSettings, objects: ArgoCdObjects) -> tuple[str, str] | None:
    """Every service repository is private or internal: an Application of one Argo CD cannot read ends in a
    ComparisonError at every sync."""
    unreadable = [
        repository
        for repository in objects.repositories
        if not any(covers(settings, repository) for covers in REPOSITORY_CREDENTIALS)
    ]
    if not unreadable:
        return None
    shown = ", ".join(unreadable[:3]) + (f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else "")
    return "github:owner", (
        f"Argo CD has no credential for the private service repositories ({shown}): each needs a read-only deploy key "
        "of this stack's own and a repository Secret for it alone (docs/operators.md, Repository access)"
    )


def store_credential_key(settings: StackSettings, objects: ArgoCdObjects) -> tuple[str, str] | None:
    """Loki, Tempo and Alertmanager refuse every request without a credential derived from this key
    (imaas/declarations/store_auth.py): without it the stack would deploy stores no pipeline could write to."""
    if not settings.observability.enabled or settings.observability_credential_key is not None:
        return None
    return _setting("observabilityCredentialKey"), (
        "the observability stores check a credential derived from this key: set it with `pulumi config set "
        '--secret observabilityCredentialKey "$(openssl rand -base64 48)"`'
    )


def promotion_gate_app(settings: StackSettings, objects: ArgoCdObjects) -> tuple[str, str] | None:
    """The rulesets of the test and prod branches (on the stack owning the global resources) require the promotion
    gate's status from its App, and the gate (on a cluster hosting dev or test) posts it as that App."""
    if settings.promotion.github_app is not None or not objects.repositories:
        return None
    if not (settings.owns_global_resources or promotion.runs_gate(settings)):
        return None
    return _setting("promotion.githubApp"), (
        "the test and prod branches of the service repositories require the promotion gate's status, which only "
        "its GitHub App may post: set imaas:promotion.githubApp and its key with `pulumi config set --secret "
        "promotionGatePrivateKey < gate.pem`"
    )


Prerequisite = Callable[[StackSettings, ArgoCdObjects], tuple[str, str] | None]
PREREQUISITES: tuple[Prerequisite, ...] = (
    repository_credentials,
    store_credential_key,
    promotion_gate_app,
)


def _hosted_services(settings: StackSettings, tenants: list[Tenant], needs: Callable[[Service], bool]) -> list[str]:
    """`<tenant>/<service>` of every active service on this stack's cluster for which `needs` holds."""
    return [
        f"{tenant.name}/{service.name}"
        for tenant in tenants
        if settings.manages(tenant.name)
        for service in tenant.active_services()
        if needs(service) and settings.hosted(tenant.service_environments(service))
    ]


def tenant_secrets_readable(settings: StackSettings, tenants: list[Tenant]) -> tuple[str, str] | None:
    """A stack whose services declare secrets names how they are read and who writes them.

    A service's secrets are read through the namespace's IAM role, trusted through the cluster's OIDC provider,
    and written by the tenant's people through a mechanism the stack names; the platform writes its stores and
    ExternalSecrets as one of its identities, the only ones the admission policy lets write them."""
    users = _hosted_services(settings, tenants, lambda service: bool(service.secrets))
    if not users:
        return None
    missing = [
        key
        for key, value in (
            ("tenantSecrets", settings.tenant_secrets),
            ("platformIdentities", settings.platform_identities or None),
        )
        if value is None
    ]
    if not missing:
        return None
    return _setting(missing[0]), (
        f"services declare secrets ({_listed(users)}) but the stack lacks {', '.join(missing)}: the cluster's IAM OIDC "
        "provider (IRSA) for each namespace's secret store, the way the tenants' people write values (identityCenter "
        "or roleMapping), and the identities the platform writes stores and ExternalSecrets as"
    )


def exposure_configured(settings: StackSettings, tenants: list[Tenant]) -> tuple[str, str] | None:
    """A stack whose services are exposed names its gateway class and certificate issuer."""
    exposed = _hosted_services(settings, tenants, lambda service: service.expose)
    if not exposed:
        return None
    missing = [
        key
        for key, value in (
            ("exposure", settings.exposure),
            ("platformIdentities", settings.platform_identities or None),
        )
        if value is None
    ]
    if not missing:
        return None
    return _setting(missing[0]), (
        f"services are exposed ({_listed(exposed)}) but the stack lacks {', '.join(missing)}: the GatewayClass of "
        "the cluster's Gateway controller, the cert-manager ClusterIssuer of their certificates, and the identities "
        "the platform writes their ListenerSets and certificates as"
    )


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


RuntimePrerequisite = Callable[[StackSettings, list[Tenant]], tuple[str, str] | None]
RUNTIME_PREREQUISITES: tuple[RuntimePrerequisite, ...] = (tenant_secrets_readable, exposure_configured)


def prerequisite_problems(settings: StackSettings, tenants: list[Tenant], file: str) -> list[Problem]:
    """One problem per unmet prerequisite, naming the setting that meets it."""
    objects = argocd_objects(settings, tenants)
    found = [prerequisite(settings, objects) for prerequisite in PREREQUISITES]
    found += [prerequisite(settings, tenants) for prerequisite in RUNTIME_PREREQUISITES]
    return [Problem(file, field=setting, message=message) for setting, message in (f for f in found if f)]


def _counted(names: list[str], noun: str) -> str:
    return f"{len(names)} {noun}{'s' * (len(names) != 1)}"
